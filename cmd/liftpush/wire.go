package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushgateway"
	"github.com/liftpush/liftpush/internal/push/remotewrite"
)

func userAgent() string { return "liftpush/" + version.Version }

// destinations builds every configured destination.
func destinations(cfg *config.Config, logger *slog.Logger) ([]push.Destination, error) {
	var ds []push.Destination
	for _, rw := range cfg.RemoteWrite {
		d, err := remotewrite.New(rw, logger, userAgent())
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	for _, pg := range cfg.Pushgateway {
		d, err := pushgateway.New(pg, logger, userAgent())
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// newPipeline wires collectors and destinations from a validated config.
func newPipeline(cfg *config.Config, logger *slog.Logger) (*pipeline.Pipeline, error) {
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}
	cs, err := collect.FromConfig(cfg, collect.Options{Logger: logger, UserAgent: userAgent(), Now: time.Now})
	if err != nil {
		return nil, usageError{err}
	}
	ds, err := destinations(cfg, logger)
	if err != nil {
		return nil, usageError{err}
	}
	return &pipeline.Pipeline{
		Collectors:     cs,
		Destinations:   ds,
		Job:            cfg.Global.Job,
		ExternalLabels: labels.FromMap(cfg.Global.ExternalLabels),
		CycleTimeout:   time.Duration(cfg.Global.CycleTimeout),
		Logger:         logger,
	}, nil
}
