package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/storage/remote/azuread"
	"github.com/prometheus/prometheus/storage/remote/googleiam"
	"github.com/prometheus/sigv4"
)

// The cloud credentials of remote_write, in Prometheus' own types: sigv4
// (Amazon Managed Prometheus), azuread (Azure Monitor) and google_iam
// (Google Cloud Managed Service for Prometheus). Prometheus validates the
// first two while decoding, with messages that do not name the key; these
// wrappers decode without it, and Validate names the key.

// SigV4Config is remote_write's sigv4 block.
type SigV4Config struct {
	sigv4.SigV4Config `yaml:",inline"`
}

// UnmarshalYAML implements yaml.Unmarshaler, without sigv4's validation.
func (c *SigV4Config) UnmarshalYAML(unmarshal func(any) error) error {
	c.SigV4Config = sigv4.SigV4Config{}
	type plain sigv4.SigV4Config
	return unmarshal((*plain)(&c.SigV4Config))
}

// AzureADConfig is remote_write's azuread block.
type AzureADConfig struct {
	azuread.AzureADConfig `yaml:",inline"`
}

// UnmarshalYAML implements yaml.Unmarshaler, without azuread's validation.
func (c *AzureADConfig) UnmarshalYAML(unmarshal func(any) error) error {
	c.AzureADConfig = azuread.AzureADConfig{}
	type plain azuread.AzureADConfig
	return unmarshal((*plain)(&c.AzureADConfig))
}

// GoogleIAMConfig is remote_write's google_iam block; Prometheus does not
// validate it.
type GoogleIAMConfig = googleiam.Config

// SetDirectory resolves relative file paths against dir: those of the HTTP
// client block and of the cloud credentials (which Prometheus leaves
// relative to its working directory; liftpush resolves every path alike).
func (c *RemoteWriteConfig) SetDirectory(dir string) {
	c.HTTPClientConfig.SetDirectory(dir)
	if g := c.GoogleIAM; g != nil && g.CredentialsFile != "" {
		g.CredentialsFile = commoncfg.JoinDir(dir, g.CredentialsFile)
	}
	if a := c.AzureAD; a != nil {
		if w := a.WorkloadIdentity; w != nil && w.TokenFilePath != "" {
			w.TokenFilePath = commoncfg.JoinDir(dir, w.TokenFilePath)
		}
		if cert := a.Certificate; cert != nil {
			cert.CertificatePath = joinDir(dir, cert.CertificatePath)
			cert.CertificateKeyPath = joinDir(dir, cert.CertificateKeyPath)
		}
	}
}

// joinDir is commoncfg.JoinDir that leaves an unset path unset.
func joinDir(dir, path string) string {
	if path == "" {
		return ""
	}
	return commoncfg.JoinDir(dir, path)
}

