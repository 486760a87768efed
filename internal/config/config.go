// Package config decodes, defaults and validates liftpush.yml.
//
// Decoding is strict, like Prometheus and blackbox_exporter: an unknown key
// is an error that names the key and its line. Every type's UnmarshalYAML
// sets its defaults and decodes through a "plain" alias; defaults that span
// several blocks, or that entries added by flags need, are set by
// SetDefaults; checks live in Validate, which changes nothing.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"

	"github.com/liftpush/liftpush/internal/metric"
)

// Config is the whole file. Pointers and slices left nil mean "not
// configured"; a present source block is enabled unless it says
// enabled: false.
type Config struct {
	Global        GlobalConfig         `yaml:"global"`
	Spacelift     *SpaceliftConfig     `yaml:"spacelift,omitempty"`
	Kubernetes    *KubernetesConfig    `yaml:"kubernetes,omitempty"`
	ScrapeConfigs []*ScrapeConfig      `yaml:"scrape_configs,omitempty"`
	RemoteWrite   []*RemoteWriteConfig `yaml:"remote_write,omitempty"`
	Pushgateway   []*PushgatewayConfig `yaml:"pushgateway,omitempty"`
	Spool         SpoolConfig          `yaml:"spool"`
	Runtime       RuntimeConfig        `yaml:"runtime,omitempty"`

	ServerBlocks `yaml:",inline"`

	// Files says which of the files the config names Validate reads
	// (files.go); all of them unless a command says otherwise.
	Files FileCheck `yaml:"-"`
}

// GlobalConfig holds what applies to every collector and destination.
type GlobalConfig struct {
	Job          string         `yaml:"job"`
	Schedule     string         `yaml:"schedule"`
	CycleTimeout model.Duration `yaml:"cycle_timeout"`
	// ShutdownTimeout is how long the running cycle may still finish after
	// SIGTERM or SIGINT before it is cancelled: long enough to deliver what
	// was collected, short enough to end before the orchestrator's own
	// grace period (Kubernetes' terminationGracePeriodSeconds, 30s by
	// default) kills the process mid-write.
	ShutdownTimeout model.Duration    `yaml:"shutdown_timeout"`
	ExternalLabels  map[string]string `yaml:"external_labels,omitempty"`

	PrometheusGlobal `yaml:",inline"`

	// intervalFromSchedule is set when ScrapeInterval was taken from an
	// "@every" schedule rather than written as scrape_interval.
	intervalFromSchedule bool
	// Shard and TotalShards split the work between replicas (shard.go).
	Shard       int `yaml:"shard"`
	TotalShards int `yaml:"total_shards"`
}

// SeriesDefaults are the labels every pushed series gets where it has none
// of that name: job, then external_labels (an external "job" wins, as a
// later label does in Prometheus' external_labels).
func (g *GlobalConfig) SeriesDefaults() labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	if g.Job != "" {
		b.Set(model.JobLabel, g.Job)
	}
	for name, value := range g.ExternalLabels {
		b.Set(name, value)
	}
	return b.Labels()
}

// DefaultGlobalConfig is used for a file without a global block, and for runs
// driven by flags alone.
var DefaultGlobalConfig = GlobalConfig{
	Job:             "liftpush",
	Schedule:        "@every 1m",
	CycleTimeout:    model.Duration(50 * time.Second),
	ShutdownTimeout: model.Duration(10 * time.Second),
	TotalShards:     1,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *GlobalConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultGlobalConfig
	// Left empty, the schedule comes from scrape_interval when that is set.
	c.Schedule = ""
	type plain GlobalConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return blockError("global", "", err)
	}
	c.scheduleFromInterval()
	return nil
}

// blockError puts the block (and the entry, when known) in front of an error
// from decoding it: errors of custom decoders (durations, URLs, regexps,
// relabel actions) carry no line number, so this is how the user finds the
// value. yaml.v2's own type errors already carry a line and are collected
// by the decoder, so they pass through unchanged.
func blockError(block, entry string, err error) error {
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return err
	}
	if entry != "" {
		block += " (" + entry + ")"
	}
	return fmt.Errorf("%s: %w", block, err)
}

// Default returns the configuration of a run without a file.
func Default() *Config {
	return &Config{Global: DefaultGlobalConfig, Spool: DefaultSpoolConfig}
}

