package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// concurrency counts what runs at once, across collectors.
type concurrency struct{ now, maxNow atomic.Int32 }

func (c *concurrency) enter() func() {
	n := c.now.Add(1)
	for m := c.maxNow.Load(); n > m && !c.maxNow.CompareAndSwap(m, n); m = c.maxNow.Load() {
	}
	return func() { c.now.Add(-1) }
}

// countingCollector counts its runs, and the most that ever ran at once,
// and takes d of (virtual) time.
type countingCollector struct {
	probes
	concurrency
	shared *concurrency // also counted here when set
	runs   atomic.Int32
	d      time.Duration
}

func (c *countingCollector) Name() string { return "counting" }

func (c *countingCollector) Collect(ctx context.Context) ([]metric.Family, error) {
	c.runs.Add(1)
	defer c.enter()()
	if c.shared != nil {
		defer c.shared.enter()()
	}
	select {
	case <-time.After(c.d):
	case <-ctx.Done():
	}
	return nil, nil
}

func TestDaemonSchedule(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		collect  time.Duration
		timeout  time.Duration
		run      time.Duration
		wantRuns int32
	}{
		{
			name:     "a cycle at start, then one per minute",
			spec:     "@every 1m",
			collect:  time.Second,
			timeout:  50 * time.Second,
			run:      3*time.Minute + 30*time.Second,
			wantRuns: 4,
		},
		{
			// Each cycle takes 90s (its collection share of a 150s
			// timeout); the activation during a running cycle is
			// skipped, never run in parallel.
			name:     "overlapping cycles are skipped",
			spec:     "@every 1m",
			collect:  90 * time.Second,
			timeout:  150 * time.Second,
			run:      4*time.Minute + 30*time.Second,
			wantRuns: 3,
		},
		{
			// Cycles of 2.5 s on a 1 s schedule run at 0, 3, 6 and 9 s.
			name:     "ticks during a running cycle are skipped",
			spec:     "@every 1s",
			collect:  2500 * time.Millisecond,
			timeout:  time.Minute,
			run:      10*time.Second + time.Millisecond,
			wantRuns: 4,
		},
		{
			// The bubble's clock starts on a whole second, so a cycle
			// at start and the ticks at 2, 4, 6, 8 and 10 s.
			name:     "seconds field",
			spec:     "*/2 * * * * *",
			collect:  100 * time.Millisecond,
			timeout:  time.Minute,
			run:      12*time.Second - time.Millisecond,
			wantRuns: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sched, err := config.ParseSchedule(tt.spec)
				if err != nil {
					t.Fatal(err)
				}
				c := &countingCollector{d: tt.collect}
				p := &Pipeline{
					collectors:   []collect.Collector{c},
					defaults:     labels.FromStrings("job", "liftpush"),
					cycleTimeout: tt.timeout,
					logger:       slog.New(slog.DiscardHandler),
				}
				ctx, cancel := context.WithTimeout(t.Context(), tt.run)
				defer cancel()
				d := &Daemon{Pipeline: p, Schedule: sched, ShutdownTimeout: time.Hour}
				if err := d.Run(ctx); err != nil {
					t.Errorf("Run: %v", err)
				}
				if got := c.runs.Load(); got != tt.wantRuns {
					t.Errorf("collector ran %d times in %s, want %d", got, tt.run, tt.wantRuns)
				}
				if m := c.maxNow.Load(); m != 1 {
					t.Errorf("%d cycles ran at once, want 1", m)
				}
			})
		})
	}
}

// TestDaemonReloadNeverOverlaps reloads at odd moments, during cycles and
// between them, into a new collector each time: the new configuration only
// ever starts with the next cycle, so two cycles never run at once, and
// every reloaded collector gets its turn.
func TestDaemonReloadNeverOverlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := config.ParseSchedule("@every 1s")
		if err != nil {
			t.Fatal(err)
		}
		var shared concurrency
		var made []*countingCollector
		newCollector := func() *countingCollector {
			c := &countingCollector{shared: &shared, d: 1500 * time.Millisecond}
			made = append(made, c)
			return c
		}
		p := &Pipeline{
			collectors:   []collect.Collector{newCollector()},
			defaults:     labels.FromStrings("job", "liftpush"),
			cycleTimeout: time.Minute,
			logger:       slog.New(slog.DiscardHandler),
		}
		d := &Daemon{
			Pipeline: p, Schedule: sched, ShutdownTimeout: time.Minute,
			Load: func() (*config.Config, error) {
				cfg := config.Default()
				cfg.Global.Schedule = "@every 1s"
				return cfg, nil
			},
		}
		d.build = func(cfg *config.Config) (*built, error) {
			return &built{cfg: cfg, collectors: []collect.Collector{newCollector()}}, nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() {
			// 700 ms apart: some land in a running cycle, some between.
			for i := 0; ; i++ {
				time.Sleep(700 * time.Millisecond)
				err := d.Reload()
				if errors.Is(err, ErrStopped) {
					return
				}
				if err != nil {
					t.Errorf("reload %d: %v", i, err)
				}
			}
		})
		if err := d.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
		if m := shared.maxNow.Load(); m != 1 {
			t.Errorf("%d cycles ran at once across reloads, want 1", m)
		}
		ran := 0
		for _, c := range made {
			ran += int(c.runs.Load())
			if c.runs.Load() > 1 {
				t.Errorf("a collector ran %d times: each reload comes before the next cycle", c.runs.Load())
			}
		}
		// Cycles of 1.5 s on a 1 s schedule, every other tick: ten or so.
		if ran < 8 {
			t.Errorf("%d cycles in 20s, want about 10", ran)
		}
		if err := d.Ready(); err != nil {
			t.Errorf("not ready after cycles finished: %v", err)
		}
		if v := p.reloadSelf(); len(v) != 2 || v[0].Samples[0].Value != 1 {
			t.Errorf("reload self-metrics = %v, want successful", v)
		}
	})
}

