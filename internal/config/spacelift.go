package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// SpaceliftConfig configures the Spacelift collector. The keys and their
// meaning follow Spacelift's own exporter (promex), so that its Kubernetes
// Secret keeps working (DESIGN.md sections 2 and 3).
type SpaceliftConfig struct {
	Enabled  *bool  `yaml:"enabled,omitempty"`
	Endpoint string `yaml:"endpoint"`
	APIKeyID string `yaml:"api_key_id"`
	// APIKeySecret is discouraged: it puts the secret in the file.
	APIKeySecret commoncfg.Secret `yaml:"api_key_secret,omitempty"`
	// APIKeySecretFile is re-read at every token exchange, so a rotating
	// secret (a projected service-account token used for OIDC) keeps working.
	APIKeySecretFile string `yaml:"api_key_secret_file,omitempty"`
	// CAFile adds a CA to the system pool (self-hosted Spacelift behind a
	// private CA); the system CAs stay trusted.
	CAFile string `yaml:"ca_file,omitempty"`
	// InsecureHTTP allows an http:// endpoint, for tests and labs only.
	InsecureHTTP bool           `yaml:"insecure_http,omitempty"`
	Timeout      model.Duration `yaml:"timeout"`
	// Stacks adds spacelift_stack_state, one series per stack, from a
	// paginated listing: one more request per 50 stacks a cycle (issue 13).
	// Off by default, as listing stacks is what made Spacelift's exporter
	// refuse per-stack series.
	Stacks bool `yaml:"stacks,omitempty"`
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

// Validate checks the block after flags and environment variables were
// applied. A disabled block is not checked: "enabled: false" must switch a
// half-filled block off without an error. Each message names the key, the
// value and the fix; secrets are never echoed.
func (c *SpaceliftConfig) Validate() error {
	if !c.IsEnabled() {
		return nil
	}
	var errs []error
	if err := c.validateEndpoint(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.APIKeyID) == "" {
		errs = append(errs, errors.New("api_key_id: missing; set the ID of a Spacelift API key (--spacelift.api-key-id, LIFTPUSH_SPACELIFT_API_KEY_ID or SPACELIFT_PROMEX_API_KEY_ID)"))
	}
	switch {
	case c.APIKeySecret == "" && c.APIKeySecretFile == "":
		errs = append(errs, errors.New("api_key_secret_file: missing; set api_key_secret_file (--spacelift.api-key-secret-file, LIFTPUSH_SPACELIFT_API_KEY_SECRET_FILE) to a file holding the API key secret, or api_key_secret (LIFTPUSH_SPACELIFT_API_KEY_SECRET)"))
	case c.APIKeySecret != "" && c.APIKeySecretFile != "":
		errs = append(errs, fmt.Errorf("api_key_secret and api_key_secret_file (%q) are both set; keep only one, preferably api_key_secret_file", c.APIKeySecretFile))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s; the default is %s", c.Timeout, DefaultSpaceliftConfig.Timeout))
	}
	return errors.Join(errs...)
}

func (c *SpaceliftConfig) validateEndpoint() error {
	const want = "your account's URL, e.g. https://acme.app.spacelift.io (--spacelift.endpoint, LIFTPUSH_SPACELIFT_ENDPOINT or SPACELIFT_PROMEX_API_ENDPOINT)"
	if c.Endpoint == "" {
		return fmt.Errorf("endpoint: missing; set %s", want)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("endpoint: %q is not a URL (%w); set %s", c.Endpoint, err, want)
	}
	if u.User != nil {
		// Do not echo the value: it holds credentials.
		return errors.New("endpoint: must not contain a user or password; the API key goes in api_key_id and api_key_secret_file")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.InsecureHTTP:
	case u.Scheme == "http":
		return fmt.Errorf("endpoint: %q uses plain http, which would send the API key secret unencrypted; use https://, or set insecure_http: true for a test or lab setup", c.Endpoint)
	default:
		return fmt.Errorf("endpoint: %q must be an absolute https:// URL; set %s", c.Endpoint, want)
	}
	if u.Host == "" {
		return fmt.Errorf("endpoint: %q has no host; set %s", c.Endpoint, want)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("endpoint: %q must not have a query or fragment; liftpush posts to <endpoint>/graphql", c.Endpoint)
	}
	return nil
}
