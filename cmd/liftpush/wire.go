package main

import (
	"log/slog"

	"github.com/prometheus/common/version"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
)

func userAgent() string { return "liftpush/" + version.Version }

// newPipeline wires collectors and destinations from a validated config.
func newPipeline(cfg *config.Config, logger *slog.Logger) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(cfg, pipeline.Options{Logger: logger, UserAgent: userAgent()})
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}
