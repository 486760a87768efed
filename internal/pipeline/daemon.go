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
	// NoWatch keeps collectors fetching everything every cycle instead of
	// watching (watch.go): where RBAC grants list but not watch.
	NoWatch bool

	// build turns a loaded configuration into what Apply takes; tests
	// replace it to reload into fakes.
	build func(*config.Config) (*built, error)

	once    sync.Once
	reloads chan chan error
	stopped chan struct{}
	ready   atomic.Bool
	// overdue is when the running cycle or replay is past its
	// cycle_timeout by overrunSlack (Unix ns), 0 when none runs.
	overdue atomic.Int64
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

// Ready returns nil once a first cycle has finished, as long as no cycle
// runs past its cycle_timeout; else it says why not (/-/ready). A cycle
// that overruns has a stage that ignores its deadline, and no other cycle
// can start: the daemon is stuck (issue 22).
func (d *Daemon) Ready() error {
	if !d.ready.Load() {
		return errors.New("the first cycle has not finished")
	}
	if o := d.overdue.Load(); o != 0 && time.Now().UnixNano() > o {
		return fmt.Errorf("a cycle has run %s past its cycle_timeout: a stage is stuck, no cycle can start (see the log)",
			time.Since(time.Unix(0, o)).Round(time.Second)+overrunSlack)
	}
	return nil
}

// overrunSlack is how far past its cycle_timeout a cycle may run before
// the daemon says it is not ready: what is cancelled at the deadline
// still spools or closes, and a loaded machine must not make /-/ready flap.
const overrunSlack = 5 * time.Second

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
// (delete_on_shutdown) within what is left of ShutdownTimeout. A reload
// never starts or interrupts a cycle: what it built is applied when no
// cycle runs.
//
// Activations are computed from the last one, never from a reload, so that
// reloads more frequent than the schedule cannot starve it (issue 22).
//
// Run returns at most ShutdownTimeout + 2*StuckGrace after ctx ends. It
// returns ErrAbandoned when the cycle or the closing was still running
// then: a stage ignored its cancellation and was left behind.
func (d *Daemon) Run(ctx context.Context) error {
	d.init()
	defer close(d.stopped)
	p := d.Pipeline
	var (
		done   chan struct{} // non-nil while a cycle runs
		grace  time.Duration // the running cycle's shutdown_timeout
		staged *built
		watch  = watches{} // watch.go
	)
	syncWatch := func() {
		if !d.NoWatch {
			watch.sync(ctx, p.collectors)
		}
	}
	defer watch.stop()
	syncWatch()
	// start runs work as the one running cycle: a collection cycle, or
	// a replay of the spool between cycles.
	start := func(work func(context.Context)) {
		done = make(chan struct{})
		grace = d.ShutdownTimeout
		d.overdue.Store(time.Now().Add(p.cycleTimeout + overrunSlack).UnixNano())
		g := grace
		go func() {
			defer close(done)
			// The cycle outlives ctx: SIGTERM must not drop what it is
			// delivering. Only shutdown_timeout after it cancels it.
			cctx, cancel := Graceful(ctx, g)
			defer cancel()
			work(cctx)
			if errors.Is(context.Cause(cctx), push.ErrShutdown) {
				p.logger.Warn("shutdown_timeout reached, cancelling the running cycle", "shutdown_timeout", g)
			}
		}()
	}
	cycle := func(ctx context.Context) {
		p.RunCycle(ctx)
		d.ready.Store(true)
	}
	// last is the last activation (the start counts as one); the next
	// is always the schedule's next time after it.
	last := time.Now()
	timer := time.NewTimer(time.Until(d.Schedule.Next(last)))
	defer timer.Stop()
	apply := func() {
		if staged == nil {
			return
		}
		p.apply(staged)
		syncWatch()
		g := staged.cfg.Global
		if s, err := config.ParseSchedule(g.Schedule); err == nil {
			d.Schedule = s
		}
		d.ShutdownTimeout = time.Duration(g.ShutdownTimeout)
		staged = nil
		// Unchanged schedule, unchanged activation; a changed one counts
		// from the last activation, so an overdue cycle runs at once.
		timer.Reset(time.Until(d.Schedule.Next(last)))
	}
	// Between cycles, what the spool holds is retried on these ticks, so
	// that an uplink coming back is used before the next cycle is due.
	retry := time.NewTicker(replayEvery)
	defer retry.Stop()
	start(cycle)
	for {
		select {
		case <-timer.C:
			last = time.Now()
			if done != nil {
				p.logger.Warn("previous cycle still running, skipping this one")
			} else {
				start(cycle)
			}
			timer.Reset(time.Until(d.Schedule.Next(last)))
		case <-retry.C:
			if done == nil && p.spooled() {
				start(p.Replay)
			}
		case <-done:
			done = nil
			d.overdue.Store(0)
			apply()
		case res := <-d.reloads:
			b, err := d.reload()
			res <- err
			if err == nil {
				staged = b
				if done == nil {
					apply()
				}
			}
		case <-ctx.Done():
			return d.stop(done, grace)
		}
	}
}

// stop waits for the running cycle (done, nil if none) until grace +
// StuckGrace from now, then closes the pipeline within what is left of
// ShutdownTimeout (at least StuckGrace/2), and gives up on the closing
// StuckGrace/2 after that.
func (d *Daemon) stop(done chan struct{}, grace time.Duration) error {
	p := d.Pipeline
	stopAt := time.Now()
	var abandoned error
	if done != nil {
		p.logger.Info("stopping: letting the running cycle finish", "shutdown_timeout", grace)
		t := time.NewTimer(grace + StuckGrace)
		select {
		case <-done:
		case <-t.C:
			// Closing goes ahead: what the cycle still holds is lost
			// with the process anyway, and delete_on_shutdown is not.
			p.logger.Error("the running cycle did not stop when cancelled; abandoning it", "shutdown_timeout", grace, "err", ErrAbandoned)
			abandoned = ErrAbandoned
		}
		t.Stop()
	}
	// Half of StuckGrace at least to close, the other half for Close to
	// notice its deadline.
	closeBy := stopAt.Add(d.ShutdownTimeout)
	if soon := time.Now().Add(StuckGrace / 2); closeBy.Before(soon) {
		closeBy = soon
	}
	cctx, cancel := context.WithDeadline(context.Background(), closeBy)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(cctx) }()
	t := time.NewTimer(time.Until(closeBy) + StuckGrace/2)
	defer t.Stop()
	select {
	case err := <-closed:
		if err != nil {
			p.logger.Error("shutdown", "err", err)
		}
	case <-t.C:
		p.logger.Error("closing the destinations did not finish within shutdown_timeout; abandoning it", "err", ErrAbandoned)
		abandoned = ErrAbandoned
	}
	return abandoned
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
