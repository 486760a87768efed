package config

import commoncfg "github.com/prometheus/common/config"

// KubernetesConfig configures the Kubernetes collector.
type KubernetesConfig struct {
	Enabled       *bool    `yaml:"enabled,omitempty"`
	Kubeconfig    string   `yaml:"kubeconfig,omitempty"`
	Namespaces    []string `yaml:"namespaces,omitempty"`
	LabelSelector string   `yaml:"label_selector,omitempty"`
	Naming        string   `yaml:"naming"`
	Resources     []string `yaml:"resources"`
}

// DefaultKubernetesConfig fills what a kubernetes block leaves out.
var DefaultKubernetesConfig = KubernetesConfig{
	Naming:    "kube-api-exporter",
	Resources: []string{"deployments"},
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *KubernetesConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultKubernetesConfig
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

// Validate checks the block. The Kubernetes issue fills this in.
func (c *KubernetesConfig) Validate() error { return nil }
