package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRedirectsBounded: a chain of distinct redirects is followed
// MaxRedirects times, then ends with a final error; without
// follow_redirects the 3xx itself is final. Neither is retried.
func TestRedirectsBounded(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		http.Redirect(w, r, fmt.Sprintf("/%d", n+1), http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	send := func(client *http.Client) (int, error) {
		hits.Store(0)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		retries, err := Retry(ctx, Backoff{Min: time.Millisecond, Max: time.Millisecond}, func(int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/0", strings.NewReader("body"))
			if err != nil {
				return err
			}
			_, err = Classifier{}.Do(ctx, client, req)
			return err
		})
		return retries, err
	}

	following := &http.Client{}
	BoundRedirects(following)
	retries, err := send(following)
	var ferr *FinalError
	if !errors.As(err, &ferr) || ferr.Reason != ReasonRedirect || retries != 0 {
		t.Errorf("following: retries %d, err %v; want a final redirect error at once", retries, err)
	}
	if n := hits.Load(); n != MaxRedirects+1 {
		t.Errorf("following: %d requests, want %d (the first and %d redirects)", n, MaxRedirects+1, MaxRedirects)
	}

	notFollowing := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	BoundRedirects(notFollowing) // keeps follow_redirects: false as it is
	retries, err = send(notFollowing)
	var herr *HTTPError
	if !errors.As(err, &herr) || herr.Status != http.StatusPermanentRedirect || retries != 0 {
		t.Errorf("not following: retries %d, err %v; want a final 308 at once", retries, err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("not following: %d requests, want 1", n)
	}
}