// TestDaemonReloadsNeverDelayCycles reloads more often than the schedule
// fires (issue 22: a reload restarted the schedule timer, so reloads every
// 3 s against @every 5s ran no cycle at all): cycles keep their times.
func TestDaemonReloadsNeverDelayCycles(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		reload   time.Duration
		wantRuns int32
	}{
		// The bubble's clock starts on a whole second: a cycle at
		// start, then at 2, 4, ... 18 s.
		{name: "every 2s, reloads every second", spec: "@every 2s", reload: time.Second, wantRuns: 10},
		{name: "every 2s, reloads every 700ms", spec: "@every 2s", reload: 700 * time.Millisecond, wantRuns: 10},
		// At start, then at 4, 8, 12 and 16 s.
		{name: "cron spec, reloads every second", spec: "*/4 * * * * *", reload: time.Second, wantRuns: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, c := reloadingDaemon(t, tt.spec, tt.spec)
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second-time.Millisecond)
				defer cancel()
				reloads := reloadEvery(t, d, tt.reload)
				if err := d.Run(ctx); err != nil {
					t.Errorf("Run: %v", err)
				}
				if n := reloads(); n < int(20*time.Second/tt.reload)-1 {
					t.Errorf("only %d reloads", n)
				}
				if got := c.runs.Load(); got != tt.wantRuns {
					t.Errorf("%d cycles in 20s with a reload every %s, want %d", got, tt.reload, tt.wantRuns)
				}
			})
		})
	}
}

// TestDaemonReloadNewSchedule reloads from @every 1h to @every 10s, 25 s
// after the first cycle: the new schedule counts from that cycle's start,
// so a cycle is overdue and runs at once, then every 10 s.
func TestDaemonReloadNewSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, c := reloadingDaemon(t, "@every 1h", "@every 10s")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute-time.Millisecond)
		defer cancel()
		go func() {
			time.Sleep(25 * time.Second)
			if err := d.Reload(); err != nil {
				t.Errorf("reload: %v", err)
			}
		}()
		if err := d.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
		// At 0 and 25 s, then 35, 45 and 55 s.
		if got := c.runs.Load(); got != 5 {
			t.Errorf("%d cycles, want 5", got)
		}
	})
}

// reloadingDaemon returns a daemon on schedule spec whose reloads load
// reloadSpec and keep its one collector, which takes 100 ms.
func reloadingDaemon(t *testing.T, spec, reloadSpec string) (*Daemon, *countingCollector) {
	t.Helper()
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingCollector{d: 100 * time.Millisecond}
	p := &Pipeline{
		collectors:   []collect.Collector{c},
		defaults:     labels.FromStrings("job", "liftpush"),
		cycleTimeout: time.Minute,
		logger:       slog.New(slog.DiscardHandler),
	}
	d := &Daemon{
		Pipeline: p, Schedule: sched, ShutdownTimeout: time.Minute,
		Load: func() (*config.Config, error) {
			cfg := config.Default()
			cfg.Global.Schedule = reloadSpec
			cfg.Global.ShutdownTimeout = model.Duration(time.Minute)
			return cfg, nil
		},
	}
	d.build = func(cfg *config.Config) (*built, error) {
		return &built{cfg: cfg, collectors: []collect.Collector{c}}, nil
	}
	return d, c
}

// reloadEvery reloads d every period until it stops; the returned
// function waits for that and says how many reloads succeeded.
func reloadEvery(t *testing.T, d *Daemon, period time.Duration) func() int {
	t.Helper()
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			time.Sleep(period)
			err := d.Reload()
			if errors.Is(err, ErrStopped) {
				return
			}
			if err != nil {
				t.Errorf("reload: %v", err)
				return
			}
			n++
		}
	}()
	return func() int {
		<-done
		return n
	}
}

// stuckCollector blocks until release is closed, and also until its
// context ends when honour is set.
type stuckCollector struct {
	probes
	honour  bool
	started chan struct{}
	release chan struct{}
}

func (c *stuckCollector) Name() string { return "stuck" }

func (c *stuckCollector) Collect(ctx context.Context) ([]metric.Family, error) {
	close(c.started)
	if c.honour {
		select {
		case <-ctx.Done():
		case <-c.release:
		}
		return nil, ctx.Err()
	}
	// A read from a FIFO: no context can end it.
	<-c.release
	return nil, nil
}

