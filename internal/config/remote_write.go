package config

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/liftpush/liftpush/internal/metric"
)

// Remote-write protobuf messages (DESIGN.md section 5).
const (
	WriteRequestV1 = "prometheus.WriteRequest"
	WriteRequestV2 = "io.prometheus.write.v2.Request"
)

// RemoteWriteConfig is Prometheus 3.16's remote_write: every key is taken,
// and either honoured or refused by name (remote_write_keys.go checks the
// keys beyond the first subset, remote_write_auth.go the credentials).
type RemoteWriteConfig struct {
	// Name labels the destination's self-metrics and log lines and keys
	// its spool directory (DirName). Left empty, Config.SetDefaults
	// derives it from the URL: remote_write/<host><path>.
	Name          string                      `yaml:"name,omitempty"`
	URL           *commoncfg.URL              `yaml:"url"`
	RemoteTimeout model.Duration              `yaml:"remote_timeout"`
	Headers       map[string]commoncfg.Secret `yaml:"headers,omitempty"`
	// HeadersFromLabels maps a header to the label whose value it takes,
	// series by series: {X-Scope-OrgID: team} sends each team's series
	// in requests of their own (issue 19). Not a Prometheus key.
	HeadersFromLabels   map[string]string          `yaml:"headers_from_labels,omitempty"`
	ProtobufMessage     string                     `yaml:"protobuf_message"`
	SendExemplars       bool                       `yaml:"send_exemplars,omitempty"`
	NativeHistograms    bool                       `yaml:"send_native_histograms,omitempty"`
	NHCBToClassic       bool                       `yaml:"convert_nhcb_to_classic,omitempty"`
	RoundRobinDNS       bool                       `yaml:"round_robin_dns,omitempty"`
	LogFailedRequests   bool                       `yaml:"failed_request_logging,omitempty"`
	MetadataConfig      MetadataConfig             `yaml:"metadata_config"`
	SigV4               *SigV4Config               `yaml:"sigv4,omitempty"`
	AzureAD             *AzureADConfig             `yaml:"azuread,omitempty"`
	GoogleIAM           *GoogleIAMConfig           `yaml:"google_iam,omitempty"`
	WriteRelabelConfigs []*relabel.Config          `yaml:"write_relabel_configs,omitempty"`
	QueueConfig         QueueConfig                `yaml:"queue_config"`
	HTTPClientConfig    commoncfg.HTTPClientConfig `yaml:",inline"`
}

// QueueConfig tunes batching, parallelism and retries of one remote-write
// destination.
type QueueConfig struct {
	// MaxSamplesPerSend is the batch size: samples per request.
	MaxSamplesPerSend int `yaml:"max_samples_per_send"`
	// MaxShards bounds the requests in flight. A family fills one shard's
	// request after the other; a series still waiting to be sent keeps its
	// shard, so its samples stay in order.
	MaxShards        int            `yaml:"max_shards"`
	MinBackoff       model.Duration `yaml:"min_backoff"`
	MaxBackoff       model.Duration `yaml:"max_backoff"`
	RetryOnRateLimit bool           `yaml:"retry_on_http_429"`

	// SampleAgeLimit, when set, drops samples older than it instead of
	// sending them (reason too_old).
	SampleAgeLimit model.Duration `yaml:"sample_age_limit,omitempty"`
	// Capacity, MinShards and BatchSendDeadline tune Prometheus' long-lived
	// queue; liftpush validates them as Prometheus does, and
	// README says why a delivery needs no more.
	Capacity          int            `yaml:"capacity"`
	MinShards         int            `yaml:"min_shards"`
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline"`
}

// DefaultQueueConfig follows Prometheus' defaults where they fit a one-shot
// push.
var DefaultQueueConfig = QueueConfig{
	MaxSamplesPerSend: 2000,
	MaxShards:         4,
	MinBackoff:        model.Duration(30 * time.Millisecond),
	MaxBackoff:        model.Duration(5 * time.Second),
	RetryOnRateLimit:  true,
	Capacity:          10000,
	MinShards:         1,
	BatchSendDeadline: model.Duration(5 * time.Second),
}

// DefaultRemoteWriteConfig fills every key a remote_write entry leaves out.
var DefaultRemoteWriteConfig = RemoteWriteConfig{
	RemoteTimeout:    model.Duration(30 * time.Second),
	ProtobufMessage:  WriteRequestV1,
	QueueConfig:      DefaultQueueConfig,
	MetadataConfig:   DefaultMetadataConfig,
	HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
}

// NewRemoteWrite returns a remote_write entry for url with every default set;
// the --remote-write.url flag uses it.
func NewRemoteWrite(u string) (*RemoteWriteConfig, error) {
	c := DefaultRemoteWriteConfig
	c.URL = &commoncfg.URL{}
	if err := c.URL.UnmarshalYAML(func(v any) error { *(v.(*string)) = u; return nil }); err != nil {
		return nil, fmt.Errorf("--remote-write.url %q: %w", u, err)
	}
	return &c, nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *RemoteWriteConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteWriteConfig
	type plain RemoteWriteConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return blockError("remote_write", c.ident(), err)
	}
	// An inlined struct's own UnmarshalYAML is not called by yaml.v2, so
	// the HTTP client block is validated here, as Prometheus does.
	return blockError("remote_write", c.ident(), c.HTTPClientConfig.Validate())
}

