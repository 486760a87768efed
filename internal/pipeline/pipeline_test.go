package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/liftpush/liftpush/internal/shard"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// fakeCollector returns fixed families and error; if barrier is set, it
// waits there until every collector sharing it has started, which only
// happens when they run concurrently.
// probes is what every fake part has of the interfaces it does not test:
// a probe that passes, no spool, nothing to close.
type probes struct{}

func (probes) Probe(context.Context) (string, error) { return "fake", nil }
func (probes) Stats() push.Stats                     { return push.Stats{} }
func (probes) Close(context.Context) error           { return nil }
func (probes) SetShard(shard.Owner)                  {}
func (probes) Watch(context.Context)                 {}

type fakeCollector struct {
	probes
	name    string
	fams    func() []metric.Family
	err     error
	barrier *sync.WaitGroup
}

func (f *fakeCollector) Name() string { return f.name }

func (f *fakeCollector) Collect(ctx context.Context) ([]metric.Family, error) {
	if f.barrier != nil {
		f.barrier.Done()
		done := make(chan struct{})
		go func() { f.barrier.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: not run concurrently: %w", f.name, ctx.Err())
		}
	}
	var fams []metric.Family
	if f.fams != nil {
		fams = f.fams()
	}
	return fams, f.err
}

func gauge(name string, v float64, kv ...string) metric.Family {
	return metric.Gauge(name, "", v, labels.FromStrings(kv...))
}

func newPipeline(cs ...collect.Collector) *Pipeline {
	return &Pipeline{
		collectors:   cs,
		defaults:     labels.FromStrings("cluster", "edge-1", "job", "liftpush"),
		cycleTimeout: 10 * time.Second,
		logger:       slog.New(slog.DiscardHandler),
	}
}

