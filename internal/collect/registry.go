package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"

	"github.com/liftpush/liftpush/internal/collect/kubernetes"
	"github.com/liftpush/liftpush/internal/collect/scrape"
	"github.com/liftpush/liftpush/internal/collect/spacelift"
	"github.com/liftpush/liftpush/internal/config"
)

// source is one kind of collector: the part of the configuration it reads,
// and how to build its collectors from the configuration. build returns
// none when the source is not configured or is disabled.
type source struct {
	section func(cfg *config.Config) any
	build   func(cfg *config.Config, opts Options) ([]Collector, error)
}

// sources lists every source liftpush knows. Adding a source means adding
// its package and one entry here.
var sources = map[string]source{
	"kubernetes": {
		// The labels its series are built with are part of what a
		// reload must not carry over unchanged.
		section: func(cfg *config.Config) any { return []any{cfg.Kubernetes, cfg.Global.SeriesDefaults()} },
		build: func(cfg *config.Config, opts Options) ([]Collector, error) {
			if !cfg.Kubernetes.IsEnabled() {
				return nil, nil
			}
			c, err := kubernetes.New(cfg.Kubernetes, cfg.Global.SeriesDefaults(), opts.Logger.With("collector", "kubernetes"), opts.UserAgent)
			if err != nil {
				return nil, fmt.Errorf("kubernetes: %w", err)
			}
			return []Collector{c}, nil
		},
	},
	"scrape": {
		section: func(cfg *config.Config) any { return cfg.ScrapeConfigs },
		build: func(cfg *config.Config, opts Options) ([]Collector, error) {
			var cs []Collector
			for _, sc := range cfg.ScrapeConfigs {
				c, err := scrape.New(sc, opts.Logger.With("collector", "scrape/"+sc.JobName), opts.UserAgent)
				if err != nil {
					return nil, fmt.Errorf("scrape job %q: %w", sc.JobName, err)
				}
				cs = append(cs, c)
			}
			return cs, nil
		},
	},
	"spacelift": {
		section: func(cfg *config.Config) any { return cfg.Spacelift },
		build: func(cfg *config.Config, opts Options) ([]Collector, error) {
			if !cfg.Spacelift.IsEnabled() {
				return nil, nil
			}
			c, err := spacelift.New(cfg.Spacelift, opts.Logger.With("collector", "spacelift"), opts.UserAgent)
			if err != nil {
				return nil, err
			}
			return []Collector{c}, nil
		},
	},
}

// Set is the collectors built from one configuration, kept by source so a
// reload can carry them over.
type Set struct {
	bySource map[string]built
}

type built struct {
	section    any
	collectors []Collector
}

// Build builds the collectors of cfg. A source whose configuration is the
// same as in prev keeps prev's collectors, with their state: a reload must
// not throw away a Spacelift token or a Kubernetes discovery cache for
// nothing. prev may be nil.
func Build(cfg *config.Config, opts Options, prev *Set) (*Set, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Set{bySource: map[string]built{}}
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		src := sources[name]
		sec := src.section(cfg)
		if prev != nil {
			if old, ok := prev.bySource[name]; ok && reflect.DeepEqual(old.section, sec) {
				s.bySource[name] = old
				continue
			}
		}
		cs, err := src.build(cfg, opts)
		if err != nil {
			return nil, err
		}
		s.bySource[name] = built{section: sec, collectors: cs}
	}
	return s, nil
}

// CloseDropped closes the collectors of s that next did not carry over;
// next nil closes them all.
func (s *Set) CloseDropped(ctx context.Context, next *Set) error {
	if s == nil {
		// A pipeline assembled by hand (tests) has no set.
		return nil
	}
	var errs []error
	for name, b := range s.bySource {
		if next != nil {
			if kept, ok := next.bySource[name]; ok && slices.Equal(kept.collectors, b.collectors) {
				continue
			}
		}
		for _, c := range b.collectors {
			if err := c.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("closing collector %s: %w", c.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// All returns the collectors, sources in name order.
func (s *Set) All() []Collector {
	var all []Collector
	for _, name := range slices.Sorted(maps.Keys(s.bySource)) {
		all = append(all, s.bySource[name].collectors...)
	}
	return all
}