// LoadFile reads and decodes filename. Relative file paths inside the config
// (password_file, ca_file, ...) are resolved against the file's directory, as
// Prometheus does. It does not call Validate: flags may still change the
// result.
func LoadFile(filename string) (*Config, error) {
	b, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	cfg, err := Load(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	cfg.SetDirectory(filepath.Dir(filename))
	return cfg, nil
}

// Load decodes a config document strictly and sets every default
// (SetDefaults).
func Load(b []byte) (*Config, error) {
	cfg := Default()
	if err := yaml.UnmarshalStrict(b, cfg); err != nil {
		return nil, yamlError(err)
	}
	if err := cfg.checkEmptyEntries(); err != nil {
		return nil, err
	}
	cfg.SetDefaults()
	return cfg, nil
}

// checkEmptyEntries rejects list entries that decoded to nil (a lone "-" or
// "- null"): every later step would dereference them.
func (c *Config) checkEmptyEntries() error {
	var errs []error
	check := func(key string, i int, isNil bool) {
		if isNil {
			errs = append(errs, fmt.Errorf("%s[%d]: empty entry; fill it in or remove the lone \"-\"", key, i))
		}
	}
	for i, s := range c.ScrapeConfigs {
		check("scrape_configs", i, s == nil)
	}
	for i, rw := range c.RemoteWrite {
		check("remote_write", i, rw == nil)
	}
	for i, pg := range c.Pushgateway {
		check("pushgateway", i, pg == nil)
	}
	return errors.Join(errs...)
}

// SetDirectory resolves relative file paths against dir.
func (c *Config) SetDirectory(dir string) {
	for _, s := range c.ScrapeConfigs {
		s.SetDirectory(dir)
	}
	for _, rw := range c.RemoteWrite {
		rw.SetDirectory(dir)
	}
	for _, pg := range c.Pushgateway {
		pg.HTTPClientConfig.SetDirectory(dir)
	}
	if c.Spacelift != nil {
		c.Spacelift.SetDirectory(dir)
	}
	if c.Kubernetes != nil {
		c.Kubernetes.SetDirectory(dir)
	}
	c.Spool.SetDirectory(dir)
}

// Validate checks the whole configuration after flags were applied. Errors
// name the key as a path (remote_write[0].url) and say how to fix it.
// It only reads: neither the config nor the disk is changed, so
// check-config can run anywhere. It does read the files the config names
// (files.go): a missing secret or CA is a config error, not a failure of
// every cycle. Defaults are SetDefaults' job.
func (c *Config) Validate() error {
	errs := c.validate()
	errs = append(errs, c.checkFiles()...)
	return errors.Join(errs...)
}

// validate is Validate without the files: the checks of the config alone.
func (c *Config) validate() []error {
	var errs []error
	if c.Global.Job == "" {
		errs = append(errs, errors.New(`global.job: must not be empty; it becomes the job label of the built-in collectors' series (default "liftpush")`))
	}
	if c.Global.CycleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("global.cycle_timeout: must be positive, got %s", c.Global.CycleTimeout))
	}
	if c.Global.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("global.shutdown_timeout: must be positive, got %s", c.Global.ShutdownTimeout))
	}
	if err := c.Spool.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Runtime.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Global.validateShard(); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseSchedule(c.Global.Schedule); err != nil {
		errs = append(errs, err)
	}
	for name, value := range c.Global.ExternalLabels {
		if err := checkLabel(name, value); err != nil {
			errs = append(errs, fmt.Errorf("global.external_labels: %w", err))
		}
	}
	errs = append(errs, c.Global.validatePrometheus()...)
	errs = append(errs, c.ServerBlocks.validate()...)
	errs = append(errs, c.validateLabelLimits()...)
	errs = append(errs, c.validateScrape()...)
	for i, rw := range c.RemoteWrite {
		if err := rw.Validate(); err != nil {
			errs = append(errs, prefixEach(fmt.Sprintf("remote_write[%d]: ", i), err))
		}
	}
	errs = append(errs, c.validateNames()...)
	if c.Spacelift != nil {
		if err := c.Spacelift.Validate(); err != nil {
			errs = append(errs, prefixEach("spacelift: ", err))
		}
	}
	if c.Kubernetes != nil {
		if err := c.Kubernetes.Validate(); err != nil {
			errs = append(errs, prefixEach("kubernetes: ", err))
		}
	}
	for i, pg := range c.Pushgateway {
		if err := pg.Validate(c.Global); err != nil {
			errs = append(errs, prefixEach(fmt.Sprintf("pushgateway[%d]: ", i), err))
		}
	}
	return errs
}

// What a run without a source or a destination is told.
var (
	ErrNoSource      = errors.New("no source configured: add a scrape_configs, spacelift or kubernetes block, or pass --scrape.url, --spacelift.endpoint or --kubernetes.enabled")
	ErrNoDestination = errors.New("no destination configured: add a remote_write or pushgateway block, or pass --remote-write.url or --pushgateway.url")
)

