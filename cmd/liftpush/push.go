package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/pipeline"
)

type pushCmd struct {
	f       *flags
	file    string
	labels  []string
	timeout time.Duration
	format  string
}

func newPushCmd(app *kingpin.Application, f *flags) *pushCmd {
	c := &pushCmd{f: f}
	cmd := app.Command("push", `Push an exposition file (Prometheus text or OpenMetrics) once, like "promtool push metrics". The file is read as it is sent, in bounded memory. There is no overall deadline: the push goes on while receivers accept data, and gives up on one that accepts nothing for global.cycle_timeout. Samples without a timestamp get the current time; series without a job label get global.job.`)
	f.addConfigFlags(cmd)
	cmd.Flag("label", "Label to set on every series, name=value. Repeatable; overrides the file's value.").
		PlaceHolder("NAME=VALUE").StringsVar(&c.labels)
	cmd.Flag("timeout", "A hard bound on the whole push, retries included (default: none; a stalled receiver is given up on after global.cycle_timeout).").DurationVar(&c.timeout)
	cmd.Flag("format", "Input format: auto (OpenMetrics if the input ends with # EOF), text or openmetrics.").
		Default("auto").EnumVar(&c.format, "auto", "text", "openmetrics")
	cmd.Arg("file", "Exposition file, or - for standard input.").Required().StringVar(&c.file)
	return c
}

func (c *pushCmd) name() string { return "push" }

func (c *pushCmd) exec(logger *slog.Logger) error {
	cfg, err := c.f.load(false)
	if err != nil {
		return err
	}
	if !cfg.HasDestination() {
		return usageError{config.ErrNoDestination}
	}
	set := map[string]string{}
	for _, kv := range c.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--label %q: want name=value", kv)}
		}
		set[k] = v
	}
	in, ctype, closeIn, err := exposition.Open(c.file, c.format)
	if err != nil {
		return usageError{err}
	}
	defer closeIn()
	// The file's series are all there is to push: no collector is built.
	cfg.Spacelift, cfg.Kubernetes, cfg.ScrapeConfigs = nil, nil, nil
	oneShot(cfg)
	p, err := newPipeline(cfg, logger, c.f.logLevel)
	if err != nil {
		return err
	}
	sigctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer closePipeline(sigctx, p, cfg, logger)
	var ok bool
	err = pipeline.Bounded(sigctx, time.Duration(cfg.Global.ShutdownTimeout), func(ctx context.Context) {
		if c.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
			defer cancel()
		}
		ok = p.Push(ctx, pipeline.PushInput{
			Name: c.file, R: in, ContentType: ctype, Labels: set,
			Stall: time.Duration(cfg.Global.CycleTimeout),
		}).OK()
	})
	if err != nil {
		logger.Error("exiting without the push", "shutdown_timeout", cfg.Global.ShutdownTimeout, "err", err)
		return errFailed
	}
	if !ok {
		return errFailed
	}
	return nil
}
