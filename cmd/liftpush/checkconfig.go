package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
)

type checkConfigCmd struct {
	f            *flags
	probe        bool
	probeTimeout time.Duration
}

func newCheckConfigCmd(app *kingpin.Application, f *flags) *checkConfigCmd {
	c := &checkConfigCmd{f: f}
	cmd := app.Command("check-config", "Validate the configuration (file, flags and environment) and print the effective config, secrets shown as <secret>. Exit 2 when invalid. With --probe, check each configured part live instead of printing the config. Exit 1 when a probe fails.")
	f.addConfigFlags(cmd)
	cmd.Flag("probe", "After validating, make one cheap live check per configured part, in parallel, and print one line per part: OK or FAIL with the reason. Nothing is pushed: Spacelift exchanges its API key only, Kubernetes lists one item of each resource, each scrape target is fetched once, remote-write gets an empty WriteRequest, a Pushgateway GET /-/ready and /api/v1/status.").
		BoolVar(&c.probe)
	cmd.Flag("probe.timeout", "Time each probe may take.").Default("10s").DurationVar(&c.probeTimeout)
	cmd.Flag("syntax-only", "Check the configuration alone, without reading the secret, CA and certificate files it names: for a config meant for another machine, such as a pod's.").
		Action(func(*kingpin.ParseContext) error { f.over.Files = config.CheckNoFiles; return nil }).Bool()
	return c
}

func (c *checkConfigCmd) name() string { return "check-config" }

func (c *checkConfigCmd) exec(logger *slog.Logger) error {
	cfg, err := c.f.load(true)
	if err != nil {
		return err
	}
	// Validate checked that the directory could be created; check-config
	// creates nothing, so it says what run will do.
	if note := cfg.Spool.DirNote(); note != "" {
		logger.Info(note)
	}
	if !c.probe {
		for _, w := range cfg.Warnings() {
			logger.Warn(w)
		}
		fmt.Fprint(os.Stdout, cfg.String())
		fmt.Fprintln(os.Stderr, "SUCCESS: configuration is valid")
		return nil
	}
	res, err := pipeline.Probe(context.Background(), cfg, pipeline.Options{Logger: logger, UserAgent: userAgent()}, c.probeTimeout)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintln(os.Stderr, "SUCCESS: configuration is valid; probing each part")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tRESULT\tDETAIL")
	failed := false
	for _, r := range res {
		result, detail := "OK", r.Detail
		if r.Err != nil {
			result, detail, failed = "FAIL", r.Err.Error(), true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Part, result, strings.ReplaceAll(detail, "\n", "; "))
	}
	tw.Flush()
	if failed {
		return errFailed
	}
	return nil
}
