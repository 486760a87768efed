package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
)

// PrometheusGlobal holds the keys of a Prometheus 3.16 global block, so that
// a Prometheus agent's prometheus.yml runs unchanged. Each is honoured as in
// Prometheus (the scrape defaults), means nothing as in agent mode
// (evaluation_interval, rule_query_offset), or is refused by name.
type PrometheusGlobal struct {
	ScrapeInterval                 model.Duration              `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout                  model.Duration              `yaml:"scrape_timeout,omitempty"`
	ScrapeProtocols                []promconfig.ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	EvaluationInterval             model.Duration              `yaml:"evaluation_interval,omitempty"`
	RuleQueryOffset                model.Duration              `yaml:"rule_query_offset,omitempty"`
	BodySizeLimit                  units.Base2Bytes            `yaml:"body_size_limit,omitempty"`
	SampleLimit                    uint                        `yaml:"sample_limit,omitempty"`
	TargetLimit                    uint                        `yaml:"target_limit,omitempty"`
	LabelLimit                     uint                        `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit           uint                        `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit          uint                        `yaml:"label_value_length_limit,omitempty"`
	KeepDroppedTargets             uint                        `yaml:"keep_dropped_targets,omitempty"`
	MetricNameValidationScheme     model.ValidationScheme      `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme       string                      `yaml:"metric_name_escaping_scheme,omitempty"`
	ScrapeNativeHistograms         *bool                       `yaml:"scrape_native_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB bool                        `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	AlwaysScrapeClassicHistograms  bool                        `yaml:"always_scrape_classic_histograms,omitempty"`
	ExtraScrapeMetrics             *bool                       `yaml:"extra_scrape_metrics,omitempty"`

	// Refused: they configure parts of a Prometheus server liftpush has
	// not got. Decoded only to be named in the error.
	ScrapeFailureLogFile string         `yaml:"scrape_failure_log_file,omitempty"`
	QueryLogFile         string         `yaml:"query_log_file,omitempty"`
	QueryMaxSeries       uint64         `yaml:"query_max_series,omitempty"`
	QueryMaxSamplesRead  uint64         `yaml:"query_max_samples_read,omitempty"`
	QueryMaxDuration     model.Duration `yaml:"query_max_duration,omitempty"`
}

// ServerBlocks are the top-level keys of prometheus.yml that configure a
// Prometheus server rather than an agent. Decoded only to be refused by
// name, as a Prometheus agent refuses rules and alerting.
type ServerBlocks struct {
	RuleFiles         any `yaml:"rule_files,omitempty"`
	Alerting          any `yaml:"alerting,omitempty"`
	RemoteRead        any `yaml:"remote_read,omitempty"`
	ScrapeConfigFiles any `yaml:"scrape_config_files,omitempty"`
	Storage           any `yaml:"storage,omitempty"`
	Tracing           any `yaml:"tracing,omitempty"`
	OTLP              any `yaml:"otlp,omitempty"`
}

func (s ServerBlocks) validate() []error {
	var errs []error
	refuse := func(key string, v any, why string) {
		if v != nil {
			errs = append(errs, fmt.Errorf("%s: not supported: %s; remove the block", key, why))
		}
	}
	refuse("rule_files", s.RuleFiles, "liftpush evaluates no rules, as a Prometheus agent refuses them; keep rules in the Prometheus or Mimir that receives the data")
	refuse("alerting", s.Alerting, "liftpush sends no alerts, as a Prometheus agent; alert in the receiving Prometheus or Mimir")
	refuse("remote_read", s.RemoteRead, "liftpush stores nothing to query, as a Prometheus agent")
	refuse("scrape_config_files", s.ScrapeConfigFiles, "liftpush reads its scrape jobs from this file only; move the jobs into scrape_configs")
	refuse("storage", s.Storage, "liftpush has no TSDB; its write-ahead buffer is the spool block")
	refuse("tracing", s.Tracing, "liftpush exports no traces")
	refuse("otlp", s.OTLP, "liftpush receives no OTLP")
	return errs
}