// ValidateRun adds to Validate what a pushing run needs: something to collect
// and somewhere to deliver it.
func (c *Config) ValidateRun() error {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !c.HasSource() {
		errs = append(errs, ErrNoSource)
	}
	if !c.HasDestination() {
		errs = append(errs, ErrNoDestination)
	}
	return errors.Join(errs...)
}

// HasSource reports whether any collector is enabled.
func (c *Config) HasSource() bool {
	return len(c.ScrapeConfigs) > 0 || c.Spacelift.IsEnabled() || c.Kubernetes.IsEnabled()
}

// HasDestination reports whether any destination is configured.
func (c *Config) HasDestination() bool {
	return len(c.RemoteWrite) > 0 || len(c.Pushgateway) > 0
}

func checkLabel(name, value string) error {
	if !model.LegacyValidation.IsValidLabelName(name) {
		return fmt.Errorf("%s is not a valid label name; use letters, digits and underscores, not starting with a digit", metric.Quote(name))
	}
	if strings.HasPrefix(name, "__") {
		return fmt.Errorf("label name %s is reserved (names starting with __ are internal)", metric.Quote(name))
	}
	if value == "" {
		return fmt.Errorf("label %s has an empty value; an empty value means no label, drop the key instead", metric.Quote(name))
	}
	return nil
}

// Warnings lists what works but should be changed, such as the legacy
// bearer_token keys; check-config and run log them.
func (c *Config) Warnings() []string {
	var ws []string
	add := func(key string, deprecated []string) {
		for _, k := range deprecated {
			ws = append(ws, fmt.Sprintf("%s.%s is deprecated; use authorization: {credentials: ...} or {credentials_file: ...} instead", key, k))
		}
	}
	for i, s := range c.ScrapeConfigs {
		add(fmt.Sprintf("scrape_configs[%d] (job %q)", i, s.JobName), s.Deprecated())
	}
	for i, pg := range c.Pushgateway {
		add(fmt.Sprintf("pushgateway[%d]", i), pg.Deprecated())
	}
	return ws
}

// String renders the configuration as YAML with every secret shown as
// <secret> (prometheus/common config.Secret does the redaction), and what
// may hold one without being a Secret redacted too (redact.go).
func (c *Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Sprintf("<error rendering config: %s>", err)
	}
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Sprintf("<error rendering config: %s>", err)
	}
	if b, err = yaml.Marshal(redactTree(doc)); err != nil {
		return fmt.Sprintf("<error rendering config: %s>", err)
	}
	return string(b)
}

// yamlFieldErrors is compiled on the first YAML error, not at every start.
var yamlFieldErrors = sync.OnceValues(func() (unknown, duplicate *regexp.Regexp) {
	return regexp.MustCompile(`line (\d+): field (\S+) not found in type (?:struct \{.*\}|\S+)`),
		regexp.MustCompile(`line (\d+): field (\S+) already set in type \S+`)
})

// yamlError rewrites yaml.v2's strict-mode messages, which name Go types
// ("not found in type config.plain"), into ones that name the key.
func yamlError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	unknownField, duplicateField := yamlFieldErrors()
	msg = unknownField.ReplaceAllString(msg, `line $1: unknown key "$2"`)
	msg = duplicateField.ReplaceAllString(msg, `line $1: key "$2" is set twice; keep one`)
	if strings.Contains(msg, "not a valid duration string") {
		// model.Duration does not say what it accepts.
		msg += "; use a positive duration such as 30s, 1m or 1h30m"
	}
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return fmt.Errorf("parsing YAML: %s", strings.Join(lines, "; "))
}

// validateRelabel runs Prometheus' check on a copy of rc: it sets the
// name validation scheme as a side effect, which is SetDefaults' job.
func validateRelabel(rc *relabel.Config) error {
	cp := *rc
	return cp.Validate(model.UTF8Validation)
}

// validateHTTPClient runs prometheus/common's check on a copy of h: it
// turns bearer_token into authorization and trims the authorization type
// in place, which decoding did already.
func validateHTTPClient(h commoncfg.HTTPClientConfig) error {
	if h.Authorization != nil {
		a := *h.Authorization
		h.Authorization = &a
	}
	return h.Validate()
}

// prefixEach puts prefix before every error err joins, so each line of a
// multi-error message names its block.
func prefixEach(prefix string, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s%w", prefix, err)
	}
	errs := joined.Unwrap()
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		out = append(out, prefixEach(prefix, e))
	}
	return errors.Join(out...)
}
