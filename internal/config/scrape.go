package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"go.yaml.in/yaml/v2"

	// The discoverers liftpush links, one by one: discovery/install would
	// add some thirty cloud SDKs to the binary and its start-up.
	_ "github.com/prometheus/prometheus/discovery/dns"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
)

// ScrapeConfig is a Prometheus 3.16 scrape_config, decoded by Prometheus'
// own type so that every key it knows is known here, with its defaults and
// its checks. What liftpush cannot honour is refused by name in validate.
// liftpush adds one thing: scheme file, whose target is metrics_path.
type ScrapeConfig struct {
	promconfig.ScrapeConfig

	deprecated []string
	// intervalSet records that the job chose its own scrape_interval; a
	// job without one follows global.schedule.
	intervalSet bool
}

// SupportedSD are the service discovery keys liftpush links.
var SupportedSD = []string{"static_configs", "file_sd_configs", "http_sd_configs", "dns_sd_configs", "kubernetes_sd_configs"}

// Deprecated lists the legacy keys the job used (bearer_token,
// bearer_token_file, as in Chainloop's and older Prometheus docs). They
// still work: prometheus/common turns them into authorization.
func (c *ScrapeConfig) Deprecated() []string { return c.deprecated }

// IntervalSet reports whether the job set its own scrape_interval.
func (c *ScrapeConfig) IntervalSet() bool { return c.intervalSet }

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *ScrapeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	var keys yaml.MapSlice
	if err := unmarshal(&keys); err != nil {
		return blockError("scrape_configs", "", err)
	}
	var job string
	for _, kv := range keys {
		if k, _ := kv.Key.(string); k == "job_name" && kv.Value != nil && fmt.Sprint(kv.Value) != "" {
			job = fmt.Sprintf("job %q", fmt.Sprint(kv.Value))
		}
	}
	if job == "" {
		return blockError("scrape_configs", "", errors.New("job_name: missing; every scrape job needs a name, it becomes the job label"))
	}
	var deprecated []string
	for _, kv := range keys {
		k, _ := kv.Key.(string)
		switch {
		case strings.HasSuffix(k, "_sd_configs") && !slices.Contains(SupportedSD, k):
			return blockError("scrape_configs", job, fmt.Errorf("%s: this service discovery is not linked into liftpush; use one of %s, or let Prometheus' own discovery write a file_sd file", k, strings.Join(SupportedSD, ", ")))
		case k == "relabel_configs" || k == "metric_relabel_configs":
			rules, _ := kv.Value.([]any)
			for i, r := range rules {
				if r == nil {
					return blockError("scrape_configs", job, fmt.Errorf("%s[%d]: empty rule; fill it in or remove the lone \"-\"", k, i))
				}
			}
		case k == "bearer_token" || k == "bearer_token_file":
			// Prometheus' decoding turns them into authorization, so
			// they are noted here, before it.
			deprecated = append(deprecated, k)
		}
	}
	if err := unmarshal(&c.ScrapeConfig); err != nil {
		if strings.Contains(err.Error(), "is not a valid hostname") {
			err = fmt.Errorf("%w; a target is host:port: put the path in metrics_path and the scheme in scheme", err)
		}
		return blockError("scrape_configs", job, err)
	}
	c.deprecated = deprecated
	c.intervalSet = c.ScrapeInterval != 0
	return nil
}

// MarshalYAML implements yaml.Marshaler, with the discovery blocks inline
// as in prometheus.yml.
func (c *ScrapeConfig) MarshalYAML() (any, error) {
	return c.ScrapeConfig.MarshalYAML()
}

// SetDirectory resolves relative file paths against dir.
func (c *ScrapeConfig) SetDirectory(dir string) {
	c.ScrapeConfig.SetDirectory(dir)
	if c.Scheme == "file" && c.MetricsPath != "" && !strings.HasPrefix(c.MetricsPath, "/") {
		c.MetricsPath = commoncfg.JoinDir(dir, c.MetricsPath)
	}
}

// SetDefaults fills what Prometheus takes from the global block (interval,
// timeout, limits, protocols, name validation) and the relabel rules'
// name validation scheme. Errors are left to Validate.
func (c *ScrapeConfig) SetDefaults(g GlobalConfig) {
	if !c.intervalSet {
		// A job without its own interval runs on global.schedule, so its
		// __scrape_interval__ and timeout bound say so.
		c.ScrapeInterval = g.interval(c.ScrapeTimeout)
	}
	_ = c.ScrapeConfig.Validate(g.prometheus())
	setRelabelDefaults(c.RelabelConfigs)
	setRelabelDefaults(c.MetricRelabelConfigs)
}

