package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
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
	web       web.Options
	hup       chan os.Signal
	watch     bool
}

func newRunCmd(app *kingpin.Application, f *flags) *runCmd {
	c := &runCmd{f: f, web: web.DefaultOptions}
	cmd := app.Command("run", `Collect and push. With --once: one cycle, then exit (Kubernetes CronJob). Without: a cycle at start, then one per global.schedule, never overlapping. SIGHUP (or POST /-/reload) reloads the configuration and secret files; SIGTERM or SIGINT stops scheduling, lets a running cycle finish for up to global.shutdown_timeout, cancels it then, and exits 0. A stage that does not stop when cancelled (a read blocked in the kernel) is abandoned 1s later and the exit code is 1: the process is gone at most shutdown_timeout + 3s after the signal.`)
	f.addConfigFlags(cmd)
	cmd.Flag("once", "Run one cycle and exit.").BoolVar(&c.once)
	cmd.Flag("web.listen-address", "Address to serve /metrics, /-/healthy, /-/ready and /-/reload on, e.g. :9555. Repeatable. Off by default; not with --once.").
		PlaceHolder("ADDR").StringsVar(&c.listen)
	cmd.Flag("kubernetes.watch", "The daemon keeps the Kubernetes objects in caches that watches keep current, instead of listing them every cycle; --no-kubernetes.watch lists, for a Role that grants list but not watch. A --once run always lists.").
		Default("true").BoolVar(&c.watch)
	cmd.Flag("web.config.file", "exporter-toolkit web configuration file for TLS and basic auth on the listener.").
		PlaceHolder("FILE").StringVar(&c.webConfig)
	d := web.DefaultOptions
	cmd.Flag("web.max-connections", "Most connections the listener keeps open at once, across its addresses (0: no cap). Past it, a new connection replaces the oldest idle one, or is closed when none is idle: idle clients cannot use up the file descriptors the cycles need.").
		Default(strconv.Itoa(d.MaxConnections)).IntVar(&c.web.MaxConnections)
	cmd.Flag("web.read-timeout", "How long a client may take to send a request (headers and body), and how long an idle keep-alive connection stays open. Responses must be written within "+d.WriteTimeout.String()+".").
		Default(d.ReadTimeout.String()).DurationVar(&c.web.ReadTimeout)
	return c
}

func (c *runCmd) name() string { return "run" }

func (c *runCmd) exec(logger *slog.Logger) error {
	if c.once && len(c.listen) > 0 {
		return usageError{fmt.Errorf("--web.listen-address: a --once run ends before anyone could scrape it; drop one of the two")}
	}
	if c.web.MaxConnections < 0 {
		return usageError{fmt.Errorf("--web.max-connections=%d: must be 0 (no cap) or more", c.web.MaxConnections)}
	}
	if c.web.ReadTimeout <= 0 {
		return usageError{fmt.Errorf("--web.read-timeout=%s: must be positive", c.web.ReadTimeout)}
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
	p, err := newPipeline(cfg, logger, c.f.logLevel)
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
	d.NoWatch = !c.watch
	if len(c.listen) > 0 {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), p.Metrics())
		srv, err := web.Listen(c.listen, c.webConfig, web.Handler(d, reg, logger), c.web, logger)
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
