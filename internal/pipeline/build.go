package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/promslog"

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
	// Destinations, when set, replace the configured ones: collect prints
	// to stdout through the delivery path of a push.
	Destinations []push.Destination
	// LogLevel is the level of Logger, which runtime.log_level sets;
	// nil leaves it alone.
	LogLevel *promslog.Level
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
	p := &Pipeline{opts: opts, logger: opts.Logger}
	if opts.LogLevel != nil {
		p.flagLevel = opts.LogLevel.String()
	}
	b, err := p.build(cfg)
	if err != nil {
		return nil, err
	}
	p.apply(b)
	return p, nil
}

// build makes what cfg describes, reusing the collectors and destinations
// whose configuration did not change since the last Apply, with their state
// (Spacelift tokens, the Pushgateway groups to delete at shutdown). It does
// not change what p runs: apply does, between cycles.
func (p *Pipeline) build(cfg *config.Config) (*built, error) {
	for _, w := range cfg.Warnings() {
		p.logger.Warn(w)
	}
	var prev *collect.Set
	if p.built != nil {
		prev = p.built.set
	}
	cs, err := collect.Build(cfg, collect.Options{Logger: p.logger, UserAgent: p.opts.UserAgent}, prev)
	if err != nil {
		return nil, err
	}
	b := &built{cfg: cfg, set: cs, collectors: ownCollectors(cs.All(), ownerOf(cfg))}
	if p.opts.Destinations != nil {
		b.destinations = p.opts.Destinations
		return b, nil
	}
	sp, err := p.openSpool(cfg)
	if err != nil {
		return nil, err
	}
	shardGrouping(cfg)
	env := sinkEnv{logger: p.logger, userAgent: p.opts.UserAgent, spool: sp}
	for _, key := range slices.Sorted(maps.Keys(sinks)) {
		err := sinks[key].each(cfg, env, func(e any, build func() (push.Destination, error)) error {
			d := p.built.reuse(e)
			if d == nil {
				var err error
				if d, err = build(); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
			b.destinations = append(b.destinations, d)
			b.entries = append(b.entries, e)
			b.kinds = append(b.kinds, key)
			return nil
		})
		if err != nil {
			return nil, err
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
	sp, err := spool.Open(ctx, sc.Dir, spool.Options{MaxSize: int64(sc.MaxSize), MaxAge: time.Duration(sc.MaxAge), Logger: p.logger})
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

// apply makes p run what b describes from its next cycle on, and closes
// the destinations b no longer has (a reload dropped or changed them).
func (p *Pipeline) apply(b *built) {
	g := b.cfg.Global
	if p.built != nil {
		var gone []push.Destination
		for _, d := range p.built.destinations {
			if !slices.Contains(b.destinations, d) {
				gone = append(gone, d)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(g.ShutdownTimeout))
		if err := closeAll(ctx, gone); err != nil {
			p.logger.Error("closing the destinations the reload dropped", "err", err)
		}
		if err := p.built.set.CloseDropped(ctx, b.set); err != nil {
			p.logger.Error("closing the collectors the reload dropped", "err", err)
		}
		cancel()
	}
	p.built = b
	p.collectors = b.collectors
	p.shard = ownerOf(b.cfg)
	setShard(p.collectors, p.shard)
	p.destinations = b.destinations
	p.defaults = g.SeriesDefaults()
	p.cycleTimeout = time.Duration(g.CycleTimeout)
	p.applyRuntime(b.cfg.Runtime)
}

// Config is the configuration p was last built from; nil for a pipeline
// assembled by hand.
func (p *Pipeline) Config() *config.Config {
	if p.built == nil {
		return nil
	}
	return p.built.cfg
}

// Close ends every destination (spool removals made durable, the
// Pushgateway's delete_on_shutdown) and releases the spool. Every command
// that built a pipeline calls it after its last delivery, with a fresh
// context: the run's own is cancelled by then.
func (p *Pipeline) Close(ctx context.Context) error {
	errs := []error{closeAll(ctx, p.destinations)}
	if p.built != nil && p.built.set != nil {
		errs = append(errs, p.built.set.CloseDropped(ctx, nil))
	}
	if p.spool != nil {
		if err := p.spool.Close(); err != nil {
			errs = append(errs, fmt.Errorf("spool: %w", err))
		}
	}
	return errors.Join(errs...)
}

// closeAll closes ds concurrently, each within ctx.
func closeAll(ctx context.Context, ds []push.Destination) error {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() {
			if err := d.Close(ctx); err != nil {
				errs[i] = fmt.Errorf("destination %s: %w", d.Name(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
