package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// The remote_write keys of Prometheus 3.16 beyond the first subset. Each is
// honoured, or refused by name with the reason: a pasted block must never
// look accepted while liftpush does something else.

// MetadataConfig is remote_write's metadata_config. Prometheus sends
// metadata apart from samples, every send_interval; liftpush sends a
// family's HELP, TYPE and unit with its first samples of a delivery, in
// deliveries at least send_interval apart (see the remotewrite package).
type MetadataConfig struct {
	Send         bool           `yaml:"send"`
	SendInterval model.Duration `yaml:"send_interval"`
	// MaxSamplesPerSend bounds the metadata entries of one request.
	MaxSamplesPerSend int `yaml:"max_samples_per_send,omitempty"`
}

// DefaultMetadataConfig holds Prometheus' defaults.
var DefaultMetadataConfig = MetadataConfig{
	Send:              true,
	SendInterval:      model.Duration(time.Minute),
	MaxSamplesPerSend: 2000,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *MetadataConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultMetadataConfig
	type plain MetadataConfig
	return unmarshal((*plain)(c))
}

// validateKeys checks the keys of this file and the credentials of
// remote_write_auth.go.
func (c *RemoteWriteConfig) validateKeys() []error {
	var errs []error
	if m := c.MetadataConfig; m.Send {
		if m.SendInterval <= 0 {
			errs = append(errs, fmt.Errorf("metadata_config.send_interval: must be positive when send is true, got %s; e.g. 1m", m.SendInterval))
		}
		if m.MaxSamplesPerSend <= 0 {
			errs = append(errs, fmt.Errorf("metadata_config.max_samples_per_send: must be positive when send is true, got %d; e.g. 2000", m.MaxSamplesPerSend))
		}
	}
	q := c.QueueConfig
	switch {
	case q.MinShards <= 0:
		errs = append(errs, fmt.Errorf("queue_config.min_shards: must be positive, got %d", q.MinShards))
	case q.MaxShards > 0 && q.MinShards > q.MaxShards:
		errs = append(errs, fmt.Errorf("queue_config.min_shards: %d is more than max_shards %d; lower min_shards or raise max_shards (liftpush's max_shards defaults to %d, Prometheus' to 50)", q.MinShards, q.MaxShards, DefaultQueueConfig.MaxShards))
	}
	if q.Capacity <= 0 {
		errs = append(errs, fmt.Errorf("queue_config.capacity: must be positive, got %d; remove the key (a delivery holds at most two batches per shard, see README)", q.Capacity))
	}
	errs = append(errs, secretRefs(&c.HTTPClientConfig)...)
	return append(errs, c.validateAuth()...)
}

// secretRefs refuses the *_ref keys of the HTTP client block: they name a
// secret in a secret manager, which liftpush (like Prometheus 3.16) has
// not, and the client would fail only when built.
func secretRefs(h *commoncfg.HTTPClientConfig) []error {
	refs := map[string]string{}
	if b := h.BasicAuth; b != nil {
		refs["basic_auth.username_ref"] = b.UsernameRef
		refs["basic_auth.password_ref"] = b.PasswordRef
	}
	if a := h.Authorization; a != nil {
		refs["authorization.credentials_ref"] = a.CredentialsRef
	}
	tls := func(key string, t *commoncfg.TLSConfig) {
		refs[key+".ca_ref"] = t.CARef
		refs[key+".cert_ref"] = t.CertRef
		refs[key+".key_ref"] = t.KeyRef
	}
	tls("tls_config", &h.TLSConfig)
	if o := h.OAuth2; o != nil {
		refs["oauth2.client_secret_ref"] = o.ClientSecretRef
		refs["oauth2.client_certificate_key_ref"] = o.ClientCertificateKeyRef
		tls("oauth2.tls_config", &o.TLSConfig)
	}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(refs)) {
		if refs[key] != "" {
			errs = append(errs, fmt.Errorf("%s: %q names a secret manager's secret, and liftpush has none; use %s_file instead", key, refs[key], strings.TrimSuffix(key, "_ref")))
		}
	}
	return errs
}
