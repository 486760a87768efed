package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/spool"
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

// TestSpoolRemoveFails: a record the receiver accepted and the spool could
// not remove (here its file was replaced by a non-empty directory, which
// unlink refuses to root too) fails the delivery, which sends nothing more
// and keeps its own batch in the spool; the process never sends that
// record again (issue 22).
func TestSpoolRemoveFails(t *testing.T) {
	g := &gate{}
	g.mode.Store("down")
	var qdir string
	var swapped atomic.Bool
	var inFlight sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Done()
		if g.mode.Load() == "up" && swapped.CompareAndSwap(false, true) {
			// The record being sent is the oldest: its file becomes
			// something unlink cannot remove.
			recs, err := filepath.Glob(filepath.Join(qdir, "*.rec"))
			if err != nil || len(recs) == 0 {
				t.Errorf("no record to replace: %v", err)
			} else if err := os.Remove(recs[0]); err != nil {
				t.Error(err)
			} else if err := os.MkdirAll(filepath.Join(recs[0], "x"), 0o700); err != nil {
				t.Error(err)
			}
		}
		g.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxShards = 1
		c.QueueConfig.MinBackoff = 1
		c.QueueConfig.MaxBackoff = 1
	})
	var logs bytes.Buffer
	cl := newTestClient(t, cfg, &logs)
	dir := t.TempDir()
	sp, err := spool.Open(t.Context(), dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	q, err := sp.Queue(cl.Name())
	if err != nil {
		t.Fatal(err)
	}
	cl.SetSpool(q)
	qdir = filepath.Join(dir, config.DirName(cl.Name()))

	deliver := func(round int, budget time.Duration) push.Report {
		t.Helper()
		f := metric.Family{Name: "g", Type: "gauge", Samples: []metric.Sample{{Labels: labels.FromStrings("__name__", "g"), Value: float64(round), T: int64(1000 * round)}}}
		ctx, cancel := context.WithTimeout(t.Context(), budget)
		defer cancel()
		return pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: []metric.Family{f}}})
	}
	for round := 1; round <= 3; round++ {
		if rep := deliver(round, 200*time.Millisecond); rep.Spooled != 1 {
			t.Fatalf("round %d while down: %+v, want 1 spooled", round, rep)
		}
	}

	// A retry of round 3, given up by its client, must not reach the
	// handler once the receiver is up (it did on a loaded machine, and
	// counted as a second request).
	srv.CloseClientConnections()
	inFlight.Wait()
	g.mode.Store("up")
	rep := deliver(4, 5*time.Second)
	t.Log(rep.Err)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "removing a replayed record from the spool: ") ||
		!strings.Contains(rep.Err.Error(), "directory not empty") || !strings.Contains(rep.Err.Error(), "make "+qdir+" writable") {
		t.Errorf("error %v, want the failed removal of a replayed record, its cause and the fix", rep.Err)
	}
	if rep.Replayed != 1 || rep.Sent != 0 || rep.Spooled != 1 {
		t.Errorf("report %+v, want round 1 replayed, nothing else sent, round 4 kept", rep)
	}
	if n := len(g.rc.all()); n != 1 {
		t.Errorf("%d requests after the failed removal, want 1", n)
	}
	if n := strings.Count(logs.String(), "the spool cannot remove a record"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}

	// The next delivery sends the rest, and not round 1 again.
	if rep := deliver(5, 5*time.Second); rep.Err != nil || rep.Replayed != 3 || rep.Sent != 1 {
		t.Errorf("next delivery: %+v, want rounds 2 to 4 replayed, 5 sent", rep)
	}
	var got []int64
	for _, r := range g.rc.all() {
		for _, ts := range r.req.Timeseries {
			for _, s := range ts.Samples {
				got = append(got, s.Timestamp)
			}
		}
	}
	if diff := cmp.Diff([]int64{1000, 2000, 3000, 4000, 5000}, got); diff != "" {
		t.Errorf("timestamps received (-want +got):\n%s", diff)
	}
}
