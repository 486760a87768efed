package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
)

type collectCmd struct {
	f      *flags
	format string
}

func newCollectCmd(app *kingpin.Application, f *flags) *collectCmd {
	c := &collectCmd{f: f}
	cmd := app.Command("collect", "Collect once and print what would be pushed, in the exposition format, to stdout. Pushes nothing.")
	f.addConfigFlags(cmd)
	cmd.Flag("format", "Output format: text (Prometheus 0.0.4) or openmetrics.").Default("text").EnumVar(&c.format, "text", "openmetrics")
	return c
}

func (c *collectCmd) name() string { return "collect" }

func (c *collectCmd) exec(logger *slog.Logger) error {
	// Nothing is pushed: a destination's secret files need not be here.
	c.f.over.Files = config.CheckSourceFiles
	cfg, err := c.f.load(false)
	if err != nil {
		return err
	}
	if !cfg.HasSource() {
		return usageError{config.ErrNoSource}
	}
	// Nothing is pushed, so nothing is spooled: a running daemon may hold
	// the spool.
	cfg.Spool.Dir = ""
	// The cycle of a push, with stdout as its only destination.
	p, err := newPipeline(cfg, logger, c.f.logLevel, &pipeline.Printer{W: os.Stdout, OpenMetrics: c.format == "openmetrics"})
	if err != nil {
		return err
	}
	defer closePipeline(context.Background(), p, cfg, logger)
	if res := p.RunCycle(context.Background()); !res.OK() {
		return errFailed
	}
	return nil
}
