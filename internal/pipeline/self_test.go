package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

type emptyCollector struct{ probes }

func (emptyCollector) Name() string { return "fake" }
func (emptyCollector) Collect(context.Context) ([]metric.Family, error) {
	return []metric.Family{metric.Gauge("x", "", 1, labels.EmptyLabels())}, nil
}

// budgetDestination answers with report, or hangs until its context ends
// when hang is set. It records the process group it was given.
type budgetDestination struct {
	probes
	name    string
	report  push.Report
	hang    bool
	budget  time.Duration
	mu      sync.Mutex
	process []metric.Family
	took    time.Duration
	closed  bool
}

func (d *budgetDestination) Name() string     { return d.name }
func (d *budgetDestination) Endpoint() string { return "fake://" + d.name }
func (d *budgetDestination) Open(ctx context.Context, _ push.Options) push.Delivery {
	return &collecting{ctx: ctx, deliver: d.Deliver}
}
func (d *budgetDestination) Close(context.Context) error {
	d.closed = true
	return nil
}

// Deliver takes the whole delivery at Close, under the destination's own
// budget, as the Pushgateway does.
func (d *budgetDestination) Deliver(ctx context.Context, groups []metric.Group) push.Report {
	if d.budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.budget)
		defer cancel()
	}
	start := time.Now()
	defer func() {
		d.mu.Lock()
		d.took = time.Since(start)
		d.mu.Unlock()
	}()
	for _, g := range groups {
		if g.Collector == "" {
			d.mu.Lock()
			d.process = g.Self
			d.mu.Unlock()
		}
	}
	if d.hang {
		<-ctx.Done()
		r := push.Report{Err: ctx.Err()}
		r.Drop("timeout", 2)
		return r
	}
	return d.report
}

// collecting is a delivery that hands every group to deliver at Close.
type collecting struct {
	ctx     context.Context
	deliver func(context.Context, []metric.Group) push.Report
	groups  []metric.Group
}

func (c *collecting) Write(g *metric.Group) { c.groups = append(c.groups, *g) }
func (c *collecting) Close() push.Report    { return c.deliver(c.ctx, c.groups) }

// processSeries renders the destination self-metrics of a process group as
// "name{labels} value" lines.
func processSeries(fams []metric.Family) []string {
	var out []string
	for _, f := range fams {
		if f.Name == "liftpush_build_info" {
			continue
		}
		for _, s := range f.Samples {
			ls := labels.NewBuilder(s.Labels).Del(model.MetricNameLabel, model.JobLabel).Labels()
			out = append(out, f.Name+ls.String()+" "+model.SampleValue(s.Value).String())
		}
	}
	return out
}

func TestDestinationSelfMetricsAndBudgets(t *testing.T) {
	synctest.Test(t, testDestinationSelfMetricsAndBudgets)
}

