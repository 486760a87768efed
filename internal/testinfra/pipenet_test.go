package testinfra

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// A handler that takes an hour answers at once in a bubble, and an idle
// keep-alive connection does not stop the bubble's clock: the second
// request, an hour later, reuses it.
func TestPipeServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			time.Sleep(time.Hour)
			_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body))
		}))
		client := &http.Client{Transport: srv.Transport()}
		var reused []bool
		get := func() string {
			t.Helper()
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodPost, srv.URL+"/x", strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		start := time.Now()
		if got := get(); got != "POST /x body" {
			t.Errorf("answer %q", got)
		}
		time.Sleep(time.Hour)
		get()
		if d := time.Since(start); d != 3*time.Hour {
			t.Errorf("two answers of an hour an hour apart took %s, want 3h", d)
		}
		if len(reused) != 2 || reused[0] || !reused[1] {
			t.Errorf("connection reused per request: %v, want [false true]", reused)
		}

		srv.Close()
		_, err := client.Get(srv.URL)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("request to a closed server: %v, want connection refused", err)
		}
	})
}
