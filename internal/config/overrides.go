package config

import (
	"errors"
	"fmt"

	"slices"
	"strings"

	commoncfg "github.com/prometheus/common/config"
)

// Overrides are the command-line flags and environment variables that change
// the file's values, so a one-liner works without a file. Empty fields
// change nothing.
type Overrides struct {
	RemoteWriteURLs      []string
	PushgatewayURLs      []string
	PushgatewayJob       string
	ScrapeURLs           []string
	ExternalLabels       []string // k=v
	SpaceliftEndpoint    string
	SpaceliftAPIKeyID    string
	SpaceliftSecret      string
	SpaceliftSecretFile  string
	SpaceliftCAFile      string
	KubernetesEnabled    bool
	Kubeconfig           string
	KubernetesNamespaces []string
	SpoolDir             string
	// Files, when not CheckAllFiles, sets Config.Files: the command reads
	// fewer files (collect, check-config --syntax-only).
	Files FileCheck
}

// Apply merges the overrides into c. Repeatable URL flags add destinations
// and sources; scalar flags replace file values. It then sets the defaults
// the added entries need (SetDefaults), even when some flag was wrong.
func (o Overrides) Apply(c *Config) error {
	var errs []error
	if o.Files != CheckAllFiles {
		c.Files = o.Files
	}
	for _, u := range o.RemoteWriteURLs {
		rw, err := NewRemoteWrite(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.RemoteWrite = append(c.RemoteWrite, rw)
	}
	for _, u := range o.PushgatewayURLs {
		pg, err := NewPushgateway(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Pushgateway = append(c.Pushgateway, pg)
	}
	if o.PushgatewayJob != "" {
		for _, pg := range c.Pushgateway {
			pg.Job = o.PushgatewayJob
		}
	}
	for _, u := range o.ScrapeURLs {
		sc, err := NewScrapeFromURL(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.ScrapeConfigs = append(c.ScrapeConfigs, sc)
	}
	if len(o.ExternalLabels) > 0 {
		if c.Global.ExternalLabels == nil {
			c.Global.ExternalLabels = map[string]string{}
		}
		for _, kv := range o.ExternalLabels {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				errs = append(errs, fmt.Errorf("--external-label %q: want name=value", kv))
				continue
			}
			c.Global.ExternalLabels[k] = v
		}
	}
	if o.SpaceliftEndpoint != "" || o.SpaceliftAPIKeyID != "" || o.SpaceliftSecret != "" || o.SpaceliftSecretFile != "" || o.SpaceliftCAFile != "" {
		if c.Spacelift == nil {
			sl := DefaultSpaceliftConfig
			c.Spacelift = &sl
		}
		set(&c.Spacelift.Endpoint, o.SpaceliftEndpoint)
		set(&c.Spacelift.APIKeyID, o.SpaceliftAPIKeyID)
		set(&c.Spacelift.CAFile, o.SpaceliftCAFile)
		// A secret given by flag or env replaces the file's, in whichever
		// form: two secrets at once would be ambiguous.
		if o.SpaceliftSecretFile != "" {
			c.Spacelift.APIKeySecretFile, c.Spacelift.APIKeySecret = o.SpaceliftSecretFile, ""
		} else if o.SpaceliftSecret != "" {
			c.Spacelift.APIKeySecret, c.Spacelift.APIKeySecretFile = commoncfg.Secret(o.SpaceliftSecret), ""
		}
	}
	if o.KubernetesEnabled || o.Kubeconfig != "" || len(o.KubernetesNamespaces) > 0 {
		if c.Kubernetes == nil {
			k := DefaultKubernetesConfig
			k.Resources = slices.Clone(k.Resources)
			c.Kubernetes = &k
		}
		set(&c.Kubernetes.Kubeconfig, o.Kubeconfig)
		if len(o.KubernetesNamespaces) > 0 {
			c.Kubernetes.Namespaces = o.KubernetesNamespaces
		}
	}
	set(&c.Spool.Dir, o.SpoolDir)
	c.SetDefaults()
	return errors.Join(errs...)
}

func set(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