// ident names the entry in a decoding error, as far as it was decoded.
func (c *RemoteWriteConfig) ident() string {
	switch {
	case c.Name != "":
		return fmt.Sprintf("name %q", c.Name)
	case c.URL != nil && c.URL.URL != nil:
		return fmt.Sprintf("url %q", c.URL.Redacted())
	}
	return ""
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *QueueConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultQueueConfig
	type plain QueueConfig
	return unmarshal((*plain)(c))
}

// reservedHeaders belong to the remote-write protocol, to HTTP or to the
// credentials; a user header must not change them (DESIGN.md section 5).
// They are Prometheus' reserved headers, and Authorization.
var reservedHeaders = map[string]struct{}{
	"Content-Encoding":                  {},
	"Content-Type":                      {},
	"X-Prometheus-Remote-Write-Version": {},
	"User-Agent":                        {},
	"Authorization":                     {},
	"Host":                              {},
	"Content-Length":                    {},
	"Connection":                        {},
	"Keep-Alive":                        {},
	"Proxy-Authenticate":                {},
	"Proxy-Authorization":               {},
	"Www-Authenticate":                  {},
	"Accept-Encoding":                   {},
	"X-Prometheus-Remote-Read-Version":  {},
	// Set by sigv4.
	"X-Amz-Date":           {},
	"X-Amz-Security-Token": {},
	"X-Amz-Content-Sha256": {},
}

// Validate checks one remote_write entry; it changes nothing.
func (c *RemoteWriteConfig) Validate() error {
	var errs []error
	if err := checkHTTPURL("url", c.URL, "the receiver's write endpoint, e.g. https://prometheus.example.com/api/v1/write"); err != nil {
		errs = append(errs, err)
	}
	if c.RemoteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("remote_timeout: must be positive, got %s", c.RemoteTimeout))
	}
	switch c.ProtobufMessage {
	case WriteRequestV1, WriteRequestV2:
	default:
		errs = append(errs, fmt.Errorf("protobuf_message: unknown message %q; use %q (remote-write 1.0) or %q (2.0, falls back to 1.0 where the receiver lacks it)", c.ProtobufMessage, WriteRequestV1, WriteRequestV2))
	}
	for h := range c.Headers {
		if _, ok := reservedHeaders[http.CanonicalHeaderKey(h)]; ok {
			errs = append(errs, fmt.Errorf("headers: %q is set by liftpush and cannot be overridden; for credentials use basic_auth, authorization, oauth2, sigv4, azuread or google_iam", h))
		}
	}
	for h, l := range c.HeadersFromLabels {
		if _, ok := reservedHeaders[http.CanonicalHeaderKey(h)]; ok {
			errs = append(errs, fmt.Errorf("headers_from_labels: %q is set by liftpush and cannot come from a label", h))
		}
		if !model.UTF8Validation.IsValidLabelName(l) || l == model.MetricNameLabel {
			errs = append(errs, fmt.Errorf("headers_from_labels: %s: %s is not a label name; give the label whose value the header takes, e.g. {X-Scope-OrgID: team}", metric.Cut(h), metric.Quote(l)))
		}
	}
	for i, rc := range c.WriteRelabelConfigs {
		if rc == nil {
			errs = append(errs, fmt.Errorf("write_relabel_configs[%d]: empty rule; fill it in or remove the lone \"-\"", i))
			continue
		}
		if err := validateRelabel(rc); err != nil {
			errs = append(errs, fmt.Errorf("write_relabel_configs[%d]: %w", i, err))
		}
	}
	q := c.QueueConfig
	if q.MaxSamplesPerSend <= 0 {
		errs = append(errs, fmt.Errorf("queue_config.max_samples_per_send: must be positive, got %d", q.MaxSamplesPerSend))
	}
	if q.MaxShards <= 0 {
		errs = append(errs, fmt.Errorf("queue_config.max_shards: must be positive, got %d", q.MaxShards))
	}
	if q.MinBackoff <= 0 || q.MaxBackoff < q.MinBackoff {
		errs = append(errs, fmt.Errorf("queue_config: need 0 < min_backoff <= max_backoff, got min_backoff=%s max_backoff=%s", q.MinBackoff, q.MaxBackoff))
	}
	if err := validateHTTPClient(c.HTTPClientConfig); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateKeys()...)
	return errors.Join(errs...)
}

// checkHTTPURL requires an absolute http or https URL.
func checkHTTPURL(key string, u *commoncfg.URL, want string) error {
	if u == nil || u.URL == nil || u.String() == "" {
		return fmt.Errorf("%s: missing; set %s", key, want)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: %q must start with http:// or https://; set %s", key, u.Redacted(), want)
	}
	if u.Host == "" {
		return fmt.Errorf("%s: %q has no host; set %s", key, u.Redacted(), want)
	}
	return nil
}
