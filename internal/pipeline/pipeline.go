// Package pipeline runs a delivery: data from the collectors (a cycle) or
// from a file (push), decorated, handed to every destination as it is
// produced. The daemon's scheduler, reload and drain live here too.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/shard"
	"github.com/liftpush/liftpush/internal/spool"
)

// collectShare is the part of cycle_timeout the collectors may use; the rest
// is kept for delivery, so a hanging source cannot starve the push.
const collectShare = 0.6

// Pipeline holds what lives across cycles: collectors (with their cached
// clients and tokens), destinations, and what the self-metrics remember.
// New builds it; only a reload (Daemon) changes it.
//
// RunCycle and Push must not be called concurrently, nor with a reload; the
// daemon guarantees it. Metrics may be gathered at any time.
type Pipeline struct {
	collectors   []collect.Collector
	destinations []push.Destination
	// defaults are the labels every series gets where it lacks them:
	// global.job and external_labels (Decorator).
	defaults     labels.Labels
	cycleTimeout time.Duration
	shard        shard.Owner // this replica's part (shard.go)
	logger       *slog.Logger

	built    *built // what New or build made, for the next reload
	opts     Options
	spool    *spool.Spool // nil without spool.dir
	spoolCfg config.SpoolConfig
	reload   reloadState
	// flagLevel is the log level of --log.level, which runtime.log_level
	// overrides while set (runtime.go).
	flagLevel string
	selfMu    sync.Mutex
	lastOut   []metric.Family // the last cycle's self-metrics, undecorated, for /metrics

	lastSuccess map[string]float64
	destStates  map[string]*destinationState // see self.go
}

// Outcome is one collector's part of a cycle.
type Outcome struct {
	Collector string
	Families  []metric.Family
	Samples   int
	Duration  time.Duration
	Err       error
}

// Result is one cycle's outcome.
type Result struct {
	Outcomes []Outcome
	Reports  []push.Report
}

// OK reports whether everything was collected and delivered.
func (r Result) OK() bool {
	for _, o := range r.Outcomes {
		if o.Err != nil {
			return false
		}
	}
	return delivered(r.Reports)
}

// delivered reports whether every destination got everything.
func delivered(reports []push.Report) bool {
	for _, rep := range reports {
		if rep.Err != nil {
			return false
		}
	}
	return true
}

// RunCycle collects once and delivers to every destination, all within
// cycle_timeout.
func (p *Pipeline) RunCycle(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, p.cycleTimeout)
	defer cancel()
	start := time.Now()
	outcomes := p.Collect(ctx)
	groups := p.Groups(outcomes, start)
	reports := p.deliver(ctx, push.Options{Cycle: start.UnixMilli(), Shard: p.shard.String()}, func(emit func(*metric.Group)) {
		for i := range groups {
			emit(&groups[i])
		}
	})
	p.recordDeliveries(reports, time.Now())
	res := Result{Outcomes: outcomes, Reports: reports}
	p.logSummary(res, time.Now().Sub(start))
	return res
}

// Collect runs every collector concurrently, each under the collection share
// of the cycle deadline.
func (p *Pipeline) Collect(ctx context.Context) []Outcome {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(float64(p.cycleTimeout)*collectShare))
	defer cancel()
	out := make([]Outcome, len(p.collectors))
	var wg sync.WaitGroup
	for i, c := range p.collectors {
		wg.Go(func() {
			start := time.Now()
			fams, err := safeCollect(cctx, c)
			o := Outcome{Collector: c.Name(), Families: fams, Samples: metric.Samples(fams), Duration: time.Now().Sub(start), Err: err}
			if err != nil {
				p.logger.Error("collector failed", "collector", o.Collector, "samples", o.Samples, "err", err)
			}
			out[i] = o
		})
	}
	wg.Wait()
	return out
}

// safeCollect runs one collection and turns a panic into that collector's
// error: a bug triggered by odd remote input must cost one collector one
// cycle, not the process and every other collector's data.
func safeCollect(ctx context.Context, c collect.Collector) (fams []metric.Family, err error) {
	defer func() {
		if r := recover(); r != nil {
			fams, err = nil, fmt.Errorf("collector panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Collect(ctx)
}

// Groups turns outcomes into the groups destinations receive: decorated data,
// each collector's self-metrics, and a process group with build info.
func (p *Pipeline) Groups(outcomes []Outcome, at time.Time) []metric.Group {
	if p.lastSuccess == nil {
		p.lastSuccess = map[string]float64{}
	}
	groups := make([]metric.Group, 0, len(outcomes)+1)
	var self []metric.Family
	for _, o := range outcomes {
		if o.Err == nil {
			p.lastSuccess[o.Collector] = float64(at.UnixMilli()) / 1000
		}
		g := metric.Group{Collector: o.Collector, Up: o.Err == nil, Families: o.Families, Self: withShard(collectorSelf(o, p.lastSuccess[o.Collector]), p.shard)}
		self = append(self, g.Self...)
		groups = append(groups, g)
	}
	process := append([]metric.Family{BuildInfo()}, p.reloadSelf()...)
	process = append(process, p.destinationSelf()...)
	process = append(process, p.spoolSelf(at)...)
	process = withShard(process, p.shard)
	self = append(self, process...)
	groups = append(groups, metric.Group{Up: true, Self: process})
	p.keepSelf(self)
	d := &Decorator{Defaults: p.defaults, T: at.UnixMilli()}
	for gi := range groups {
		g := &groups[gi]
		for i := range g.Families {
			d.Decorate(&g.Families[i])
		}
		// Self-metrics are also kept for /metrics: decorate copies.
		g.Self = cloneSamples(g.Self)
		for i := range g.Self {
			d.Decorate(&g.Self[i])
		}
	}
	return groups
}

// cloneSamples copies the sample slices of fams, so decorating the copy in
// place leaves the originals as they were.
func cloneSamples(fams []metric.Family) []metric.Family {
	out := make([]metric.Family, len(fams))
	for i, f := range fams {
		f.Samples = append([]metric.Sample(nil), f.Samples...)
		out[i] = f
	}
	return out
}

// logSummary writes the one line a run ends with: per collector samples and
// duration, per destination sent, retried and dropped with reasons.
func (p *Pipeline) logSummary(res Result, took time.Duration) {
	var attrs []any
	for _, o := range res.Outcomes {
		attrs = append(attrs, slog.Group("collector."+o.Collector,
			"up", o.Err == nil, "samples", o.Samples, "duration", o.Duration.Round(time.Millisecond)))
	}
	p.logEnd("cycle finished", res.OK(), took, attrs, res.Reports)
}

// logEnd writes the summary line of a cycle or a push: whether it all went
// well, how long it took, what it collected (attrs) and each destination's
// report. Anything short of complete is a warning.
func (p *Pipeline) logEnd(msg string, ok bool, took time.Duration, attrs []any, reports []push.Report) {
	attrs = append([]any{"ok", ok, "duration", took.Round(time.Millisecond)}, attrs...)
	for _, r := range reports {
		attrs = append(attrs, r.LogAttr())
	}
	level := slog.LevelInfo
	if !ok {
		level = slog.LevelWarn
	}
	p.logger.Log(context.Background(), level, msg, attrs...)
}

// Collectors are the collectors p runs, in order; the slice is p's own.
func (p *Pipeline) Collectors() []collect.Collector { return p.collectors }

// Destinations are the destinations p delivers to; the slice is p's own.
func (p *Pipeline) Destinations() []push.Destination { return p.destinations }