// TestDaemonStopWithinShutdownTimeout stops the daemon while its collector
// blocks: one that honours its context ends with the cancellation at
// shutdown_timeout; one that ignores it is abandoned StuckGrace later
// (issue 22: a blocked read kept the process alive forever).
func TestDaemonStopWithinShutdownTimeout(t *testing.T) {
	const shutdown = 3 * time.Second
	tests := []struct {
		name     string
		honour   bool
		wantErr  error
		wantTook time.Duration
	}{
		{name: "a stage that honours cancellation", honour: true, wantTook: shutdown},
		{name: "a stage that ignores it", wantErr: ErrAbandoned, wantTook: shutdown + StuckGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sched, err := config.ParseSchedule("@every 1m")
				if err != nil {
					t.Fatal(err)
				}
				c := &stuckCollector{honour: tt.honour, started: make(chan struct{}), release: make(chan struct{})}
				defer close(c.release)
				p := &Pipeline{
					collectors:   []collect.Collector{c},
					defaults:     labels.FromStrings("job", "liftpush"),
					cycleTimeout: time.Hour,
					logger:       slog.New(slog.DiscardHandler),
				}
				d := &Daemon{Pipeline: p, Schedule: sched, ShutdownTimeout: shutdown}
				ctx, cancel := context.WithCancel(t.Context())
				go func() {
					<-c.started
					time.Sleep(5 * time.Second)
					cancel()
				}()
				start := time.Now()
				err = d.Run(ctx)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Run = %v, want %v", err, tt.wantErr)
				}
				if took := time.Since(start) - 5*time.Second; took != tt.wantTook {
					t.Errorf("Run returned %s after the stop, want %s", took, tt.wantTook)
				}
			})
		})
	}
}

// TestBounded is the same bound for run --once and push.
func TestBounded(t *testing.T) {
	for _, honour := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			stop, cancel := context.WithCancel(t.Context())
			time.AfterFunc(time.Second, cancel)
			start := time.Now()
			err := Bounded(stop, 2*time.Second, func(ctx context.Context) {
				if honour {
					select {
					case <-ctx.Done():
					case <-release:
					}
					return
				}
				<-release
			})
			want, wantErr := 3*time.Second, error(nil)
			if !honour {
				want, wantErr = 3*time.Second+StuckGrace, ErrAbandoned
			}
			if took := time.Since(start); took != want || !errors.Is(err, wantErr) {
				t.Errorf("honour=%v: Bounded = %v after %s, want %v after %s", honour, err, took, wantErr, want)
			}
		})
	}
	// Work that ends before any stop is waited for.
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Bounded(t.Context(), time.Second, func(context.Context) { time.Sleep(time.Hour) }); err != nil || time.Since(start) != time.Hour {
			t.Errorf("Bounded = %v after %s, want nil after 1h", err, time.Since(start))
		}
	})
}

// onceStuck takes 500 ms the first time, then ignores its context until
// release is closed.
type onceStuck struct {
	probes
	runs    atomic.Int32
	release chan struct{}
}

func (c *onceStuck) Name() string { return "once-stuck" }

func (c *onceStuck) Collect(ctx context.Context) ([]metric.Family, error) {
	if c.runs.Add(1) > 1 {
		<-c.release
	} else {
		time.Sleep(500 * time.Millisecond)
	}
	return nil, nil
}

// TestDaemonReadyWhileCyclesRun: ready after the first cycle, not ready
// once a cycle overruns its cycle_timeout (a stuck stage, which stops every
// later cycle), ready again when it ends.
func TestDaemonReadyWhileCyclesRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := config.ParseSchedule("@every 10s")
		if err != nil {
			t.Fatal(err)
		}
		c := &onceStuck{release: make(chan struct{})}
		p := &Pipeline{
			collectors:   []collect.Collector{c},
			defaults:     labels.FromStrings("job", "liftpush"),
			cycleTimeout: 5 * time.Second,
			logger:       slog.New(slog.DiscardHandler),
		}
		d := &Daemon{Pipeline: p, Schedule: sched, ShutdownTimeout: time.Second}
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan error)
		go func() { stopped <- d.Run(ctx) }()
		steps := []struct {
			at      time.Duration
			release bool
			want    string // "" for ready
		}{
			{at: 0, want: "the first cycle has not finished"},
			{at: time.Second},
			// The second cycle starts at 10 s and may run until 15 s,
			// plus overrunSlack.
			{at: 20 * time.Second},
			{at: 22 * time.Second, want: "a cycle has run 7s past its cycle_timeout"},
			{at: 30 * time.Second, want: "a cycle has run 15s past its cycle_timeout"},
			{at: 31 * time.Second, release: true},
		}
		start := time.Now()
		for _, s := range steps {
			time.Sleep(time.Until(start.Add(s.at)))
			if s.release {
				close(c.release)
			}
			synctest.Wait()
			err := d.Ready()
			if got := fmt.Sprint(err); (s.want == "" && err != nil) || (s.want != "" && !strings.Contains(got, s.want)) {
				t.Errorf("at %s: Ready() = %v, want %q", s.at, err, s.want)
			}
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
