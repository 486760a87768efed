package pipeline

import (
	"context"

	"github.com/robfig/cron/v3"
)

// RunSchedule runs a cycle at once, then at every activation of sched, until
// ctx ends. A cycle that is still running when the next one is due makes
// that one be skipped, never overlapped: two cycles pushing the same series
// would race each other into out-of-order rejections.
func (p *Pipeline) RunSchedule(ctx context.Context, sched cron.Schedule) {
	running := make(chan struct{}, 1)
	cycle := func() {
		select {
		case running <- struct{}{}:
		default:
			p.Logger.Warn("previous cycle still running, skipping this one")
			return
		}
		defer func() { <-running }()
		p.RunCycle(ctx)
	}
	c := cron.New()
	c.Schedule(sched, cron.FuncJob(cycle))
	go cycle()
	c.Start()
	<-ctx.Done()
	// Wait for a running cycle; its context is already cancelled.
	<-c.Stop().Done()
	running <- struct{}{}
}
