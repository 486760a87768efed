package config

import (
	"fmt"

	"github.com/prometheus/common/promslog"
)

// RuntimeConfig is Prometheus' runtime block, with its meaning: both keys
// are applied at start and again on every reload.
type RuntimeConfig struct {
	// GoGC is the garbage collector's target percentage (GOGC); negative
	// turns the collector off, as in Go. Unset: $GOGC when set, else 75,
	// Prometheus' default, which keeps a daemon's heap about an eighth
	// smaller than Go's 100 for a little more CPU.
	GoGC *int `yaml:"gogc,omitempty"`
	// LogLevel overrides --log.level; unset, the flag's level applies.
	LogLevel string `yaml:"log_level,omitempty"`
}

// DefaultGoGC is Prometheus' GOGC, used when neither runtime.gogc nor $GOGC
// is set.
const DefaultGoGC = 75

// UnmarshalYAML names the block in a decoding error (a gogc that is not
// a number), which YAML alone reports by line.
func (c *RuntimeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type plain RuntimeConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return fmt.Errorf("runtime: %w; gogc is a whole percentage, log_level one of debug, info, warn, error", err)
	}
	return nil
}

func (c *RuntimeConfig) validate() error {
	if c.LogLevel != "" {
		if err := promslog.NewLevel().Set(c.LogLevel); err != nil {
			return fmt.Errorf("runtime.log_level: %w; use debug, info, warn or error", err)
		}
	}
	return nil
}