// validateAuth enforces Prometheus' rule that one kind of credentials is
// set, and checks the cloud blocks.
func (c *RemoteWriteConfig) validateAuth() []error {
	h := &c.HTTPClientConfig
	var set []string
	for _, a := range []struct {
		key string
		on  bool
	}{
		{"basic_auth", h.BasicAuth != nil},
		// bearer_token and bearer_token_file are authorization by now
		// (HTTPClientConfig.Validate moves them).
		{"authorization", h.Authorization != nil},
		{"oauth2", h.OAuth2 != nil},
		{"sigv4", c.SigV4 != nil},
		{"azuread", c.AzureAD != nil},
		{"google_iam", c.GoogleIAM != nil},
	} {
		if a.on {
			set = append(set, a.key)
		}
	}
	var errs []error
	if err := userinfoConflict(c.URL, set); err != nil {
		errs = append(errs, err)
	}
	if len(set) > 1 {
		errs = append(errs, fmt.Errorf("%s: only one kind of credentials may be set (one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam); keep the one the receiver expects", strings.Join(set, ", ")))
	}
	if c.SigV4 != nil {
		if err := c.SigV4.validate(); err != nil {
			errs = append(errs, fmt.Errorf("sigv4: %w", err))
		}
	}
	if c.AzureAD != nil {
		if err := c.AzureAD.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// userinfoConflict refuses a URL with a user (and password) together with
// credentials set by key: Go's HTTP client sends the URL's user info as
// basic auth only when nothing else set Authorization, so one of the two
// was silently ignored (issue 22). The URL is not echoed: it holds a
// password.
func userinfoConflict(u *commoncfg.URL, keys []string) error {
	if u == nil || u.URL == nil || u.User == nil || len(keys) == 0 {
		return nil
	}
	return fmt.Errorf("url and %s: the URL carries a user and password and %s sets credentials too, and only one would be sent; remove the user info from url, or remove %s", keys[0], keys[0], keys[0])
}

func (c *SigV4Config) validate() error {
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return errors.New("access_key and secret_key go together: set both, or neither to use the AWS default credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, IRSA's web identity token, the instance role)")
	}
	return c.SigV4Config.Validate()
}

// azureClouds are the clouds azuread knows, by its cloud key.
var azureClouds = []string{azuread.AzurePublic, azuread.AzureChina, azuread.AzureGovernment}

func (c *AzureADConfig) validate() error {
	a := &c.AzureADConfig
	if a.Cloud != "" && !slices.Contains(azureClouds, a.Cloud) {
		return fmt.Errorf("azuread.cloud: unknown cloud %q; use %s (the default), %s or %s", a.Cloud, azuread.AzurePublic, azuread.AzureChina, azuread.AzureGovernment)
	}
	var methods []string
	for _, m := range []struct {
		key string
		on  bool
	}{
		{"managed_identity", a.ManagedIdentity != nil},
		{"workload_identity", a.WorkloadIdentity != nil},
		{"oauth", a.OAuth != nil},
		{"sdk", a.SDK != nil},
		{"certificate", a.Certificate != nil},
	} {
		if m.on {
			methods = append(methods, "azuread."+m.key)
		}
	}
	switch {
	case len(methods) == 0:
		return errors.New("azuread: no way to get a token; set one of managed_identity, workload_identity, oauth, sdk or certificate")
	case len(methods) > 1:
		return fmt.Errorf("%s: only one way to get a token may be set; keep one", strings.Join(methods, ", "))
	}
	var ids []error
	uuidKey := func(key, v string, optional bool, want string) {
		switch _, err := uuid.Parse(v); {
		case v == "" && optional:
		case v == "":
			ids = append(ids, fmt.Errorf("azuread.%s: missing; set %s", key, want))
		case err != nil:
			ids = append(ids, fmt.Errorf("azuread.%s: %q is not a UUID; set %s", key, v, want))
		}
	}
	if m := a.ManagedIdentity; m != nil {
		uuidKey("managed_identity.client_id", m.ClientID, true, "the user-assigned identity's client ID, or remove it for the system-assigned identity")
	}
	if w := a.WorkloadIdentity; w != nil {
		uuidKey("workload_identity.client_id", w.ClientID, false, "the client ID of the app or user-assigned identity federated with the service account")
		uuidKey("workload_identity.tenant_id", w.TenantID, false, "the Entra tenant ID")
	}
	if o := a.OAuth; o != nil {
		uuidKey("oauth.client_id", o.ClientID, false, "the app registration's client ID")
	}
	if len(ids) > 0 {
		return errors.Join(ids...)
	}
	// Prometheus' own checks for the rest, on a copy: they also fill in
	// the default cloud and workload identity's token file, which
	// SetDefaults does.
	if err := c.withDefaults().Validate(); err != nil {
		return fmt.Errorf("azuread: %w", err)
	}
	return nil
}

// withDefaults returns a copy of c's azuread block, deep enough that
// Prometheus' Validate, which fills in defaults, leaves c as it is.
func (c *AzureADConfig) withDefaults() *azuread.AzureADConfig {
	cp := c.AzureADConfig
	if m := cp.ManagedIdentity; m != nil {
		v := *m
		cp.ManagedIdentity = &v
	}
	if w := cp.WorkloadIdentity; w != nil {
		v := *w
		cp.WorkloadIdentity = &v
	}
	if o := cp.OAuth; o != nil {
		v := *o
		cp.OAuth = &v
	}
	if s := cp.SDK; s != nil {
		v := *s
		cp.SDK = &v
	}
	if ce := cp.Certificate; ce != nil {
		v := *ce
		cp.Certificate = &v
	}
	_ = cp.Validate() // errors are Validate's to report
	return &cp
}
