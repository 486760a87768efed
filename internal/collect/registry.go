package collect

import (
	"fmt"
	"maps"
	"slices"

	"github.com/liftpush/liftpush/internal/collect/kubernetes"
	"github.com/liftpush/liftpush/internal/collect/scrape"
	"github.com/liftpush/liftpush/internal/collect/spacelift"
	"github.com/liftpush/liftpush/internal/config"
)

// Factory builds the collectors of one source from the configuration. It
// returns none when the source is not configured or is disabled.
type Factory func(cfg *config.Config, opts Options) ([]Collector, error)

// sources lists every source liftpush knows. Adding a source means adding
// its package and one entry here.
var sources = map[string]Factory{
	"kubernetes": func(cfg *config.Config, opts Options) ([]Collector, error) {
		if !cfg.Kubernetes.IsEnabled() {
			return nil, nil
		}
		c, err := kubernetes.New(cfg.Kubernetes, opts.Logger, opts.UserAgent)
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		return []Collector{c}, nil
	},
	"scrape": func(cfg *config.Config, opts Options) ([]Collector, error) {
		var cs []Collector
		for _, sc := range cfg.ScrapeConfigs {
			c, err := scrape.New(sc, opts.Logger, opts.UserAgent, opts.Now)
			if err != nil {
				return nil, fmt.Errorf("scrape job %q: %w", sc.JobName, err)
			}
			cs = append(cs, c)
		}
		return cs, nil
	},
	"spacelift": func(cfg *config.Config, opts Options) ([]Collector, error) {
		if !cfg.Spacelift.IsEnabled() {
			return nil, nil
		}
		c, err := spacelift.New(cfg.Spacelift, opts.Logger, opts.UserAgent)
		if err != nil {
			return nil, err
		}
		return []Collector{c}, nil
	},
}

// FromConfig builds every configured collector, sources in name order.
func FromConfig(cfg *config.Config, opts Options) ([]Collector, error) {
	var all []Collector
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		cs, err := sources[name](cfg, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	return all, nil
}
