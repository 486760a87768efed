package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/web"
)

type runCmd struct {
	f         *flags
	once      bool
	listen    []string
	webConfig string
	hup       chan os.Signal
}

func newRunCmd(app *kingpin.Application, f *flags) *runCmd {
	c := &runCmd{f: f}
	cmd := app.Command("run", `Collect and push. With --once: one cycle, then exit (Kubernetes CronJob). Without: a cycle at start, then one per global.schedule, never overlapping. SIGHUP (or POST /-/reload) reloads the configuration and secret files; SIGTERM or SIGINT stops scheduling, lets a running cycle finish for up to global.shutdown_timeout, cancels it then, and exits 0. A stage that does not stop when cancelled (a read blocked in the kernel) is abandoned 1s later and the exit code is 1: the process is gone at most shutdown_timeout + 3s after the signal.`)
	f.addConfigFlags(cmd)
	cmd.Flag("once", "Run one cycle and exit.").BoolVar(&c.once)
	cmd.Flag("web.listen-address", "Address to serve /metrics, /-/healthy, /-/ready and /-/reload on, e.g. :9555. Repeatable. Off by default; not with --once.").
		PlaceHolder("ADDR").StringsVar(&c.listen)
	cmd.Flag("web.config.file", "exporter-toolkit web configuration file for TLS and basic auth on the listener.").
		PlaceHolder("FILE").StringVar(&c.webConfig)
	return c
}

func (c *runCmd) name() string { return "run" }

func (c *runCmd) exec(logger *slog.Logger) error {
	if c.once && len(c.listen) > 0 {
		return usageError{fmt.Errorf("--web.listen-address: a --once run ends before anyone could scrape it; drop one of the two")}
	}
	if !c.once {
		// Before anything slow: SIGHUP's default action kills.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		c.hup = hup
	}
	cfg, err := c.f.load(true)
	if err != nil {
		return err
	}
	if c.once {
		oneShot(cfg)
	}
	p, err := newPipeline(cfg, logger)
	if err != nil {
		return err
	}
	p.SetReload(true, time.Now())
	sigctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.once {
		defer closePipeline(sigctx, p, cfg, logger)
		var ok bool
		err := pipeline.Bounded(sigctx, time.Duration(cfg.Global.ShutdownTimeout), func(ctx context.Context) {
			ok = p.RunCycle(ctx).OK()
		})
		if err != nil {
			logger.Error("exiting without the cycle", "shutdown_timeout", cfg.Global.ShutdownTimeout, "err", err)
			return errFailed
		}
		if !ok {
			return errFailed
		}
		return nil
	}
	d, err := pipeline.NewDaemon(p, func() (*config.Config, error) { return c.f.load(true) })
	if err != nil {
		closePipeline(context.Background(), p, cfg, logger)
		return usageError{err}
	}
	if len(c.listen) > 0 {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), p.Metrics())
		srv, err := web.Listen(c.listen, c.webConfig, web.Handler(d, reg, logger), logger)
		if err != nil {
			return usageError{err}
		}
		defer func() {
			// Requests in progress get a moment; shutdown_timeout was
			// spent on the cycle, and the process must end (issue 22).
			ctx, cancel := context.WithTimeout(context.Background(), pipeline.StuckGrace)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
	}
	go func() {
		for range c.hup {
			// The outcome is logged by the reload itself.
			_ = d.Reload()
		}
	}()
	attrs := []any{"schedule", cfg.Global.Schedule, "collectors", len(p.Collectors())}
	for _, dst := range p.Destinations() {
		attrs = append(attrs, slog.String("destination."+dst.Name(), dst.Endpoint()))
	}
	if len(c.listen) > 0 {
		attrs = append(attrs, "listen", c.listen)
	}
	logger.Info("starting", attrs...)
	err = d.Run(sigctx)
	logger.Info("stopped")
	if err != nil {
		// Logged by the daemon: a stage was abandoned.
		return errFailed
	}
	return nil
}
