package pushgateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestStatusHandling checks the classification of answers: 2xx is sent,
// 400 and other 4xx are dropped at once, 5xx is retried until it succeeds
// or the budget ends. It runs in a synctest bubble, so the backoff (50 ms,
// doubled per retry) is waited on the bubble's clock, exactly.
func TestStatusHandling(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // answered in turn; the last one repeats
		timeout  time.Duration
		wantReq  int
		wantWait time.Duration // from the first request to the report
		wantSent int
		wantDrop map[string]int
		wantLog  string
	}{
		{name: "200", statuses: []int{200}, wantReq: 1, wantSent: 1},
		{name: "202", statuses: []int{202}, wantReq: 1, wantSent: 1},
		{name: "400 is a data error, logged with the body, not retried", statuses: []int{400}, wantReq: 1, wantDrop: map[string]int{"http_400": 1}, wantLog: "body=\"pushed metrics are invalid"},
		{name: "401 not retried", statuses: []int{401}, wantReq: 1, wantDrop: map[string]int{"http_401": 1}},
		{name: "500 then 200 is retried", statuses: []int{500, 503, 200}, wantReq: 3, wantWait: 50*time.Millisecond + 100*time.Millisecond, wantSent: 1},
		{name: "429 is retried", statuses: []int{429, 200}, wantReq: 2, wantWait: 50 * time.Millisecond, wantSent: 1},
		// Retries at 50 and 150 ms; the next, at 350 ms, would pass the
		// budget, so the delivery gives up at 150 ms without waiting.
		{name: "500 until the budget ends", statuses: []int{500}, timeout: 300 * time.Millisecond, wantReq: 3, wantWait: 150 * time.Millisecond, wantDrop: map[string]int{"timeout": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu   sync.Mutex
					reqs int
				)
				srv := testinfra.NewPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					mu.Lock()
					i := min(reqs, len(tt.statuses)-1)
					reqs++
					mu.Unlock()
					w.WriteHeader(tt.statuses[i])
					if tt.statuses[i] >= 400 {
						_, _ = io.WriteString(w, "pushed metrics are invalid or inconsistent with existing metrics: x is not a GAUGE\n")
					}
				}))
				c, logs := newTestClient(t, srv.URL, nil)
				c.client.Transport = srv.Transport()
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				start := time.Now()
				rep := pushtest.Deliver(ctx, c, push.Options{}, []metric.Group{{Collector: "k8s", Up: true, Families: []metric.Family{gauge("x", 1, "job", "liftpush")}}})
				if waited := time.Since(start); waited != tt.wantWait {
					t.Errorf("delivery took %s, want %s", waited, tt.wantWait)
				}
				if rep.Sent != tt.wantSent {
					t.Errorf("sent = %d, want %d", rep.Sent, tt.wantSent)
				}
				if diff := cmp.Diff(tt.wantDrop, rep.Dropped); diff != "" {
					t.Errorf("dropped (-want +got):\n%s", diff)
				}
				if (rep.Err != nil) != (tt.wantDrop != nil) {
					t.Errorf("err = %v", rep.Err)
				}
				mu.Lock()
				defer mu.Unlock()
				if reqs != tt.wantReq {
					t.Errorf("requests = %d, want %d", reqs, tt.wantReq)
				}
				if !strings.Contains(logs.String(), tt.wantLog) {
					t.Errorf("log does not contain %q:\n%s", tt.wantLog, logs)
				}
			})
		})
	}
}

// Requests carry the format's Content-Type, the user agent and no
// timestamps; a base URL with a path prefix is kept.
func TestRequestShape(t *testing.T) {
	for _, format := range []string{config.FormatText, config.FormatProtobuf} {
		t.Run(format, func(t *testing.T) {
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = append(got, r.Method+" "+r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"))
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv.URL+"/prefix/", func(c *config.PushgatewayConfig) { c.Format = format })
			f := gauge("x", 1, "job", "liftpush")
			f.Samples[0].T = 1700000000000
			rep := pushtest.Deliver(t.Context(), c, push.Options{}, []metric.Group{{Collector: "k8s", Up: true, Families: []metric.Family{f}}})
			if rep.Err != nil {
				t.Fatal(rep.Err)
			}
			want := []string{"PUT /prefix/metrics/job/liftpush/collector/k8s", contentType[format], "liftpush/test"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
