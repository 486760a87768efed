package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// ScrapeConfig is the subset of Prometheus' scrape_config that makes sense
// for a push job, so a job can be pasted from prometheus.yml.
type ScrapeConfig struct {
	JobName              string                     `yaml:"job_name"`
	Scheme               string                     `yaml:"scheme,omitempty"`
	MetricsPath          string                     `yaml:"metrics_path,omitempty"`
	Params               url.Values                 `yaml:"params,omitempty"`
	ScrapeTimeout        model.Duration             `yaml:"scrape_timeout,omitempty"`
	ScrapeProtocols      []string                   `yaml:"scrape_protocols,omitempty"`
	HonorLabels          bool                       `yaml:"honor_labels"`
	HonorTimestamps      bool                       `yaml:"honor_timestamps"`
	StaticConfigs        []StaticConfig             `yaml:"static_configs"`
	MetricRelabelConfigs []*relabel.Config          `yaml:"metric_relabel_configs,omitempty"`
	HTTPClientConfig     commoncfg.HTTPClientConfig `yaml:",inline"`

	// The histogram keys, with Prometheus 3.16's meaning and defaults
	// (exposition.ParseOptions says what each does).
	ScrapeNativeHistograms         *bool `yaml:"scrape_native_histograms,omitempty"`
	AlwaysScrapeClassicHistograms  bool  `yaml:"always_scrape_classic_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB bool  `yaml:"convert_classic_histograms_to_nhcb,omitempty"`

	deprecated []string
}

// Deprecated lists the legacy keys the job used (bearer_token,
// bearer_token_file, as in Chainloop's and older Prometheus docs). They
// still work: prometheus/common turns them into authorization.
func (c *ScrapeConfig) Deprecated() []string { return c.deprecated }

// ScrapeProtocols are the exposition formats liftpush can negotiate, named
// as in Prometheus.
var ScrapeProtocols = []string{"PrometheusProto", "OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"}

// StaticConfig is a static target group.
type StaticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// DefaultScrapeConfig holds Prometheus' defaults.
var DefaultScrapeConfig = ScrapeConfig{
	Scheme:           "http",
	MetricsPath:      "/metrics",
	ScrapeTimeout:    model.Duration(10 * time.Second),
	HonorTimestamps:  true,
	ScrapeProtocols:  []string{"OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"},
	HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *ScrapeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultScrapeConfig
	type plain ScrapeConfig
	var job string
	if err := unmarshal((*plain)(c)); err != nil {
		if c.JobName != "" {
			job = fmt.Sprintf("job %q", c.JobName)
		}
		return blockError("scrape_configs", job, err)
	}
	c.deprecated = deprecatedAuthKeys(&c.HTTPClientConfig)
	if c.ScrapeNativeHistograms != nil && *c.ScrapeNativeHistograms && len(c.ScrapeProtocols) > 0 && &c.ScrapeProtocols[0] == &DefaultScrapeConfig.ScrapeProtocols[0] {
		// As in Prometheus: a job that scrapes native histograms and
		// lists no protocols asks for protobuf first, the one format
		// that carries them (the decoder always allocates a listed one).
		c.ScrapeProtocols = append([]string{"PrometheusProto"}, c.ScrapeProtocols...)
	}
	if c.Scheme == "file" && len(c.StaticConfigs) == 0 {
		// A file has no host to list; its one target is the file itself.
		c.StaticConfigs = []StaticConfig{{Targets: []string{""}}}
	}
	if c.JobName != "" {
		job = fmt.Sprintf("job %q", c.JobName)
	}
	return blockError("scrape_configs", job, c.HTTPClientConfig.Validate())
}

// NewScrapeFromURL builds a one-target scrape job from a URL given on the
// command line (--scrape.url). The job is named after the host, or "file"
// for file:// URLs.
func NewScrapeFromURL(raw string) (*ScrapeConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--scrape.url %q: %w", raw, err)
	}
	c := DefaultScrapeConfig
	switch u.Scheme {
	case "http", "https":
		c.Scheme, c.MetricsPath = u.Scheme, u.Path
		if c.MetricsPath == "" {
			c.MetricsPath = "/metrics"
		}
		if u.RawQuery != "" {
			c.Params = u.Query()
		}
		c.JobName = u.Hostname()
		c.StaticConfigs = []StaticConfig{{Targets: []string{u.Host}}}
		if u.User != nil {
			// The target URL is rebuilt from host and path, which would
			// drop user:password silently and leave a puzzling 401.
			pw, _ := u.User.Password()
			c.HTTPClientConfig.BasicAuth = &commoncfg.BasicAuth{Username: u.User.Username(), Password: commoncfg.Secret(pw)}
		}
	case "file":
		if u.Host != "" {
			// file://dir/x.prom reads /x.prom: the first segment is a host.
			return nil, fmt.Errorf("--scrape.url %q: a file URL needs an absolute path, e.g. file:///var/lib/metrics.prom", raw)
		}
		c.Scheme, c.MetricsPath = "file", u.Path
		c.JobName = "file"
		c.StaticConfigs = []StaticConfig{{Targets: []string{""}}}
	default:
		return nil, fmt.Errorf("--scrape.url %q: scheme must be http, https or file", raw)
	}
	return &c, nil
}

func (c *Config) validateScrape() []error {
	var errs []error
	jobs := map[string]int{}
	for i, s := range c.ScrapeConfigs {
		key := fmt.Sprintf("scrape_configs[%d]", i)
		if s.JobName == "" {
			errs = append(errs, fmt.Errorf("%s.job_name: missing; every scrape job needs a name, it becomes the job label", key))
		} else if prev, ok := jobs[s.JobName]; ok {
			errs = append(errs, fmt.Errorf("%s.job_name: %q is already used by scrape_configs[%d]; job names must be unique", key, s.JobName, prev))
		} else {
			jobs[s.JobName] = i
		}
		if err := s.validate(); err != nil {
			errs = append(errs, prefixEach(fmt.Sprintf("%s (job %q): ", key, s.JobName), err))
		}
	}
	return errs
}

func (c *ScrapeConfig) validate() error {
	var errs []error
	switch c.Scheme {
	case "http", "https":
		for i, sc := range c.StaticConfigs {
			for j, t := range sc.Targets {
				if t == "" || strings.Contains(t, "/") {
					errs = append(errs, fmt.Errorf("static_configs[%d].targets[%d]: %q must be host:port (put the path in metrics_path, the scheme in scheme)", i, j, t))
				}
			}
		}
	case "file":
		if c.MetricsPath == "" || c.MetricsPath == DefaultScrapeConfig.MetricsPath {
			errs = append(errs, errors.New("metrics_path: with scheme file, set metrics_path to the exposition file's absolute path"))
		}
	default:
		errs = append(errs, fmt.Errorf("scheme: %q is not supported; use http, https or file", c.Scheme))
	}
	if !strings.HasPrefix(c.MetricsPath, "/") {
		errs = append(errs, fmt.Errorf("metrics_path: %q must start with /", c.MetricsPath))
	}
	if c.ScrapeTimeout <= 0 {
		errs = append(errs, fmt.Errorf("scrape_timeout: must be positive, got %s", c.ScrapeTimeout))
	}
	for i, p := range c.ScrapeProtocols {
		if !slices.Contains(ScrapeProtocols, p) {
			errs = append(errs, fmt.Errorf("scrape_protocols[%d]: unknown protocol %q; use one of %s", i, p, strings.Join(ScrapeProtocols, ", ")))
		} else if slices.Contains(c.ScrapeProtocols[:i], p) {
			// Each entry takes the next lower q-value in the Accept
			// header; repeats would push it below zero.
			errs = append(errs, fmt.Errorf("scrape_protocols[%d]: %q is listed twice; list each protocol once", i, p))
		}
	}
	if len(c.StaticConfigs) == 0 {
		errs = append(errs, errors.New("static_configs: missing; list at least one target, e.g. static_configs: [{targets: [\"host:9100\"]}]"))
	}
	for i, sc := range c.StaticConfigs {
		if len(sc.Targets) == 0 {
			errs = append(errs, fmt.Errorf("static_configs[%d].targets: empty; list at least one host:port target", i))
		}
		for _, name := range slices.Sorted(maps.Keys(sc.Labels)) {
			switch {
			case !model.UTF8Validation.IsValidLabelName(name):
				errs = append(errs, fmt.Errorf("static_configs[%d].labels: %q is not a valid label name", i, name))
			case strings.HasPrefix(name, "__"):
				// Prometheus reads such labels (__metrics_path__,
				// __param_x, ...) during target relabelling and then
				// drops them; liftpush has no target relabelling, so they
				// would do nothing here but leak into every series.
				errs = append(errs, fmt.Errorf("static_configs[%d].labels: %q is reserved (names starting with __ are internal); use metrics_path, scheme or params for what it set in Prometheus, or remove it", i, name))
			}
		}
	}
	for i, rc := range c.MetricRelabelConfigs {
		if rc == nil {
			errs = append(errs, fmt.Errorf("metric_relabel_configs[%d]: empty rule; fill it in or remove the lone \"-\"", i))
			continue
		}
		if err := validateRelabel(rc); err != nil {
			errs = append(errs, fmt.Errorf("metric_relabel_configs[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
