package remotewrite

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/spool"
)

// TestReshardNoStaleMarkers: the first cycle under another shard sends no
// stale markers (the series it lost belong to another replica now); the
// next one marks as usual. The shard is remembered in the spool, so a
// run --once process that follows a reshard behaves the same.
func TestReshardNoStaleMarkers(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, nil)
	dir := t.TempDir()
	// process opens a new client on the shared spool dir, as run --once
	// does; its close releases the lock for the next.
	process := func() (*Client, func()) {
		sp, err := spool.Open(t.Context(), dir, spool.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cl := newTestClient(t, cfg, nil)
		q, err := sp.Queue(cl.Name())
		if err != nil {
			t.Fatal(err)
		}
		cl.SetSpool(q)
		return cl, func() { _ = cl.Close(t.Context()); _ = sp.Close() }
	}
	seen := 0
	cycle := func(cl *Client, at int64, shard string, names ...string) []string {
		t.Helper()
		g := metric.Group{Collector: "c", Up: true}
		for _, n := range names {
			f := metric.Gauge(n, "", 1, labels.FromStrings("job", "liftpush"))
			f.Samples[0].T = at
			g.Families = append(g.Families, f)
		}
		if rep := pushtest.Deliver(t.Context(), cl, push.Options{Cycle: at, Shard: shard}, []metric.Group{g}); rep.Err != nil {
			t.Fatal(rep.Err)
		}
		var stale []string
		reqs := rc.all()
		for _, r := range reqs[seen:] {
			for _, ts := range r.req.Timeseries {
				for _, s := range ts.Samples {
					if value.IsStaleNaN(s.Value) {
						stale = append(stale, fmt.Sprintf("%s@%d", ts.Labels[0].Value, s.Timestamp))
					}
				}
			}
		}
		seen = len(reqs)
		slices.Sort(stale)
		return stale
	}
	check := func(step string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: stale markers %v, want %v", step, got, want)
		}
	}

	// A daemon: shard 0 of 3, then resharded to 0 of 2.
	cl, done := process()
	check("first cycle", cycle(cl, 1000, "0/3", "a", "b", "c"))
	check("same shard, c gone", cycle(cl, 2000, "0/3", "a", "b"), "c@2000")
	check("reshard to 0/2: b moved away, d moved in", cycle(cl, 3000, "0/2", "a", "d"))
	check("after the reshard, d deleted", cycle(cl, 4000, "0/2", "a"), "d@4000")
	done()

	// run --once processes sharing the spool dir.
	cl, done = process()
	check("new process, same shard", cycle(cl, 5000, "0/2", "e"), "a@5000")
	done()
	cl, done = process()
	check("new process, unsharded", cycle(cl, 6000, "", "f"))
	done()
	cl, done = process()
	check("new process, still unsharded", cycle(cl, 7000, ""), "f@7000")
	done()
}
