package pipeline

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// slowCollector takes longer than the schedule's period and records how
// many of its runs overlap.
type slowCollector struct {
	took              time.Duration
	runs, now, maxNow atomic.Int32
}

func (c *slowCollector) Name() string { return "slow" }

func (c *slowCollector) Collect(ctx context.Context) ([]metric.Family, error) {
	c.runs.Add(1)
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.maxNow.Load()
		if n <= m || c.maxNow.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(c.took):
	case <-ctx.Done():
	}
	return nil, nil
}

func TestRunScheduleNeverOverlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := config.ParseSchedule("@every 1s")
		if err != nil {
			t.Fatal(err)
		}
		c := &slowCollector{took: 2500 * time.Millisecond}
		p := &Pipeline{
			Collectors:   []collect.Collector{c},
			Job:          "test",
			CycleTimeout: time.Minute,
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+time.Millisecond)
		defer cancel()
		p.RunSchedule(ctx, sched)

		if m := c.maxNow.Load(); m != 1 {
			t.Errorf("%d cycles ran at once, want 1", m)
		}
		// A cycle at start, then each tick that finds the previous one
		// done: at 0, 3, 6, 9 s (the ticks at 1, 2, 4, 5, 7, 8 s are skipped).
		if r := c.runs.Load(); r != 4 {
			t.Errorf("%d cycles in 10 s, want 4", r)
		}
	})
}

func TestRunScheduleRunsEveryTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, _ := config.ParseSchedule("*/2 * * * * *") // every 2 s, seconds field
		c := &slowCollector{took: 100 * time.Millisecond}
		p := &Pipeline{Collectors: []collect.Collector{c}, Job: "t", CycleTimeout: time.Minute,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		start := time.Now()
		// Line up with the schedule so the count does not depend on the
		// fake clock's start second.
		next := sched.Next(start)
		ctx, cancel := context.WithDeadline(t.Context(), next.Add(10*time.Second-time.Millisecond))
		defer cancel()
		p.RunSchedule(ctx, sched)
		// One at start, then at next, +2, +4, +6, +8.
		if r := c.runs.Load(); r != 6 {
			t.Errorf("%d cycles, want 6", r)
		}
	})
}
