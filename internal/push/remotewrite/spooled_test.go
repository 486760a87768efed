package remotewrite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

// gate is a receiver that is down (503), refusing (400) or up (decoding
// into rc), as the test says.
type gate struct {
	mode atomic.Value // "down", "refuse" or "up"
	rc   receiver
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch g.mode.Load() {
	case "down":
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case "refuse":
		http.Error(w, "bad data", http.StatusBadRequest)
	default:
		g.rc.ServeHTTP(w, r)
	}
}

// TestSpoolOutageAndReplay: while the receiver is down, every batch stays
// on disk; the next delivery sends them first, oldest first, so that each
// series' samples arrive in time order, then its own data; a refused
// record leaves the spool and is counted, never retried.
func TestSpoolOutageAndReplay(t *testing.T) {
	g := &gate{}
	g.mode.Store("down")
	srv := httptest.NewServer(g)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 3
		c.QueueConfig.MaxShards = 2
		c.QueueConfig.MinBackoff = 1
		c.QueueConfig.MaxBackoff = 1
	})
	cl := newTestClient(t, cfg, nil)
	withSpool(t, cl)

	const series = 7
	deliver := func(round int, budget time.Duration) push.Report {
		t.Helper()
		f := metric.Family{Name: "g", Type: "gauge"}
		for i := range series {
			f.Samples = append(f.Samples, metric.Sample{Labels: labels.FromStrings("__name__", "g", "s", fmt.Sprint(i)), Value: float64(round), T: int64(1000 * round)})
		}
		ctx, cancel := context.WithTimeout(t.Context(), budget)
		defer cancel()
		return pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: []metric.Family{f}}})
	}

	for round := 1; round <= 3; round++ {
		rep := deliver(round, 200*time.Millisecond)
		if rep.Spooled != series || rep.Sent != 0 || rep.DroppedTotal() != 0 || rep.Err == nil {
			t.Fatalf("round %d while down: %+v, want all %d spooled, none sent or dropped, an error", round, rep, series)
		}
	}
	if st := cl.Stats().Spool; st.Records < 3 {
		t.Fatalf("spool holds %d records after three rounds down", st.Records)
	}

	g.mode.Store("up")
	rep := deliver(4, 5*time.Second)
	if rep.Err != nil || rep.Replayed != 3*series || rep.Sent != series || rep.Spooled != 0 {
		t.Fatalf("round 4, receiver up: %+v, want %d replayed and %d sent", rep, 3*series, series)
	}
	if st := cl.Stats().Spool; st.Records != 0 {
		t.Errorf("spool holds %d records after a full replay", st.Records)
	}
	// Each series got rounds 1..4, in that order.
	got := map[string][]int64{}
	for _, r := range g.rc.all() {
		for _, ts := range r.req.Timeseries {
			for _, s := range ts.Samples {
				got[ts.Labels[1].Value] = append(got[ts.Labels[1].Value], s.Timestamp)
			}
		}
	}
	for i := range series {
		if diff := cmp.Diff([]int64{1000, 2000, 3000, 4000}, got[fmt.Sprint(i)]); diff != "" {
			t.Errorf("series %d, timestamps (-want +got):\n%s", i, diff)
		}
	}

	// Down again, then refusing: the spooled records are dropped as
	// http_400, not kept, and the spool is empty.
	g.mode.Store("down")
	deliver(5, 200*time.Millisecond)
	g.mode.Store("refuse")
	rep = deliver(6, 5*time.Second)
	if rep.Dropped["http_400"] != 2*series || rep.Replayed != 0 || rep.Spooled != 0 {
		t.Errorf("refused: %+v, want %d dropped as http_400", rep, 2*series)
	}
	if st := cl.Stats().Spool; st.Records != 0 {
		t.Errorf("spool holds %d records after refusals", st.Records)
	}
}