func testDestinationSelfMetricsAndBudgets(t *testing.T) {
	ok := &budgetDestination{name: "ok", report: push.Report{Sent: 3}}
	partial := &budgetDestination{name: "partial", report: push.Report{Sent: 1, Err: errors.New("400"), Dropped: map[string]int{"http_400": 2}}}
	hanging := &budgetDestination{name: "hanging", hang: true, budget: 50 * time.Millisecond}
	p := &Pipeline{
		collectors:   []collect.Collector{emptyCollector{}},
		destinations: []push.Destination{ok, partial, hanging},
		defaults:     labels.FromStrings("job", "liftpush"),
		cycleTimeout: 10 * time.Second,
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// In the bubble, time moves only while every goroutine waits: a
	// cycle's end is the instant its deliveries were recorded.
	seconds := func(t time.Time) string { return model.SampleValue(float64(t.UnixMilli()) / 1000).String() }
	res := p.RunCycle(t.Context())
	first := time.Now()
	if res.OK() {
		t.Error("cycle OK with a hanging destination")
	}
	if hanging.took != 50*time.Millisecond {
		t.Errorf("hanging destination took %s, its budget is 50ms", hanging.took)
	}
	if got := processSeries(ok.process); len(got) != 0 {
		t.Errorf("first cycle has destination self-metrics, want none (nothing was delivered before): %v", got)
	}

	// Second cycle: the first one's results arrive, and the partial one's
	// drop reason stays at 0 once it recovers.
	time.Sleep(time.Minute)
	partial.report = push.Report{Sent: 3}
	p.RunCycle(t.Context())
	second := time.Now()
	want := []string{
		`liftpush_destination_samples_sent{destination="hanging"} 0`,
		`liftpush_destination_samples_sent{destination="ok"} 3`,
		`liftpush_destination_samples_sent{destination="partial"} 1`,
		`liftpush_destination_samples_dropped{destination="hanging", reason="timeout"} 2`,
		`liftpush_destination_samples_dropped{destination="partial", reason="http_400"} 2`,
		`liftpush_destination_last_success_timestamp_seconds{destination="ok"} ` + seconds(first),
	}
	if diff := cmp.Diff(want, processSeries(ok.process)); diff != "" {
		t.Errorf("second cycle (-want +got):\n%s", diff)
	}

	time.Sleep(time.Minute)
	p.RunCycle(t.Context())
	want = []string{
		`liftpush_destination_samples_sent{destination="hanging"} 0`,
		`liftpush_destination_samples_sent{destination="ok"} 3`,
		`liftpush_destination_samples_sent{destination="partial"} 3`,
		`liftpush_destination_samples_dropped{destination="hanging", reason="timeout"} 2`,
		`liftpush_destination_samples_dropped{destination="partial", reason="http_400"} 0`,
		`liftpush_destination_last_success_timestamp_seconds{destination="ok"} ` + seconds(second),
		`liftpush_destination_last_success_timestamp_seconds{destination="partial"} ` + seconds(second),
	}
	if diff := cmp.Diff(want, processSeries(ok.process)); diff != "" {
		t.Errorf("third cycle (-want +got):\n%s", diff)
	}

	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !ok.closed || !hanging.closed {
		t.Error("Close did not reach the destinations")
	}
}

// spooledDestination reports a spool, as a remote-write destination with
// spool.dir does.
type spooledDestination struct {
	budgetDestination
	spool push.SpoolState
}

func (d *spooledDestination) Stats() push.Stats { return push.Stats{Spool: &d.spool} }

// TestSpoolSelfMetrics: a destination's spool, as its Stats report it, is
// in the process group of the cycle: the backlog a run --once inherits,
// and the records moved aside as corrupt.
func TestSpoolSelfMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &spooledDestination{budgetDestination: budgetDestination{name: "edge"}, spool: push.SpoolState{Records: 3, Bytes: 900, Oldest: time.Now().Add(-time.Minute), Corrupt: 2}}
		p := &Pipeline{
			collectors:   []collect.Collector{emptyCollector{}},
			destinations: []push.Destination{d},
			defaults:     labels.FromStrings("job", "liftpush"),
			cycleTimeout: 10 * time.Second,
			logger:       slog.New(slog.DiscardHandler),
		}
		p.RunCycle(t.Context())
		want := []string{
			`liftpush_spool_records{destination="edge"} 3`,
			`liftpush_spool_bytes{destination="edge"} 900`,
			`liftpush_spool_oldest_record_age_seconds{destination="edge"} 60`,
			`liftpush_spool_dropped_samples_total{destination="edge", reason="max_age"} 0`,
			`liftpush_spool_dropped_samples_total{destination="edge", reason="max_size"} 0`,
			`liftpush_spool_corrupt_records_total{destination="edge"} 2`,
		}
		if diff := cmp.Diff(want, processSeries(d.process)); diff != "" {
			t.Errorf("process group (-want +got):\n%s", diff)
		}
	})
}
