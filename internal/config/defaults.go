package config

import (
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// SetDefaults fills what a block's UnmarshalYAML cannot: values that depend
// on other blocks (a Pushgateway's job, default destination names) or that
// entries added by flags need too. Load calls it, and Overrides.Apply after
// flags added entries; Validate only reads. It is idempotent: a name once
// given is kept, as spool directories are keyed by it.
func (c *Config) SetDefaults() {
	c.Global.scrapeDefaults()
	for _, s := range c.ScrapeConfigs {
		s.SetDefaults(c.Global)
	}
	for _, rw := range c.RemoteWrite {
		rw.SetDefaults()
	}
	for _, pg := range c.Pushgateway {
		pg.SetDefaults(c.Global)
	}
	c.nameDestinations()
}

// SetDefaults fills the relabel rules' name validation scheme. An empty
// name stays empty: default names depend on the other entries, so
// Config.SetDefaults gives them.
func (c *RemoteWriteConfig) SetDefaults() {
	setRelabelDefaults(c.WriteRelabelConfigs)
	if c.AzureAD != nil {
		// azuread's default cloud and workload identity token file.
		c.AzureAD.AzureADConfig = *c.AzureAD.withDefaults()
	}
}

// SetDefaults takes the job from global.job when the entry has none, and
// accepts the method in any case.
func (c *PushgatewayConfig) SetDefaults(global GlobalConfig) {
	if c.Job == "" {
		c.Job = global.Job
	}
	c.Method = strings.ToLower(c.Method)
}

// setRelabelDefaults sets the scheme Prometheus' relabel.Config.Validate
// would: relabelling panics on an unset one, and Validate here runs the
// check on a copy so as not to write it.
func setRelabelDefaults(rcs []*relabel.Config) {
	for _, rc := range rcs {
		if rc != nil && rc.NameValidationScheme == model.UnsetValidation {
			rc.NameValidationScheme = model.UTF8Validation
		}
	}
}
