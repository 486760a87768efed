package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

type checkConfigCmd struct{ f *flags }

func newCheckConfigCmd(app *kingpin.Application, f *flags) *checkConfigCmd {
	c := &checkConfigCmd{f: f}
	cmd := app.Command("check-config", "Validate the configuration (file, flags and environment) and print the effective config, secrets shown as <secret>. Exit 2 when invalid.")
	f.addConfigFlags(cmd)
	return c
}

func (c *checkConfigCmd) name() string { return "check-config" }

func (c *checkConfigCmd) exec(logger *slog.Logger) error {
	cfg, err := c.f.load(true)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}
	fmt.Fprint(os.Stdout, cfg.String())
	fmt.Fprintln(os.Stderr, "SUCCESS: configuration is valid")
	return nil
}
