package pipeline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// countingCollector counts its runs, and the most that ever ran at once,
// and takes d of (virtual) time.
type countingCollector struct {
	runs, now, maxNow atomic.Int32
	d                 time.Duration
}

func (c *countingCollector) Name() string { return "counting" }

func (c *countingCollector) Collect(ctx context.Context) ([]metric.Family, error) {
	c.runs.Add(1)
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for m := c.maxNow.Load(); n > m && !c.maxNow.CompareAndSwap(m, n); m = c.maxNow.Load() {
	}
	select {
	case <-time.After(c.d):
	case <-ctx.Done():
	}
	return nil, nil
}

func TestRunSchedule(t *testing.T) {
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
					Collectors:   []collect.Collector{c},
					Job:          "liftpush",
					CycleTimeout: tt.timeout,
					Logger:       slog.New(slog.DiscardHandler),
				}
				ctx, cancel := context.WithTimeout(t.Context(), tt.run)
				defer cancel()
				p.RunSchedule(ctx, sched)
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
