// Command liftpush collects metrics where Prometheus cannot scrape and
// pushes them through remote-write or a Pushgateway.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
)

// Exit codes (DESIGN.md section 2).
const (
	exitOK      = 0
	exitFailure = 1 // some collector or destination failed
	exitUsage   = 2 // usage or config error, before any work
)

func main() { os.Exit(run(os.Args[1:])) }

// usageError marks errors that must exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func run(args []string) int {
	app := kingpin.New("liftpush", `Collect metrics where Prometheus cannot scrape, and push them.

liftpush gathers metrics from Spacelift, Kubernetes and /metrics endpoints or
exposition files, then delivers them through Prometheus remote-write and/or a
Pushgateway. Run it once per Kubernetes CronJob ("run --once") or as a daemon
on a cron schedule ("run").

Exit codes: 0 everything collected and delivered; 1 some collector or
destination failed; 2 usage or configuration error, before any work.`)
	app.Version(version.Print("liftpush"))
	app.HelpFlag.Short('h')
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	mem := addMemLimitFlags(app)

	var f flags
	cmds := []command{
		newRunCmd(app, &f),
		newCollectCmd(app, &f),
		newPushCmd(app, &f),
		newCheckConfigCmd(app, &f),
		newVersionCmd(app),
	}
	chosen, err := app.Parse(stdinArg(args))
	if err != nil {
		fmt.Fprintf(os.Stderr, "liftpush: %s; see 'liftpush --help'\n", err)
		return exitUsage
	}
	if err := mem.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "liftpush: %s\n", err)
		return exitUsage
	}
	logger := promslog.New(logCfg)
	f.logLevel = logCfg.Level
	mem.apply(logger, "/")
	for _, c := range cmds {
		if c.name() == chosen {
			return exitCode(logger, c.exec(logger))
		}
	}
	return exitUsage
}

// stdinArg moves a lone "-" (standard input) behind "--": kingpin reads it
// as a flag with an empty name otherwise.
func stdinArg(args []string) []string {
	i := slices.Index(args, "-")
	if i < 0 || slices.Contains(args[:i], "--") {
		return args
	}
	return append(slices.Delete(slices.Clone(args), i, i+1), "--", "-")
}

// command is one subcommand; exec returns nil for exit 0.
type command interface {
	name() string
	exec(logger *slog.Logger) error
}

// errFailed is returned by a run that did its work but not all of it; the
// details were logged already.
var errFailed = errors.New("some collectors or destinations failed")

func exitCode(logger *slog.Logger, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "liftpush: %s\n", err)
		return exitUsage
	case errors.Is(err, errFailed):
		return exitFailure
	default:
		logger.Error("failed", "err", err)
		return exitFailure
	}
}
