package remotewrite

import (
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

// TestStaleMarkers runs three cycles: a series that vanishes gets one stale
// NaN at the next cycle's time, after write_relabel_configs; self-metrics
// never do; a push of a file (no cycle) tracks nothing.
func TestStaleMarkers(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		// Relabelling adds a label: markers must carry the relabelled
		// set, the one the receiver stored.
		c.WriteRelabelConfigs = []*relabel.Config{{
			SourceLabels: model.LabelNames{"job"}, TargetLabel: "origin", Action: relabel.Replace,
			Regex: relabel.MustNewRegexp("(.*)"), Replacement: "$1", Separator: ";", NameValidationScheme: model.UTF8Validation,
		}}
	})
	cl := newTestClient(t, cfg, nil)
	gauge := func(name string, v float64) metric.Family {
		return metric.Gauge(name, "", v, labels.FromStrings("job", "liftpush"))
	}
	cycle := func(at int64, data []string, self []string) {
		t.Helper()
		g := metric.Group{Collector: "c", Up: true}
		for _, n := range data {
			g.Families = append(g.Families, gauge(n, 1))
		}
		for _, n := range self {
			g.Self = append(g.Self, gauge(n, 1))
		}
		for i := range g.Families {
			g.Families[i].Samples[0].T = at
		}
		for i := range g.Self {
			g.Self[i].Samples[0].T = at
		}
		if rep := pushtest.Deliver(t.Context(), cl, push.Options{Cycle: at}, []metric.Group{g}); rep.Err != nil {
			t.Fatal(rep.Err)
		}
	}
	stale := func() []string {
		return staleMarkers(rc, func(ls []prompb.Label) {
			if !slices.ContainsFunc(ls, func(l prompb.Label) bool { return l.Name == "origin" && l.Value == "liftpush" }) {
				t.Errorf("stale marker without the relabelled label: %v", ls)
			}
		})
	}

	cycle(1000, []string{"a", "b", "c"}, []string{"liftpush_collector_up"})
	if got := stale(); len(got) != 0 {
		t.Fatalf("first cycle sent stale markers: %v", got)
	}
	// b and the self-metric are gone: only b is marked, at this cycle's time.
	cycle(2000, []string{"a", "c"}, nil)
	if diff := cmp.Diff([]string{"b@2000"}, stale()); diff != "" {
		t.Errorf("after cycle 2 (-want +got):\n%s", diff)
	}
	// Everything gone (a failed collector): a and c once each; b not again.
	cycle(3000, nil, nil)
	if diff := cmp.Diff([]string{"a@3000", "b@2000", "c@3000"}, stale()); diff != "" {
		t.Errorf("after cycle 3 (-want +got):\n%s", diff)
	}
	// A push (no cycle) neither marks nor resets what the cycles saw.
	if rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{{Families: []metric.Family{gauge("d", 1)}}}); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if n := len(stale()); n != 3 {
		t.Errorf("a push sent stale markers: %v", stale())
	}
	if !math.IsNaN(math.Float64frombits(value.StaleNaN)) {
		t.Fatal("stale NaN is not a NaN")
	}
}

// TestUntrackedNotMarked: an Untracked family's series (a target's own
// timestamps) gets no stale marker when it vanishes, and none either while
// it is still sent after an earlier cycle tracked it.
func TestUntrackedNotMarked(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cl := newTestClient(t, testConfig(t, srv.URL, nil), nil)
	cycle := func(at int64, fams ...metric.Family) {
		t.Helper()
		for i := range fams {
			fams[i].Samples[0].T = at
		}
		if rep := pushtest.Deliver(t.Context(), cl, push.Options{Cycle: at}, []metric.Group{{Collector: "c", Up: true, Families: fams}}); rep.Err != nil {
			t.Fatal(rep.Err)
		}
	}
	gauge := func(name string, untracked bool) metric.Family {
		f := metric.Gauge(name, "", 1, labels.FromStrings("job", "x"))
		f.Untracked = untracked
		return f
	}
	stale := func() []string { return staleMarkers(rc, nil) }
	cycle(1000, gauge("was_tracked", false), gauge("untracked", true), gauge("tracked", false))
	// was_tracked is now sent untracked: not marked although the last
	// cycle tracked it.
	cycle(2000, gauge("was_tracked", true), gauge("untracked", true), gauge("tracked", false))
	if got := stale(); len(got) != 0 {
		t.Errorf("series still sent were marked: %v", got)
	}
	cycle(3000)
	if diff := cmp.Diff([]string{"tracked@3000"}, stale()); diff != "" {
		t.Errorf("after everything vanished (-want +got):\n%s", diff)
	}
}

// staleMarkers lists the stale markers rc received as name@timestamp,
// sorted, handing each one's labels to check when it is not nil.
func staleMarkers(rc *receiver, check func([]prompb.Label)) []string {
	var out []string
	for _, r := range rc.all() {
		for _, ts := range r.req.Timeseries {
			for _, s := range ts.Samples {
				if value.IsStaleNaN(s.Value) {
					if check != nil {
						check(ts.Labels)
					}
					out = append(out, fmt.Sprintf("%s@%d", ts.Labels[0].Value, s.Timestamp))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
