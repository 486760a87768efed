package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

func userAgent() string { return "liftpush/" + version.Version }

// newPipeline wires collectors and destinations from a validated config;
// level is logger's, which runtime.log_level sets; dests, when given,
// replace the configured destinations.
func newPipeline(cfg *config.Config, logger *slog.Logger, level *promslog.Level, dests ...push.Destination) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(cfg, pipeline.Options{Logger: logger, LogLevel: level, UserAgent: userAgent(), Destinations: dests})
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
//
// It waits for the closing shutdown_timeout at most, StuckGrace/2 once stop
// has ended (SIGTERM already had its shutdown_timeout), and StuckGrace/2
// more for it to notice: past that, the process exits without it, since a
// stage abandoned at SIGTERM may hold what closing waits for.
func closePipeline(stop context.Context, p *pipeline.Pipeline, cfg *config.Config, logger *slog.Logger) {
	within := time.Duration(cfg.Global.ShutdownTimeout)
	if stop.Err() != nil {
		within = pipeline.StuckGrace / 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	t := time.NewTimer(within + pipeline.StuckGrace/2)
	defer t.Stop()
	select {
	case err := <-closed:
		if err != nil {
			logger.Error("closing the destinations", "err", err)
		}
	case <-t.C:
		logger.Error("closing the destinations did not finish within shutdown_timeout; exiting without it")
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
