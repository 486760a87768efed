package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/common/version"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

func userAgent() string { return "liftpush/" + version.Version }

// newPipeline wires collectors and destinations from a validated config;
// dests, when given, replace the configured destinations.
func newPipeline(cfg *config.Config, logger *slog.Logger, dests ...push.Destination) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(cfg, pipeline.Options{Logger: logger, UserAgent: userAgent(), Destinations: dests})
	if errors.Is(err, spool.ErrBusy) || errors.Is(err, spool.ErrUnusable) {
		// Another run still holds the spool, or a dir in it cannot be
		// used (not writable, a symlink): exit 1, as a failed delivery
		// would; the config is fine.
		return nil, err
	}
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

// closePipeline closes p at the end of a command that ends the process
// (run --once, push): the spool's removals become durable, so a power cut
// cannot bring back what was delivered.
func closePipeline(p *pipeline.Pipeline, cfg *config.Config, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Global.ShutdownTimeout))
	defer cancel()
	if err := p.Close(ctx); err != nil {
		logger.Error("closing the destinations", "err", err)
	}
}

// oneShot readies cfg for a process that delivers once: the Pushgateway's
// delete_on_shutdown is the daemon's, and would delete what this run came
// to push.
func oneShot(cfg *config.Config) {
	for _, pg := range cfg.Pushgateway {
		pg.DeleteOnShutdown = false
	}
}
