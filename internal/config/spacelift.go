package config

import (
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// SpaceliftConfig configures the Spacelift collector.
type SpaceliftConfig struct {
	Enabled          *bool            `yaml:"enabled,omitempty"`
	Endpoint         string           `yaml:"endpoint"`
	APIKeyID         string           `yaml:"api_key_id"`
	APIKeySecret     commoncfg.Secret `yaml:"api_key_secret,omitempty"`
	APIKeySecretFile string           `yaml:"api_key_secret_file,omitempty"`
	CAFile           string           `yaml:"ca_file,omitempty"`
	InsecureHTTP     bool             `yaml:"insecure_http,omitempty"`
	Timeout          model.Duration   `yaml:"timeout"`
}

// DefaultSpaceliftConfig fills what a spacelift block leaves out.
var DefaultSpaceliftConfig = SpaceliftConfig{Timeout: model.Duration(10 * time.Second)}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *SpaceliftConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSpaceliftConfig
	type plain SpaceliftConfig
	return unmarshal((*plain)(c))
}

// IsEnabled reports whether the block is present and not switched off.
func (c *SpaceliftConfig) IsEnabled() bool {
	return c != nil && (c.Enabled == nil || *c.Enabled)
}

// SetDirectory resolves relative file paths against dir.
func (c *SpaceliftConfig) SetDirectory(dir string) {
	c.APIKeySecretFile = commoncfg.JoinDir(dir, c.APIKeySecretFile)
	c.CAFile = commoncfg.JoinDir(dir, c.CAFile)
}

// Validate checks the block. The Spacelift issue fills this in.
func (c *SpaceliftConfig) Validate() error { return nil }
