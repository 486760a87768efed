package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/liftpush/liftpush/internal/metric"
)

// Pushgateway request methods (DESIGN.md section 5).
const (
	// MethodPut replaces a group on every successful collection: series
	// that vanished from the source vanish from the Pushgateway.
	MethodPut = "put"
	// MethodPost replaces only the metric names present in the body, so
	// names that vanished stay with their last value.
	MethodPost = "post"
)

// Pushgateway body formats.
const (
	// FormatText is the Prometheus text format 0.0.4.
	FormatText = "text"
	// FormatProtobuf is length-delimited io.prometheus.client.MetricFamily.
	FormatProtobuf = "protobuf"
)

// PushgatewayConfig configures one Pushgateway destination.
type PushgatewayConfig struct {
	// Name labels the destination's self-metrics and log lines. Left
	// empty, Config.SetDefaults derives it from the URL:
	// pushgateway/<host><path>.
	Name string         `yaml:"name,omitempty"`
	URL  *commoncfg.URL `yaml:"url"`
	// Job is the job label of the built-in collectors' groups; left
	// empty, SetDefaults takes global.job. Scrape targets keep their own
	// job.
	Job string `yaml:"job,omitempty"`
	// Grouping labels are added to the grouping key of every group this
	// destination pushes.
	Grouping map[string]string `yaml:"grouping,omitempty"`
	Method   string            `yaml:"method"`
	Format   string            `yaml:"format"`
	// Timeout is this destination's budget inside the cycle; 0 means
	// whatever is left of global.cycle_timeout.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// DeleteOnShutdown deletes the pushed groups when a daemon ("run"
	// without --once) stops gracefully. Never in --once mode: a CronJob
	// exits after every run and would wipe its own data.
	DeleteOnShutdown bool                       `yaml:"delete_on_shutdown,omitempty"`
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`

	deprecated []string
}

// DefaultPushgatewayConfig fills what a pushgateway entry leaves out.
//
// Text is the default format. Measured against the real Pushgateway 1.5.1
// with one group of 10,001 series (BenchmarkPushFormats in
// internal/push/pushgateway), a push takes the same wall time in both
// formats (39-52 ms text, 40-48 ms protobuf on 2 shared cores: the
// Pushgateway's own parse and consistency check dominate); protobuf is 26%
// smaller on the wire (553 kB vs 746 kB) but costs liftpush 5x the encoding
// time and 100x the allocations (6.4 ms vs 1.3 ms). Text also reads in a
// proxy log or with curl. Choose protobuf for a metered link.
var DefaultPushgatewayConfig = PushgatewayConfig{
	Method:           MethodPut,
	Format:           FormatText,
	HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
}

// NewPushgateway returns a pushgateway entry for url with every default set;
// the --pushgateway.url flag uses it.
func NewPushgateway(u string) (*PushgatewayConfig, error) {
	c := DefaultPushgatewayConfig
	c.URL = &commoncfg.URL{}
	if err := c.URL.UnmarshalYAML(func(v any) error { *(v.(*string)) = u; return nil }); err != nil {
		return nil, fmt.Errorf("--pushgateway.url %q: %w", u, err)
	}
	return &c, nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *PushgatewayConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultPushgatewayConfig
	type plain PushgatewayConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	c.deprecated = deprecatedAuthKeys(&c.HTTPClientConfig)
	return c.HTTPClientConfig.Validate()
}

// Deprecated lists the legacy keys the entry used (bearer_token,
// bearer_token_file); they still work, but should be replaced.
func (c *PushgatewayConfig) Deprecated() []string { return c.deprecated }

// reservedGrouping are the grouping key labels liftpush sets itself: job
// and collector name a built-in collector's group, job and instance a
// scrape target's (DESIGN.md section 5).
var reservedGrouping = []string{model.JobLabel, model.InstanceLabel, "collector"}

// Validate checks the entry against the global block, and refuses grouping
// labels that would fight with the labels liftpush sets. It changes
// nothing: SetDefaults fills the job and lowercases the method.
func (c *PushgatewayConfig) Validate(global GlobalConfig) error {
	var errs []error
	if err := checkHTTPURL("url", c.URL, "the Pushgateway's base URL, e.g. http://pushgateway:9091"); err != nil {
		errs = append(errs, err)
	} else if strings.Contains(c.URL.Path, "/metrics/") || strings.HasSuffix(c.URL.Path, "/metrics") {
		errs = append(errs, fmt.Errorf("url: %q includes the /metrics path; give the base URL only, liftpush adds /metrics/job/... itself", c.URL.Redacted()))
	}
	if c.Method != MethodPut && c.Method != MethodPost {
		errs = append(errs, fmt.Errorf("method: %q is not supported; use %q (replace each group) or %q (replace only the metric names pushed)", c.Method, MethodPut, MethodPost))
	}
	if c.Format != FormatText && c.Format != FormatProtobuf {
		errs = append(errs, fmt.Errorf("format: %q is not supported; use %q or %q", c.Format, FormatText, FormatProtobuf))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must not be negative, got %s", c.Timeout))
	} else if global.CycleTimeout > 0 && time.Duration(c.Timeout) > time.Duration(global.CycleTimeout) {
		errs = append(errs, fmt.Errorf("timeout: %s is longer than global.cycle_timeout %s; a destination's budget lives inside the cycle", c.Timeout, global.CycleTimeout))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Grouping)) {
		value := c.Grouping[name]
		if slices.Contains(reservedGrouping, name) {
			errs = append(errs, fmt.Errorf("grouping: label %s is set by liftpush (job and collector for built-in collectors, job and instance for scrape targets); use job: to change the job, or another label name", metric.Quote(name)))
			continue
		}
		if err := checkLabel(name, value); err != nil {
			errs = append(errs, fmt.Errorf("grouping: %w", err))
			continue
		}
		// The Pushgateway overwrites a pushed label with the grouping
		// key's value; a different external label would be silently
		// replaced, so refuse the ambiguity up front.
		if ext, ok := global.ExternalLabels[name]; ok && ext != value {
			errs = append(errs, fmt.Errorf("grouping: label %s=%s collides with global.external_labels %s=%s; the Pushgateway would overwrite one with the other, use the same value or drop one", metric.Quote(name), metric.Quote(value), metric.Quote(name), metric.Quote(ext)))
		}
	}
	if err := validateHTTPClient(c.HTTPClientConfig); err != nil {
		errs = append(errs, err)
	}
	var set []string
	if c.HTTPClientConfig.BasicAuth != nil {
		set = append(set, "basic_auth")
	}
	if c.HTTPClientConfig.Authorization != nil || c.HTTPClientConfig.BearerToken != "" || c.HTTPClientConfig.BearerTokenFile != "" {
		set = append(set, "authorization")
	}
	if c.HTTPClientConfig.OAuth2 != nil {
		set = append(set, "oauth2")
	}
	if err := userinfoConflict(c.URL, set); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deprecatedAuthKeys names the legacy bearer token keys set in h. It must
// run before h.Validate, which converts them into authorization.
func deprecatedAuthKeys(h *commoncfg.HTTPClientConfig) []string {
	var keys []string
	if h.BearerToken != "" {
		keys = append(keys, "bearer_token")
	}
	if h.BearerTokenFile != "" {
		keys = append(keys, "bearer_token_file")
	}
	return keys
}