// StaticTargets returns the static_configs target groups.
func (c *ScrapeConfig) StaticTargets() []*targetgroup.Group {
	var out []*targetgroup.Group
	for _, d := range c.ServiceDiscoveryConfigs {
		if s, ok := d.(discovery.StaticConfig); ok {
			out = append(out, s...)
		}
	}
	return out
}

// NewScrapeFromURL builds a one-target scrape job from a URL given on the
// command line (--scrape.url). The job is named after the host, or "file"
// for file:// URLs.
func NewScrapeFromURL(raw string) (*ScrapeConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--scrape.url %q: %w", raw, err)
	}
	c := &ScrapeConfig{ScrapeConfig: promconfig.DefaultScrapeConfig}
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
		c.ServiceDiscoveryConfigs = discovery.Configs{discovery.StaticConfig{targetGroup(u.Host)}}
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
	default:
		return nil, fmt.Errorf("--scrape.url %q: scheme must be http, https or file", raw)
	}
	// The run's global block sets them again (Overrides.Apply); these make
	// the job usable on its own.
	g := DefaultGlobalConfig
	g.scrapeDefaults()
	c.SetDefaults(g)
	return c, nil
}

func targetGroup(addr string) *targetgroup.Group {
	return &targetgroup.Group{Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(addr)}}, Source: "0"}
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
		if err := s.validate(c.Global); err != nil {
			errs = append(errs, prefixEach(fmt.Sprintf("%s (job %q): ", key, s.JobName), err))
		}
	}
	return errs
}

func (c *ScrapeConfig) validate(g GlobalConfig) error {
	var errs []error
	for i, p := range c.ScrapeProtocols {
		if _, ok := promconfig.ScrapeProtocolsHeaders[p]; !ok {
			errs = append(errs, fmt.Errorf("scrape_protocols[%d]: unknown protocol %q; use one of %s", i, p, strings.Join(knownProtocols(), ", ")))
		} else if slices.Contains(c.ScrapeProtocols[:i], p) {
			errs = append(errs, fmt.Errorf("scrape_protocols[%d]: %q is listed twice; list each protocol once", i, p))
		}
	}
	if len(errs) == 0 {
		// Prometheus' own check fills defaults as it goes: run it on a
		// copy. It stops at its first error, so liftpush's own, which
		// name the key, come first.
		cp := c.ScrapeConfig
		if err := cp.Validate(g.prometheus()); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Scheme {
	case "http", "https":
		if len(c.ServiceDiscoveryConfigs) == 0 {
			errs = append(errs, fmt.Errorf("static_configs: missing; list targets, e.g. static_configs: [{targets: [\"host:9100\"]}], or discover them with one of %s", strings.Join(SupportedSD[1:], ", ")))
		}
	case "file":
		if c.MetricsPath == "" || c.MetricsPath == promconfig.DefaultScrapeConfig.MetricsPath {
			errs = append(errs, errors.New("metrics_path: with scheme file, set metrics_path to the exposition file's absolute path"))
		}
		if len(c.StaticTargets()) < len(c.ServiceDiscoveryConfigs) || len(c.RelabelConfigs) > 0 {
			errs = append(errs, errors.New("scheme: file reads one local file, so it takes no *_sd_configs or relabel_configs; remove them, or use http(s) for discovered targets"))
		}
	default:
		errs = append(errs, fmt.Errorf("scheme: %q is not supported; use http, https or file", c.Scheme))
	}
	if !strings.HasPrefix(c.MetricsPath, "/") {
		errs = append(errs, fmt.Errorf("metrics_path: %q must start with /", c.MetricsPath))
	}
	for i, sc := range c.StaticTargets() {
		if len(sc.Targets) == 0 {
			errs = append(errs, fmt.Errorf("static_configs[%d].targets: empty; list at least one host:port target", i))
		}
	}
	errs = append(errs, c.refused()...)
	return errors.Join(errs...)
}

// knownProtocols are the scrape_protocols names, sorted.
func knownProtocols() []string {
	var out []string
	for p := range promconfig.ScrapeProtocolsHeaders {
		out = append(out, string(p))
	}
	slices.Sort(out)
	return out
}

// refused names the keys liftpush decodes but cannot honour: a pasted job
// must never look accepted while it does something else.
func (c *ScrapeConfig) refused() []error {
	var errs []error
	if c.ScrapeFailureLogFile != "" {
		errs = append(errs, errors.New("scrape_failure_log_file: not supported: liftpush logs every failed scrape with its target and error in its own log; remove the key"))
	}
	return errs
}
