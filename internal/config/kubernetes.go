package config

import (
	"errors"
	"fmt"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	k8slabels "k8s.io/apimachinery/pkg/labels"
)

// Kubernetes naming schemes (kubernetes.naming).
const (
	// NamingKubeAPIExporter turns every numeric or boolean leaf of an object
	// into k8s_<kind>_<json path>, as dwnld/kube-api-exporter did.
	NamingKubeAPIExporter = "kube-api-exporter"
	// NamingKubeStateMetrics emits kube-state-metrics' deployment family.
	NamingKubeStateMetrics = "kube-state-metrics"
)

// KubernetesConfig configures the Kubernetes collector.
type KubernetesConfig struct {
	Enabled *bool `yaml:"enabled,omitempty"`
	// Kubeconfig empty means: in-cluster when running in a pod, else
	// $KUBECONFIG, else ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig,omitempty"`
	// Namespaces empty means all namespaces (one cluster-wide list, which
	// needs a ClusterRole); otherwise one list per namespace (a Role each).
	Namespaces    []string `yaml:"namespaces,omitempty"`
	LabelSelector string   `yaml:"label_selector,omitempty"`
	Naming        string   `yaml:"naming"`
	// Resources are kubectl-style names: "deployments", "statefulsets.apps",
	// "workerpools.v1beta1.workers.spacelift.io".
	Resources []string `yaml:"resources"`
	// PageSize is the limit of each list request; bigger pages mean fewer
	// round trips but more objects held in memory at once.
	PageSize int64 `yaml:"page_size"`
	// UseAPIServerCache lists with resourceVersion=0: served from the
	// apiserver's watch cache instead of a quorum read from etcd. Cheaper for
	// the cluster, possibly slightly stale, and the apiserver then ignores
	// the limit and sends the whole list at once (seen with 1.37).
	UseAPIServerCache bool `yaml:"use_apiserver_cache,omitempty"`
}

// DefaultKubernetesConfig fills what a kubernetes block leaves out.
var DefaultKubernetesConfig = KubernetesConfig{
	Naming:    NamingKubeAPIExporter,
	Resources: []string{"deployments"},
	PageSize:  500,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *KubernetesConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultKubernetesConfig
	// A fresh slice, so decoding never writes into the default's array.
	c.Resources = append([]string(nil), DefaultKubernetesConfig.Resources...)
	type plain KubernetesConfig
	return unmarshal((*plain)(c))
}

// IsEnabled reports whether the block is present and not switched off.
func (c *KubernetesConfig) IsEnabled() bool {
	return c != nil && (c.Enabled == nil || *c.Enabled)
}

// SetDirectory resolves relative file paths against dir.
func (c *KubernetesConfig) SetDirectory(dir string) {
	c.Kubeconfig = commoncfg.JoinDir(dir, c.Kubeconfig)
}

// isDNSLabel reports whether s matches ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, the
// form of a namespace name (RFC 1123 label) and of each dot-separated part of
// "resource[.version][.group]". A loop rather than a regexp: package-level
// regexps are compiled at every start, "liftpush version" included.
func isDNSLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// maxPageSize caps page_size: the apiserver accepts more, but a page is what
// the collector holds in memory at once.
const maxPageSize = 10000

// Validate checks the block. Errors name the key, the value and the fix.
func (c *KubernetesConfig) Validate() error {
	var errs []error
	switch c.Naming {
	case NamingKubeAPIExporter, NamingKubeStateMetrics:
	default:
		errs = append(errs, fmt.Errorf("naming: %q is not a naming scheme; use %q (k8s_deployment_spec_replicas{namespace,name}) or %q (kube_deployment_spec_replicas{namespace,deployment})",
			c.Naming, NamingKubeAPIExporter, NamingKubeStateMetrics))
	}
	if len(c.Resources) == 0 {
		errs = append(errs, errors.New(`resources: must not be empty; list what to collect, e.g. [deployments] (the default when the key is left out)`))
	}
	seen := map[string]int{}
	for i, r := range c.Resources {
		if err := checkResource(r); err != nil {
			errs = append(errs, fmt.Errorf("resources[%d]: %w", i, err))
			continue
		}
		if j, ok := seen[r]; ok {
			errs = append(errs, fmt.Errorf("resources[%d]: %q is already listed at resources[%d]; remove one", i, r, j))
			continue
		}
		seen[r] = i
	}
	seenNS := map[string]int{}
	for i, ns := range c.Namespaces {
		if !isDNSLabel(ns) || len(ns) > 63 {
			errs = append(errs, fmt.Errorf("namespaces[%d]: %q is not a namespace name; use lower-case letters, digits and '-', at most 63 characters", i, ns))
			continue
		}
		if j, ok := seenNS[ns]; ok {
			errs = append(errs, fmt.Errorf("namespaces[%d]: %q is already listed at namespaces[%d]; remove one", i, ns, j))
			continue
		}
		seenNS[ns] = i
	}
	if c.LabelSelector != "" {
		if _, err := k8slabels.Parse(c.LabelSelector); err != nil {
			errs = append(errs, fmt.Errorf("label_selector: %q is not a label selector (%w); use the kubectl -l syntax, e.g. \"app=web,tier!=cache\"", c.LabelSelector, err))
		}
	}
	if c.PageSize < 1 || c.PageSize > maxPageSize {
		errs = append(errs, fmt.Errorf("page_size: %d is out of range; use 1 to %d (default 500)", c.PageSize, maxPageSize))
	}
	return errors.Join(errs...)
}

// checkResource accepts kubectl's "resource", "resource.group" and
// "resource.version.group" forms. Whether the resource exists is for the
// server to say; this only rejects what could never name one.
func checkResource(r string) error {
	const fix = `use the plural resource name as kubectl does, e.g. "deployments", "statefulsets.apps" or "workerpools.v1beta1.workers.spacelift.io"`
	if r == "" {
		return fmt.Errorf("empty resource name; %s", fix)
	}
	for _, part := range strings.Split(r, ".") {
		if !isDNSLabel(part) {
			return fmt.Errorf("%q is not a resource name; %s", r, fix)
		}
	}
	return nil
}
