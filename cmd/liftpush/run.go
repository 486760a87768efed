package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
)

type runCmd struct {
	f    *flags
	once bool
}

func newRunCmd(app *kingpin.Application, f *flags) *runCmd {
	c := &runCmd{f: f}
	cmd := app.Command("run", `Collect and push. With --once: one cycle, then exit (Kubernetes CronJob). Without: a cycle at start, then one per global.schedule, never overlapping, until SIGINT or SIGTERM.`)
	f.addConfigFlags(cmd)
	cmd.Flag("once", "Run one cycle and exit.").BoolVar(&c.once)
	return c
}

func (c *runCmd) name() string { return "run" }

func (c *runCmd) exec(logger *slog.Logger) error {
	cfg, err := c.f.load(true)
	if err != nil {
		return err
	}
	p, err := newPipeline(cfg, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.once {
		if res := p.RunCycle(ctx); !res.OK() {
			return errFailed
		}
		return nil
	}
	sched, err := config.ParseSchedule(cfg.Global.Schedule)
	if err != nil {
		return usageError{err}
	}
	logger.Info("starting", "schedule", cfg.Global.Schedule, "collectors", len(p.Collectors), "destinations", len(p.Destinations))
	p.RunSchedule(ctx, sched)
	logger.Info("stopped")
	return nil
}
