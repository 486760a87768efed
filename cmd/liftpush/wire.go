package main

import (
	"errors"
	"log/slog"

	"github.com/prometheus/common/version"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/spool"
)

func userAgent() string { return "liftpush/" + version.Version }

// newPipeline wires collectors and destinations from a validated config.
func newPipeline(cfg *config.Config, logger *slog.Logger) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(cfg, pipeline.Options{Logger: logger, UserAgent: userAgent()})
	if errors.Is(err, spool.ErrBusy) {
		// Another run still holds the spool: exit 1, as a failed
		// delivery would; the config is fine.
		return nil, err
	}
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}
