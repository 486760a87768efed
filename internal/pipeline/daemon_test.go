package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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
					job:          "liftpush",
					cycleTimeout: tt.timeout,
					logger:       slog.New(slog.DiscardHandler),
				}
				ctx, cancel := context.WithTimeout(t.Context(), tt.run)
				defer cancel()
				d := &Daemon{Pipeline: p, Schedule: sched, ShutdownTimeout: time.Hour}
				d.Run(ctx)
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
			job:          "liftpush",
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
		d.Run(ctx)
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
		if !d.Ready() {
			t.Error("not ready after cycles finished")
		}
		if v := p.reloadSelf(); len(v) != 2 || v[0].Samples[0].Value != 1 {
			t.Errorf("reload self-metrics = %v, want successful", v)
		}
	})
}
