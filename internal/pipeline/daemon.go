package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

// Daemon runs a pipeline on a schedule (`liftpush run`): a cycle at start,
// then one at every activation, never two at once. It reloads its
// configuration on request and drains on stop.
type Daemon struct {
	Pipeline *Pipeline
	Schedule cron.Schedule
	// ShutdownTimeout is how long a running cycle may still finish once
	// the daemon is stopped, before it is cancelled.
	ShutdownTimeout time.Duration
	// Load re-reads and validates the configuration (file, flags,
	// environment); nil refuses reloads.
	Load func() (*config.Config, error)

	// build turns a loaded configuration into what Apply takes; tests
	// replace it to reload into fakes.
	build func(*config.Config) (*built, error)

	once    sync.Once
	reloads chan chan error
	stopped chan struct{}
	ready   atomic.Bool
}

// NewDaemon returns the daemon of a pipeline built by New, with the
// schedule and shutdown timeout of its configuration.
func NewDaemon(p *Pipeline, load func() (*config.Config, error)) (*Daemon, error) {
	g := p.Config().Global
	sched, err := config.ParseSchedule(g.Schedule)
	if err != nil {
		return nil, err
	}
	return &Daemon{Pipeline: p, Schedule: sched, ShutdownTimeout: time.Duration(g.ShutdownTimeout), Load: load}, nil
}

func (d *Daemon) init() {
	d.once.Do(func() {
		d.reloads = make(chan chan error)
		d.stopped = make(chan struct{})
	})
}

// Ready reports whether a first cycle has finished (/-/ready).
func (d *Daemon) Ready() bool { return d.ready.Load() }

// ErrStopped is returned by Reload once the daemon has stopped.
var ErrStopped = errors.New("daemon stopped")

// Reload re-reads the configuration and returns what check-config would say
// of it. A valid one is built at once and takes effect from the next
// cycle; with an invalid one the old configuration keeps running.
func (d *Daemon) Reload() error {
	d.init()
	res := make(chan error, 1)
	select {
	case d.reloads <- res:
	case <-d.stopped:
		return ErrStopped
	}
	return <-res
}

// Run runs cycles until ctx ends, then lets a running cycle finish for up to
// ShutdownTimeout, cancels it if it has not, and closes the destinations
// (delete_on_shutdown). A reload never starts or interrupts a cycle: what it
// built is applied when no cycle runs.
func (d *Daemon) Run(ctx context.Context) {
	d.init()
	defer close(d.stopped)
	p := d.Pipeline
	var (
		done   chan struct{} // non-nil while a cycle runs
		staged *built
	)
	// start runs work as the one running cycle: a collection cycle, or
	// a replay of the spool between cycles.
	start := func(work func(context.Context)) {
		done = make(chan struct{})
		grace := d.ShutdownTimeout
		go func() {
			defer close(done)
			// The cycle outlives ctx: SIGTERM must not drop what it is
			// delivering. Only shutdown_timeout after it cancels it.
			cctx, cancel := Graceful(ctx, grace)
			defer cancel()
			work(cctx)
			if errors.Is(context.Cause(cctx), push.ErrShutdown) {
				p.logger.Warn("shutdown_timeout reached, cancelling the running cycle", "shutdown_timeout", grace)
			}
		}()
	}
	cycle := func(ctx context.Context) {
		p.RunCycle(ctx)
		d.ready.Store(true)
	}
	apply := func() {
		if staged == nil {
			return
		}
		p.apply(staged)
		g := staged.cfg.Global
		if s, err := config.ParseSchedule(g.Schedule); err == nil {
			d.Schedule = s
		}
		d.ShutdownTimeout = time.Duration(g.ShutdownTimeout)
		staged = nil
	}
	timer := time.NewTimer(d.untilNext())
	defer timer.Stop()
	// Between cycles, what the spool holds is retried on these ticks, so
	// that an uplink coming back is used before the next cycle is due.
	retry := time.NewTicker(replayEvery)
	defer retry.Stop()
	start(cycle)
	for {
		select {
		case <-timer.C:
			if done != nil {
				p.logger.Warn("previous cycle still running, skipping this one")
			} else {
				start(cycle)
			}
			timer.Reset(d.untilNext())
		case <-retry.C:
			if done == nil && p.spooled() {
				start(p.Replay)
			}
		case <-done:
			done = nil
			if staged != nil {
				apply()
				timer.Reset(d.untilNext())
			}
		case res := <-d.reloads:
			b, err := d.reload()
			res <- err
			if err == nil {
				staged = b
				if done == nil {
					apply()
					timer.Reset(d.untilNext())
				}
			}
		case <-ctx.Done():
			if done != nil {
				p.logger.Info("stopping: letting the running cycle finish", "shutdown_timeout", d.ShutdownTimeout)
				<-done
			}
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), d.ShutdownTimeout)
			defer ccancel()
			if err := p.Close(cctx); err != nil {
				p.logger.Error("shutdown", "err", err)
			}
			return
		}
	}
}

// replayEvery is how often a daemon retries its spool between cycles.
const replayEvery = 5 * time.Second

// reload loads and builds a new configuration, and records the outcome.
func (d *Daemon) reload() (*built, error) {
	p := d.Pipeline
	now := time.Now()
	if d.Load == nil {
		return nil, errors.New("reloading is not available")
	}
	cfg, err := d.Load()
	build := p.build
	if d.build != nil {
		build = d.build
	}
	var b *built
	if err == nil {
		b, err = build(cfg)
	}
	p.SetReload(err == nil, now)
	if err != nil {
		p.logger.Error("reloading configuration failed, keeping the old one", "err", err)
		return nil, fmt.Errorf("reloading configuration: %w", err)
	}
	p.logger.Info("configuration reloaded; it takes effect from the next cycle")
	return b, nil
}

func (d *Daemon) untilNext() time.Duration {
	now := time.Now()
	return d.Schedule.Next(now).Sub(now)
}
