package remotewrite

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

func TestNotV2(t *testing.T) {
	written := func(n int) Result { return Result{Status: 204, Samples: n, WrittenKnown: true} }
	bad := func(body string) error { return &push.HTTPError{Status: 400, Body: body} }
	for _, tc := range []struct {
		name   string
		spoke2 bool // the receiver took 2.0 before
		res    Result
		err    error
		sent   int
		want   string
	}{
		{"415", false, Result{}, &push.HTTPError{Status: 415}, 3, "HTTP 415 Unsupported Media Type"},
		{"415 wrapped", false, Result{}, fmt.Errorf("store: %w", &push.HTTPError{Status: 415}), 3, "HTTP 415 Unsupported Media Type"},
		{"204 without header", false, Result{Status: 204}, nil, 3, "2xx without X-Prometheus-Remote-Write-Samples-Written"},
		{"204 with Samples-Written: 0", false, written(0), nil, 3, "X-Prometheus-Remote-Write-Samples-Written: 0"},
		{"nothing sent, 0 written", false, written(0), nil, 0, ""},
		{"partial count is not a fallback", false, written(2), nil, 3, ""},
		{"all written", false, written(3), nil, 3, ""},
		{"400 is an ordinary failure", false, Result{}, &push.HTTPError{Status: 400}, 3, ""},
		{"400 out of order is about the data", false, Result{}, bad("failed pushing to ingester: the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed (err-mimir-sample-out-of-order)"), 3, ""},
		// Mimir and other gateways answer 400 where the spec says 415.
		{"400 unsupported content type", false, Result{}, bad(`unsupported Content-Type "application/x-protobuf;proto=io.prometheus.write.v2.Request"`), 3,
			`HTTP 400 refusing the 2.0 message: unsupported Content-Type "application/x-protobuf;proto=io.prometheus.write.v2.Request"`},
		{"400 remote write 2.0 not supported", false, Result{}, bad("remote write 2.0 is not supported"), 3,
			"HTTP 400 refusing the 2.0 message: remote write 2.0 is not supported"},
		{"400 decoding 2.0 as 1.0", false, Result{}, bad("proto: wrong wireType = 2 for field Timestamp"), 3,
			"HTTP 400 refusing the 2.0 message: proto: wrong wireType = 2 for field Timestamp"},
		// Mimir's words for a body that is not the message its header names.
		{"400 Mimir's message mismatch", false, Result{}, bad("proto: Remote Write 1.0 field Timeseries in non-Remote Write 1.0 message"), 3,
			"HTTP 400 refusing the 2.0 message: proto: Remote Write 1.0 field Timeseries in non-Remote Write 1.0 message"},
		{"400 once 2.0 was taken is about the data", true, Result{}, bad("remote write 2.0 is not supported"), 3, ""},
		{"network error", false, Result{}, errors.New("connection refused"), 3, ""},
	} {
		c := &Client{}
		c.spoke2.Store(tc.spoke2)
		if got := c.notV2(tc.res, tc.err, tc.sent); got != tc.want {
			t.Errorf("%s: notV2 = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// modalReceiver decodes both formats; answer2 answers a 2.0 request that
// carried sent samples, hdr1 is set on answers to 1.0 requests.
type modalReceiver struct {
	answer2 func(w http.ResponseWriter, sent int)
	hdr1    [2]string

	mu     sync.Mutex
	v1, v2 int             // requests
	got    map[string]bool // series received as 1.0
	meta   map[string]bool // families whose metadata was received as 1.0
}

func (rc *modalReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Content-Type"), "io.prometheus.write.v2.Request") {
		req, err := decodeV2(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sent := 0
		for _, ts := range req.Timeseries {
			sent += len(ts.Samples)
		}
		rc.mu.Lock()
		rc.v2++
		rc.mu.Unlock()
		rc.answer2(w, sent)
		return
	}
	rec := &receiver{}
	rw := httptest.NewRecorder()
	rec.ServeHTTP(rw, r)
	if rw.Code != http.StatusNoContent {
		http.Error(w, rw.Body.String(), rw.Code)
		return
	}
	rc.mu.Lock()
	rc.v1++
	req := rec.all()[0].req
	for _, ts := range req.Timeseries {
		rc.got[labelString(ts.Labels)] = true
	}
	for _, m := range req.Metadata {
		rc.meta[m.MetricFamilyName] = true
	}
	rc.mu.Unlock()
	if rc.hdr1[0] != "" {
		w.Header().Set(rc.hdr1[0], rc.hdr1[1])
	}
	w.WriteHeader(http.StatusNoContent)
}

func answer(code int, written func(sent int) string) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, sent int) {
		if written != nil {
			w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", written(sent))
		}
		w.WriteHeader(code)
	}
}

// TestFallback is the decision table of issue 10 against httptest
// receivers: a receiver that does not speak 2.0 gets every batch again as
// 1.0 and then 1.0 only, logged once; a partial count is a drop; the
// -Written headers of a 1.0 answer mean nothing.
func TestFallback(t *testing.T) {
	const n = 10
	zero := func(int) string { return "0" }
	for _, tc := range []struct {
		name     string
		message  string
		answer2  func(http.ResponseWriter, int)
		hdr1     [2]string
		fallback bool
		dropped  map[string]int
	}{
		{name: "415", message: config.WriteRequestV2, answer2: answer(415, nil), fallback: true},
		{name: "400 saying the message is not supported", message: config.WriteRequestV2, fallback: true,
			answer2: func(w http.ResponseWriter, _ int) {
				http.Error(w, `unsupported Content-Type "application/x-protobuf;proto=io.prometheus.write.v2.Request"`, http.StatusBadRequest)
			}},
		{name: "204 without Samples-Written", message: config.WriteRequestV2, answer2: answer(204, nil), fallback: true},
		{name: "204 with Samples-Written: 0", message: config.WriteRequestV2, answer2: answer(204, zero), fallback: true},
		{name: "200 with all written", message: config.WriteRequestV2, answer2: answer(200, strconv.Itoa)},
		{name: "partial count", message: config.WriteRequestV2,
			// One sample short in each request of 3 (3+3+3+1): 0 of 1
			// would be the fallback case.
			answer2: answer(204, func(sent int) string { return strconv.Itoa(sent - sent/3) }),
			dropped: map[string]int{"partial_write": 3}},
		{name: "1.0 ignores a bogus Samples-Written: 0", message: config.WriteRequestV1,
			hdr1: [2]string{"X-Prometheus-Remote-Write-Samples-Written", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &modalReceiver{answer2: tc.answer2, hdr1: tc.hdr1, got: map[string]bool{}, meta: map[string]bool{}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cfg := testConfig(t, srv.URL+"/api/v1/write", func(c *config.RemoteWriteConfig) {
				c.ProtobufMessage = tc.message
				c.QueueConfig.MaxSamplesPerSend = 3
				// One shard: the request count (and so the partial drops)
				// does not depend on hashing.
				c.QueueConfig.MaxShards = 1
			})
			var logs bytes.Buffer
			cl := newTestClient(t, cfg, &logs)
			var f metric.Family
			f.Name, f.Type = "fb", "gauge"
			for i := range n {
				f.Samples = append(f.Samples, metric.Sample{Labels: labels.FromStrings("__name__", "fb", "i", strconv.Itoa(i)), Value: float64(i), T: 1})
			}
			groups := []metric.Group{{Families: []metric.Family{f}}}

			rep := pushtest.Deliver(t.Context(), cl, push.Options{}, groups)
			if diff := cmp.Diff(tc.dropped, rep.Dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if want := n - rep.DroppedTotal(); rep.Sent != want {
				t.Errorf("sent %d, want %d", rep.Sent, want)
			}
			if (rep.Err != nil) != (tc.dropped != nil) {
				t.Errorf("report error %v, want one only when samples were dropped", rep.Err)
			}
			if cl.v1Only.Load() != tc.fallback {
				t.Errorf("fell back: %v, want %v", cl.v1Only.Load(), tc.fallback)
			}
			if tc.fallback || tc.message == config.WriteRequestV1 {
				if len(rc.got) != n {
					t.Errorf("receiver got %d series as 1.0, want all %d", len(rc.got), n)
				}
			}
			logged := strings.Count(logs.String(), "falling back to 1.0")
			if want := map[bool]int{true: 1}[tc.fallback]; logged != want {
				t.Errorf("fallback logged %d times, want %d:\n%s", logged, want, logs.String())
			}
			if tc.fallback && !strings.Contains(logs.String(), "endpoint="+srv.URL+"/api/v1/write") {
				t.Errorf("fallback log does not name the receiver:\n%s", logs.String())
			}
			if tc.dropped != nil && !strings.Contains(logs.String(), "reason=partial_write") {
				t.Errorf("partial write not logged:\n%s", logs.String())
			}

			// The fallback is remembered: the next delivery sends 1.0 only.
			rc.mu.Lock()
			v2Before := rc.v2
			rc.mu.Unlock()
			pushtest.Deliver(t.Context(), cl, push.Options{}, groups)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if again := rc.v2 - v2Before; tc.fallback && again != 0 {
				t.Errorf("%d 2.0 requests after the fallback, want none", again)
			}
			if strings.Count(logs.String(), "falling back to 1.0") > 1 {
				t.Errorf("fallback logged again on the next delivery")
			}
		})
	}
}

// TestFallbackConcurrentShards: every shard sees the silent 204 at once;
// still one log line, and every sample arrives as 1.0.
func TestFallbackConcurrentShards(t *testing.T) {
	rc := &modalReceiver{answer2: answer(204, nil), got: map[string]bool{}, meta: map[string]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.ProtobufMessage = config.WriteRequestV2
		c.QueueConfig.MaxSamplesPerSend = 5
		c.QueueConfig.MaxShards = 8
	})
	var logs testinfra.SyncBuffer
	cl := newTestClient(t, cfg, &logs)
	f := benchFamily(500)
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{{Families: []metric.Family{f}}})
	if rep.Sent != 500 || rep.DroppedTotal() != 0 {
		t.Fatalf("report %+v, want 500 sent", rep)
	}
	if len(rc.got) != 500 {
		t.Errorf("receiver got %d series as 1.0, want 500", len(rc.got))
	}
	if got := strings.Count(logs.String(), "falling back to 1.0"); got != 1 {
		t.Errorf("fallback logged %d times, want once", got)
	}
	// The 1.0 resends carry the metadata the 2.0 requests had per series.
	if !rc.meta["bench_gauge"] {
		t.Error("no metadata for bench_gauge in the 1.0 resends")
	}
}
