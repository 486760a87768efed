// Package collect defines what a source of metrics is. Each source lives in
// its own subpackage; registry.go lists them explicitly.
package collect

import (
	"context"
	"log/slog"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

// Collector gathers one source's metrics once per cycle.
//
// Collect may be called from several goroutines for different collectors at
// once, but never concurrently for the same collector. It returns what it
// could gather even when it also returns an error: a partial answer is still
// pushed, with liftpush_collector_up 0 telling that it is partial. Samples
// with T == 0 are stamped with the cycle time by the caller. Built-in
// collectors leave out the job label; the pipeline adds global.job.
type Collector interface {
	Name() string
	Collect(ctx context.Context) ([]metric.Family, error)
	// Probe checks, cheaply and without collecting everything, that
	// Collect would work: credentials, URLs, RBAC (check-config --probe).
	// It returns what it found, or an error that says how to fix it;
	// neither holds a secret.
	Probe(ctx context.Context) (detail string, err error)
	// Close stops what the collector runs between cycles (discovery
	// watches). The collector is not used after.
	Close(ctx context.Context) error
	// SetShard gives the collector its part of the work from the next
	// Collect on (shard.Owner); a collector whose work cannot be split
	// ignores it, and the pipeline runs it on shard 0 only.
	SetShard(o shard.Owner)
	// Watch makes later Collects read a local copy of the source, kept
	// current until ctx ends, where the source can be watched (the
	// Kubernetes watch caches); others ignore it. Only a daemon calls
	// it: a run --once fetches everything once either way.
	Watch(ctx context.Context)
}

// Options is what every collector factory gets besides the config.
type Options struct {
	Logger *slog.Logger
	// UserAgent is "liftpush/<version>", sent by every HTTP client.
	UserAgent string
}
