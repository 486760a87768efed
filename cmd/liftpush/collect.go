package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
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
	cfg, err := c.f.load(false)
	if err != nil {
		return err
	}
	if !cfg.HasSource() {
		return usageError{config.ErrNoSource}
	}
	p, err := newPipeline(cfg, logger)
	if err != nil {
		return err
	}
	p.Destinations = nil
	ctx, cancel := context.WithTimeout(context.Background(), p.CycleTimeout)
	defer cancel()
	start := time.Now()
	outcomes := p.Collect(ctx)
	var all []metric.Family
	for _, g := range p.Groups(outcomes, start) {
		all = append(all, g.Families...)
		all = append(all, g.Self...)
	}
	if err := metric.WriteText(os.Stdout, all, c.format == "openmetrics"); err != nil {
		return fmt.Errorf("writing exposition: %w", err)
	}
	for _, o := range outcomes {
		if o.Err != nil {
			return errFailed
		}
	}
	return nil
}
