package config

import commoncfg "github.com/prometheus/common/config"

// PushgatewayConfig configures one Pushgateway destination.
type PushgatewayConfig struct {
	Name             string                     `yaml:"name,omitempty"`
	URL              *commoncfg.URL             `yaml:"url"`
	Job              string                     `yaml:"job,omitempty"`
	Grouping         map[string]string          `yaml:"grouping,omitempty"`
	Method           string                     `yaml:"method"`
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
}

// DefaultPushgatewayConfig fills what a pushgateway entry leaves out.
var DefaultPushgatewayConfig = PushgatewayConfig{
	Method:           "put",
	HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *PushgatewayConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultPushgatewayConfig
	type plain PushgatewayConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.HTTPClientConfig.Validate()
}

// Validate checks the entry. The Pushgateway issue fills this in.
func (c *PushgatewayConfig) Validate() error {
	if err := checkHTTPURL("url", c.URL, "the Pushgateway's base URL, e.g. http://pushgateway:9091"); err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = "pushgateway/" + c.URL.Host
	}
	return nil
}