func TestCollectConcurrentAndIsolated(t *testing.T) {
	var barrier sync.WaitGroup
	barrier.Add(3)
	p := newPipeline(
		&fakeCollector{name: "a", barrier: &barrier, fams: func() []metric.Family { return []metric.Family{gauge("a_value", 1)} }},
		&fakeCollector{name: "b", barrier: &barrier, err: errors.New("b is down"),
			fams: func() []metric.Family { return []metric.Family{gauge("b_partial", 2), gauge("b_partial2", 3)} }},
		&fakeCollector{name: "c", barrier: &barrier, fams: func() []metric.Family { return []metric.Family{gauge("c_value", 4)} }},
	)
	// Every collector waits for the others; run sequentially they would
	// wait out the collection deadline instead.
	p.cycleTimeout = 5 * time.Second
	outcomes := p.Collect(t.Context())
	type summary struct {
		Collector string
		Samples   int
		Err       string
	}
	var got []summary
	for _, o := range outcomes {
		s := summary{Collector: o.Collector, Samples: o.Samples}
		if o.Err != nil {
			s.Err = o.Err.Error()
		}
		got = append(got, s)
	}
	want := []summary{
		{Collector: "a", Samples: 1},
		{Collector: "b", Samples: 2, Err: "b is down"},
		{Collector: "c", Samples: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if (Result{Outcomes: outcomes}).OK() {
		t.Error("Result.OK() = true with a failed collector")
	}
}

// selfSeries renders a group's self-metrics as "labels value" lines.
func selfSeries(g metric.Group) []string {
	var out []string
	for _, f := range g.Self {
		for _, s := range f.Samples {
			out = append(out, fmt.Sprintf("%s %g @%d", s.Labels, s.Value, s.T))
		}
	}
	return out
}

func TestGroups(t *testing.T) {
	p := newPipeline()
	t1 := time.Unix(1_700_000_000, 0)
	ms := t1.UnixMilli()

	// First cycle: a fails, b succeeds.
	groups := p.Groups([]Outcome{
		{Collector: "a", Families: []metric.Family{gauge("a_partial", 1)}, Samples: 1, Duration: 2 * time.Second, Err: errors.New("boom")},
		{Collector: "b", Families: []metric.Family{gauge("b_value", 5, "job", "own")}, Samples: 1, Duration: 500 * time.Millisecond},
	}, t1)
	if len(groups) != 3 {
		t.Fatalf("got %d groups, want 2 collectors and the process group", len(groups))
	}
	a, b, proc := groups[0], groups[1], groups[2]
	if a.Collector != "a" || a.Up || b.Collector != "b" || !b.Up {
		t.Errorf("groups: a up=%t, b up=%t", a.Up, b.Up)
	}
	wantA := []string{
		fmt.Sprintf(`{__name__="liftpush_collector_up", cluster="edge-1", collector="a", job="liftpush"} 0 @%d`, ms),
		fmt.Sprintf(`{__name__="liftpush_collector_duration_seconds", cluster="edge-1", collector="a", job="liftpush"} 2 @%d`, ms),
		fmt.Sprintf(`{__name__="liftpush_collector_samples", cluster="edge-1", collector="a", job="liftpush"} 1 @%d`, ms),
	}
	if diff := cmp.Diff(wantA, selfSeries(a)); diff != "" {
		t.Errorf("self-metrics of a failed collector (-want +got):\n%s", diff)
	}
	wantB := []string{
		fmt.Sprintf(`{__name__="liftpush_collector_up", cluster="edge-1", collector="b", job="liftpush"} 1 @%d`, ms),
		fmt.Sprintf(`{__name__="liftpush_collector_duration_seconds", cluster="edge-1", collector="b", job="liftpush"} 0.5 @%d`, ms),
		fmt.Sprintf(`{__name__="liftpush_collector_samples", cluster="edge-1", collector="b", job="liftpush"} 1 @%d`, ms),
		fmt.Sprintf(`{__name__="liftpush_last_success_timestamp_seconds", cluster="edge-1", collector="b", job="liftpush"} 1.7e+09 @%d`, ms),
	}
	if diff := cmp.Diff(wantB, selfSeries(b)); diff != "" {
		t.Errorf("self-metrics of a good collector (-want +got):\n%s", diff)
	}
	// Data is decorated: the partial data of a is still delivered.
	if got := a.Families[0].Samples[0]; got.Labels.String() != `{__name__="a_partial", cluster="edge-1", job="liftpush"}` || got.T != ms {
		t.Errorf("a's data = %s @%d", got.Labels, got.T)
	}
	if got := b.Families[0].Samples[0].Labels.String(); got != `{__name__="b_value", cluster="edge-1", job="own"}` {
		t.Errorf("b's data = %s", got)
	}
	if proc.Collector != "" || !proc.Up || len(proc.Self) != 1 || proc.Self[0].Name != "liftpush_build_info" {
		t.Errorf("process group = %+v", proc)
	}
	if l := proc.Self[0].Samples[0].Labels; l.Get("job") != "liftpush" || l.Get("cluster") != "edge-1" || !l.Has("goversion") {
		t.Errorf("build info labels = %s", l)
	}

	// Second cycle: a fails again, b fails now. b keeps its last success
	// time; a still has none.
	t2 := t1.Add(time.Minute)
	groups = p.Groups([]Outcome{
		{Collector: "a", Err: errors.New("boom")},
		{Collector: "b", Err: errors.New("boom")},
	}, t2)
	if hasFamily(groups[0], "liftpush_last_success_timestamp_seconds") {
		t.Error("a never succeeded but has a success timestamp")
	}
	if got := familyValue(t, groups[1], "liftpush_last_success_timestamp_seconds"); got != 1_700_000_000 {
		t.Errorf("b's last success = %g, want the first cycle's", got)
	}

	// Third cycle: a succeeds.
	t3 := t2.Add(time.Minute)
	groups = p.Groups([]Outcome{{Collector: "a"}}, t3)
	if got := familyValue(t, groups[0], "liftpush_last_success_timestamp_seconds"); got != float64(t3.Unix()) {
		t.Errorf("a's last success = %g, want %d", got, t3.Unix())
	}
	if got := familyValue(t, groups[0], "liftpush_collector_up"); got != 1 {
		t.Errorf("a's up = %g, want 1", got)
	}
}

func hasFamily(g metric.Group, name string) bool {
	return slices.ContainsFunc(g.Self, func(f metric.Family) bool { return f.Name == name })
}

func familyValue(t *testing.T, g metric.Group, name string) float64 {
	t.Helper()
	for _, f := range g.Self {
		if f.Name == name {
			return f.Samples[0].Value
		}
	}
	t.Fatalf("%s not in group %q", name, g.Collector)
	return 0
}

// fakeDestination records what it was given.
type fakeDestination struct {
	probes
	name    string
	err     error
	mu      sync.Mutex
	samples int
}

func (d *fakeDestination) Name() string     { return d.name }
func (d *fakeDestination) Endpoint() string { return "fake://" + d.name }

func (d *fakeDestination) Open(ctx context.Context, _ push.Options) push.Delivery {
	return &collecting{ctx: ctx, deliver: d.Deliver}
}

func (d *fakeDestination) Deliver(ctx context.Context, groups []metric.Group) push.Report {
	n := 0
	for _, g := range groups {
		n += metric.Samples(g.Families) + metric.Samples(g.Self)
	}
	d.mu.Lock()
	d.samples = n
	d.mu.Unlock()
	rep := push.Report{Err: d.err}
	if d.err != nil {
		rep.Drop("http_400", n)
	} else {
		rep.Sent = n
	}
	return rep
}

func TestRunCycle(t *testing.T) {
	var logs strings.Builder
	good := &fakeDestination{name: "good"}
	bad := &fakeDestination{name: "bad", err: errors.New("HTTP 400")}
	p := newPipeline(&fakeCollector{name: "a", fams: func() []metric.Family { return []metric.Family{gauge("x", 1)} }})
	p.destinations = []push.Destination{good, bad}
	p.logger = slog.New(slog.NewTextHandler(&logs, nil))
	res := p.RunCycle(t.Context())
	if res.OK() {
		t.Error("OK() = true with a failing destination")
	}
	// 1 data sample + 4 self-metrics + build info.
	if good.samples != 6 || bad.samples != 6 {
		t.Errorf("destinations got %d and %d samples, want 6 each", good.samples, bad.samples)
	}
	if res.Reports[0].Destination != "good" || res.Reports[1].Destination != "bad" {
		t.Errorf("reports not named after destinations: %+v", res.Reports)
	}
	if !strings.Contains(logs.String(), "destination.bad.dropped_by_reason=\"http_400=6\"") {
		t.Errorf("summary line misses the drop reason:\n%s", logs.String())
	}

	bad.err = nil
	if res := p.RunCycle(t.Context()); !res.OK() {
		t.Errorf("OK() = false, reports %+v", res.Reports)
	}
}

type panickingCollector struct{ probes }

func (panickingCollector) Name() string { return "panics" }
func (panickingCollector) Collect(context.Context) ([]metric.Family, error) {
	var m map[string]int
	m["boom"]++ // a nil-map write: the kind of bug odd input triggers
	return nil, nil
}

// TestCollectSurvivesPanic checks that a panicking collector becomes a
// failed outcome while the others still deliver.
func TestCollectSurvivesPanic(t *testing.T) {
	ok := &fakeCollector{name: "ok", fams: func() []metric.Family { return []metric.Family{gauge("ok_value", 1)} }}
	p := &Pipeline{
		collectors:   []collect.Collector{panickingCollector{}, ok},
		cycleTimeout: time.Minute,
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	out := p.Collect(t.Context())
	if out[0].Err == nil || !strings.Contains(out[0].Err.Error(), "collector panicked: assignment to entry in nil map") {
		t.Errorf("panicking collector: err = %v", out[0].Err)
	}
	if out[1].Err != nil || out[1].Samples != 1 {
		t.Errorf("other collector: %+v", out[1])
	}
}
