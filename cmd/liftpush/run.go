package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	// The run's context is cancelled by now; shutdown work (the
	// Pushgateway's delete_on_shutdown) gets a short one of its own.
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		logger.Error("shutdown", "err", err)
	}
	logger.Info("stopped")
	return nil
}
