package remotewrite

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// step is the server's answer to one attempt.
type step func(w http.ResponseWriter, r *http.Request)

func status(code int, body string, hdr ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

// retryAfterDate answers 429 with a Retry-After HTTP date d from now.
func retryAfterDate(d time.Duration) step {
	return func(w http.ResponseWriter, r *http.Request) {
		status(429, "slow down", "Retry-After", time.Now().Add(d).UTC().Format(http.TimeFormat))(w, r)
	}
}

// drop closes the connection without an answer, which a real receiver only
// does when something between us breaks.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// slow answers after the client's remote_timeout has passed.
func slow(w http.ResponseWriter, r *http.Request) {
	// Reading the body lets the server notice the client hanging up.
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
	}
}

// TestRetryClassification runs in a synctest bubble: the backoff is waited
// on the bubble's clock, and the gaps between the attempts the receiver
// sees are exact.
func TestRetryClassification(t *testing.T) {
	const (
		minBackoff    = time.Second
		maxBackoff    = 8 * time.Second
		cycle         = 30 * time.Second
		remoteTimeout = 50 * time.Millisecond
	)
	for _, tc := range []struct {
		name     string
		steps    []step // the last one repeats
		no429    bool   // retry_on_http_429: false
		attempts int
		// The time between one attempt's arrival and the next's.
		gaps    []time.Duration
		sent    int
		dropped map[string]int
		logged  string
	}{
		{name: "204", steps: []step{status(204, "")}, attempts: 1, sent: 2},
		{name: "400 dropped at once", steps: []step{status(400, "bad labels")}, attempts: 1,
			dropped: map[string]int{"http_400": 2}, logged: "bad labels"},
		{name: "400 out of order named", steps: []step{status(400, "out of order sample")}, attempts: 1,
			dropped: map[string]int{"out_of_order": 2}, logged: "out of order sample"},
		{name: "400 Mimir out of order named", steps: []step{status(400, "the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed (err-mimir-sample-out-of-order)")},
			attempts: 1, dropped: map[string]int{"out_of_order": 2}, logged: "err-mimir-sample-out-of-order"},
		{name: "400 too old named", steps: []step{status(400, "received a sample whose timestamp is too far in the past (err-mimir-sample-timestamp-too-old)")},
			attempts: 1, dropped: map[string]int{"too_old": 2}, logged: "too-old"},
		{name: "401 dropped at once", steps: []step{status(401, "bad credentials")}, attempts: 1,
			dropped: map[string]int{"http_401": 2}, logged: "401 Unauthorized: bad credentials"},
		{name: "404 dropped at once", steps: []step{status(404, "no such path")}, attempts: 1,
			dropped: map[string]int{"http_404": 2}, logged: "404"},
		{name: "429 Retry-After seconds", steps: []step{status(429, "slow down", "Retry-After", "3"), status(204, "")},
			attempts: 2, gaps: []time.Duration{3 * time.Second}, sent: 2},
		// The bubble's clock stands on a whole second, so the date, to
		// the second, is 5 s away exactly.
		{name: "429 Retry-After HTTP date", steps: []step{retryAfterDate(5 * time.Second), status(204, "")},
			attempts: 2, gaps: []time.Duration{5 * time.Second}, sent: 2},
		{name: "429 without Retry-After uses backoff", steps: []step{status(429, ""), status(429, ""), status(204, "")},
			attempts: 3, gaps: []time.Duration{time.Second, 2 * time.Second}, sent: 2},
		{name: "429 not retried when retry_on_http_429 is off", steps: []step{status(429, "slow down")}, no429: true,
			attempts: 1, dropped: map[string]int{"http_429": 2}, logged: "slow down"},
		{name: "503 Retry-After honoured", steps: []step{status(503, "busy", "Retry-After", "6"), status(204, "")},
			attempts: 2, gaps: []time.Duration{6 * time.Second}, sent: 2},
		{name: "500 retried with backoff", steps: []step{status(500, "oops"), status(500, "oops"), status(204, "")},
			attempts: 3, gaps: []time.Duration{time.Second, 2 * time.Second}, sent: 2},
		{name: "500 too old sample never retried", steps: []step{status(500, "too old sample")}, attempts: 1,
			dropped: map[string]int{"http_500": 2}, logged: "too old sample"},
		{name: "500 out of bounds never retried", steps: []step{status(500, "out of bounds")}, attempts: 1,
			dropped: map[string]int{"http_500": 2}, logged: "out of bounds"},
		{name: "503 until the cycle deadline", steps: []step{status(503, "unavailable")},
			// Waits 1+2+4+8+8 = 23 s; the next 8 s would pass 30 s.
			attempts: 6, gaps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second},
			dropped: map[string]int{"timeout": 2}, logged: "503 Service Unavailable: unavailable"},
		{name: "connection dropped", steps: []step{drop, status(204, "")}, attempts: 2,
			gaps: []time.Duration{minBackoff}, sent: 2},
		{name: "slow body past remote_timeout", steps: []step{slow, status(204, "")}, attempts: 2,
			gaps: []time.Duration{remoteTimeout + minBackoff}, sent: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu           sync.Mutex
					arrivals     []time.Time
					retryHeaders []string
				)
				srv := testinfra.NewPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					arrivals = append(arrivals, time.Now())
					retryHeaders = append(retryHeaders, r.Header.Get("Retry-Attempt"))
					n := len(arrivals)
					mu.Unlock()
					tc.steps[min(n, len(tc.steps))-1](w, r)
				}))
				cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
					c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(minBackoff), md(maxBackoff)
					c.QueueConfig.RetryOnRateLimit = !tc.no429
					c.QueueConfig.MaxShards = 1
					c.RemoteTimeout = md(remoteTimeout)
				})
				var logs bytes.Buffer
				cl := newTestClient(t, cfg, &logs)
				cl.wc.(*httpClient).client.Transport = srv.Transport()
				ctx, cancel := context.WithTimeout(t.Context(), cycle)
				defer cancel()
				rep := pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: []metric.Family{{Name: "m", Samples: []metric.Sample{
					{Labels: labels.FromStrings("__name__", "m", "i", "1"), Value: 1, T: 1},
					{Labels: labels.FromStrings("__name__", "m", "i", "2"), Value: 2, T: 1},
				}}}}})

				mu.Lock()
				defer mu.Unlock()
				if got := len(arrivals); got != tc.attempts {
					t.Errorf("attempts = %d, want %d", got, tc.attempts)
				}
				for i, h := range retryHeaders {
					want := ""
					if i > 0 {
						want = strconv.Itoa(i)
					}
					if h != want {
						t.Errorf("attempt %d: Retry-Attempt %q, want %q", i, h, want)
					}
				}
				var gaps []time.Duration
				for i := 1; i < len(arrivals); i++ {
					gaps = append(gaps, arrivals[i].Sub(arrivals[i-1]))
				}
				if diff := cmp.Diff(tc.gaps, gaps); diff != "" {
					t.Errorf("time between attempts (-want +got):\n%s", diff)
				}
				if rep.Sent != tc.sent {
					t.Errorf("sent = %d, want %d", rep.Sent, tc.sent)
				}
				if diff := cmp.Diff(tc.dropped, rep.Dropped); diff != "" {
					t.Errorf("dropped (-want +got):\n%s", diff)
				}
				if tc.attempts > 1 && rep.Retried != 2*(tc.attempts-1) {
					t.Errorf("retried = %d samples, want %d", rep.Retried, 2*(tc.attempts-1))
				}
				if (rep.Err == nil) != (tc.dropped == nil) {
					t.Errorf("report error = %v, want an error only when something was dropped", rep.Err)
				}
				if tc.logged != "" && !strings.Contains(logs.String(), tc.logged) {
					t.Errorf("log does not mention %q:\n%s", tc.logged, logs.String())
				}
			})
		})
	}
}

// TestErrorBodyCapped checks that a huge error body is logged only up to
// push.MaxQuote bytes, with its length said (issue 22).
func TestErrorBodyCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(status(400, strings.Repeat("x", 10_000))))
	defer srv.Close()
	var logs bytes.Buffer
	cl := newTestClient(t, testConfig(t, srv.URL, nil), &logs)
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{{Families: []metric.Family{metric.Gauge("m", "", 1, labels.EmptyLabels())}}})
	if rep.Dropped["http_400"] != 1 {
		t.Fatalf("dropped = %v, want http_400: 1", rep.Dropped)
	}
	if n := strings.Count(logs.String(), "x"); n < push.MaxQuote || n > push.MaxQuote+10 {
		t.Errorf("logged %d bytes of the body, want %d", n, push.MaxQuote)
	}
	if !strings.Contains(logs.String(), "(10000 bytes)") {
		t.Errorf("log does not say the body's length:\n%s", logs.String())
	}
}
