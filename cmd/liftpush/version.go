package main

import (
	"fmt"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

type versionCmd struct{}

func newVersionCmd(app *kingpin.Application) versionCmd {
	app.Command("version", "Print the version and build information.")
	return versionCmd{}
}

func (versionCmd) name() string { return "version" }

func (versionCmd) exec(*slog.Logger) error {
	fmt.Println(version.Print("liftpush"))
	return nil
}