// prometheus returns the global block as Prometheus' type, with Prometheus'
// defaults for what is unset: the scrape jobs take their defaults from it.
func (g GlobalConfig) prometheus() promconfig.GlobalConfig {
	p := promconfig.DefaultGlobalConfig
	set := func(dst *model.Duration, v model.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	set(&p.ScrapeInterval, g.ScrapeInterval)
	set(&p.ScrapeTimeout, g.ScrapeTimeout)
	if g.ScrapeTimeout == 0 {
		p.ScrapeTimeout = min(promconfig.DefaultGlobalConfig.ScrapeTimeout, p.ScrapeInterval)
	}
	p.ScrapeProtocols = g.ScrapeProtocols
	p.BodySizeLimit = g.BodySizeLimit
	p.SampleLimit = g.SampleLimit
	p.TargetLimit = g.TargetLimit
	p.LabelLimit = g.LabelLimit
	p.LabelNameLengthLimit = g.LabelNameLengthLimit
	p.LabelValueLengthLimit = g.LabelValueLengthLimit
	p.KeepDroppedTargets = g.KeepDroppedTargets
	if g.MetricNameValidationScheme != model.UnsetValidation {
		p.MetricNameValidationScheme = g.MetricNameValidationScheme
	}
	if g.MetricNameEscapingScheme != "" {
		p.MetricNameEscapingScheme = g.MetricNameEscapingScheme
	} else if p.MetricNameValidationScheme == model.LegacyValidation {
		p.MetricNameEscapingScheme = model.EscapeUnderscores
	}
	if g.ScrapeNativeHistograms != nil {
		p.ScrapeNativeHistograms = g.ScrapeNativeHistograms
	}
	p.ConvertClassicHistogramsToNHCB = g.ConvertClassicHistogramsToNHCB
	p.AlwaysScrapeClassicHistograms = g.AlwaysScrapeClassicHistograms
	if g.ExtraScrapeMetrics != nil {
		p.ExtraScrapeMetrics = g.ExtraScrapeMetrics
	}
	return p
}

// scheduleFromInterval is global.schedule when the file sets only
// Prometheus' scrape_interval: a Prometheus agent config then runs at its
// own pace. global.schedule wins where both are set.
func (g *GlobalConfig) scheduleFromInterval() {
	if g.Schedule != "" {
		return
	}
	if g.ScrapeInterval > 0 {
		g.Schedule = "@every " + time.Duration(g.ScrapeInterval).String()
		return
	}
	g.Schedule = DefaultGlobalConfig.Schedule
}

// scrapeDefaults gives global.scrape_interval, when unset, the interval of
// an "@every" schedule: __scrape_interval__ and the scrape_timeout bound of
// the jobs that follow the schedule then match what happens.
func (g *GlobalConfig) scrapeDefaults() {
	if g.ScrapeInterval != 0 {
		return
	}
	if d, ok := strings.CutPrefix(g.Schedule, "@every "); ok {
		if dur, err := model.ParseDuration(strings.TrimSpace(d)); err == nil && dur > 0 {
			g.ScrapeInterval = dur
			g.intervalFromSchedule = true
		}
	}
}

// interval is the scrape interval a job following the schedule reports
// (__scrape_interval__): the schedule's, stretched to timeout when the
// interval was not set as such, since liftpush (unlike Prometheus) never
// refused a scrape_timeout longer than the cycle and waits for it.
func (g GlobalConfig) interval(timeout model.Duration) model.Duration {
	if g.intervalFromSchedule && timeout > g.ScrapeInterval {
		return timeout
	}
	return g.ScrapeInterval
}

func (g GlobalConfig) validatePrometheus() []error {
	var errs []error
	p := g.prometheus()
	if p.ScrapeTimeout > p.ScrapeInterval && !g.intervalFromSchedule {
		errs = append(errs, fmt.Errorf("global.scrape_timeout: %s is greater than the scrape interval %s (global.scrape_interval, or the interval of global.schedule); a scrape must end before the next begins", p.ScrapeTimeout, p.ScrapeInterval))
	}
	for i, sp := range g.ScrapeProtocols {
		if err := sp.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("global.scrape_protocols[%d]: %w", i, err))
		}
	}
	switch g.MetricNameValidationScheme {
	case model.UnsetValidation, model.UTF8Validation, model.LegacyValidation:
	default:
		errs = append(errs, fmt.Errorf("global.metric_name_validation_scheme: %q is not known; use utf8 or legacy", g.MetricNameValidationScheme))
	}
	switch g.MetricNameEscapingScheme {
	case "", model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues:
	default:
		errs = append(errs, fmt.Errorf("global.metric_name_escaping_scheme: %q is not known; use one of %s, %s, %s, %s", g.MetricNameEscapingScheme, model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues))
	}
	refuse := func(key string, set bool, why string) {
		if set {
			errs = append(errs, fmt.Errorf("global.%s: not supported: %s; remove the key", key, why))
		}
	}
	refuse("scrape_failure_log_file", g.ScrapeFailureLogFile != "", "liftpush logs every failed scrape with its target and error in its own log")
	refuse("query_log_file", g.QueryLogFile != "", "liftpush has no query engine, as a Prometheus agent")
	refuse("query_max_series", g.QueryMaxSeries != 0, "liftpush has no query engine, as a Prometheus agent")
	refuse("query_max_samples_read", g.QueryMaxSamplesRead != 0, "liftpush has no query engine, as a Prometheus agent")
	refuse("query_max_duration", g.QueryMaxDuration != 0, "liftpush has no query engine, as a Prometheus agent")
	return errs
}
