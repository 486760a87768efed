package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

// Options is what New needs besides the configuration.
type Options struct {
	Logger *slog.Logger
	// UserAgent is "liftpush/<version>", sent by every HTTP client.
	UserAgent string
}

// built is what one configuration made: the pipeline's settings, its
// collectors and its destinations, each destination with the entry it was
// built from so that a reload can tell whether it changed.
type built struct {
	cfg          *config.Config
	set          *collect.Set
	collectors   []collect.Collector
	destinations []push.Destination
	entries      []any
	// kinds holds the config key ("remote_write", ...) of each destination.
	kinds []string
}

// New builds a pipeline from a validated configuration.
func New(cfg *config.Config, opts Options) (*Pipeline, error) {
	p := &Pipeline{opts: opts, Logger: opts.Logger}
	b, err := p.Build(cfg)
	if err != nil {
		return nil, err
	}
	p.Apply(b)
	return p, nil
}

// Build makes what cfg describes, reusing the collectors and destinations
// whose configuration did not change since the last Apply, with their state
// (Spacelift tokens, the Pushgateway groups to delete at shutdown). It does
// not change what p runs: Apply does, between cycles.
func (p *Pipeline) Build(cfg *config.Config) (*built, error) {
	for _, w := range cfg.Warnings() {
		p.Logger.Warn(w)
	}
	var prev *collect.Set
	if p.built != nil {
		prev = p.built.set
	}
	cs, err := collect.Build(cfg, collect.Options{Logger: p.Logger, UserAgent: p.opts.UserAgent, Now: time.Now}, prev)
	if err != nil {
		return nil, err
	}
	b := &built{cfg: cfg, set: cs, collectors: cs.All()}
	sp, err := p.openSpool(cfg)
	if err != nil {
		return nil, err
	}
	env := sinkEnv{logger: p.Logger, userAgent: p.opts.UserAgent, spool: sp}
	for _, key := range slices.Sorted(maps.Keys(sinks)) {
		s := sinks[key]
		for _, e := range s.entries(cfg) {
			d := p.built.reuse(e)
			if d == nil {
				if d, err = s.build(e, env); err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
			}
			b.destinations = append(b.destinations, d)
			b.entries = append(b.entries, e)
			b.kinds = append(b.kinds, key)
		}
	}
	return b, nil
}

// openSpool opens the spool the first time; a reload keeps it, and cannot
// move it: the lock and the queues belong to the running process.
func (p *Pipeline) openSpool(cfg *config.Config) (*spool.Spool, error) {
	sc := cfg.Spool
	if p.spool != nil {
		if sc != p.spoolCfg {
			return nil, fmt.Errorf("spool: dir, max_size and max_age cannot change while liftpush runs (now dir=%q max_size=%s max_age=%s); restart liftpush to change them", p.spoolCfg.Dir, p.spoolCfg.MaxSize, p.spoolCfg.MaxAge)
		}
		return p.spool, nil
	}
	if !sc.Enabled() {
		return nil, nil
	}
	// Another liftpush using the dir (an overlapping CronJob run) gets
	// the cycle's time to finish before this one gives up.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Global.CycleTimeout))
	defer cancel()
	sp, err := spool.Open(ctx, sc.Dir, spool.Options{MaxSize: int64(sc.MaxSize), MaxAge: time.Duration(sc.MaxAge)})
	if err != nil {
		return nil, err
	}
	p.spool, p.spoolCfg = sp, sc
	return sp, nil
}

// reuse returns the destination built from an entry equal to e, if any.
func (b *built) reuse(e any) push.Destination {
	if b == nil {
		return nil
	}
	for i, old := range b.entries {
		if reflect.DeepEqual(old, e) {
			return b.destinations[i]
		}
	}
	return nil
}

// Apply makes p run what b describes from its next cycle on.
func (p *Pipeline) Apply(b *built) {
	g := b.cfg.Global
	p.built = b
	p.Collectors = b.collectors
	p.Destinations = b.destinations
	p.Job = g.Job
	p.ExternalLabels = labels.FromMap(g.ExternalLabels)
	p.CycleTimeout = time.Duration(g.CycleTimeout)
}

// Config is the configuration p was last built from; nil for a pipeline
// assembled by hand.
func (p *Pipeline) Config() *config.Config {
	if p.built == nil {
		return nil
	}
	return p.built.cfg
}
