package config

import (
	"github.com/prometheus/common/model"
	"strings"
	"testing"
)

// labelLimitsDoc sets every key whose value becomes a label; each case of
// TestLabelLimits makes one of them too long.
const labelLimitsDoc = `
global: {job: j, external_labels: {cluster: c}}
scrape_configs:
  - job_name: app
    static_configs: [{targets: ['a:1'], labels: {env: prod}}]
    metric_relabel_configs: [{target_label: env, replacement: r}]
remote_write:
  - url: http://localhost:9090/api/v1/write
    headers_from_labels: {X-Scope-OrgID: team}
    write_relabel_configs: [{target_label: env, replacement: r}]
pushgateway:
  - url: http://localhost:9091
    job: j
    grouping: {cluster: c}
`

// TestLabelLimits: a config value over the label limit, which panicked in
// the labels library at the first cycle (issue 22), is a validation error
// naming the key and the limit, and the error stays short. The values are
// set after decoding: decoding 17 MiB of YAML takes seconds under -race,
// and e2e's TestE2ECheckConfigLabelOverLimit reads such a file.
func TestLabelLimits(t *testing.T) {
	huge := strings.Repeat("v", 17<<20) // 17 MiB
	const over = "value of 17825792 bytes: over the limit of 16777215 bytes for a label name or value"
	hugeName := `label name "` + strings.Repeat("v", 251) + `…" (17825792 bytes): over the limit of 16777215 bytes for a label name or value`
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		want string
	}{
		{"global job", func(c *Config) { c.Global.Job = huge }, `global.job: label "job": ` + over},
		{"external label value", func(c *Config) { c.Global.ExternalLabels["cluster"] = huge }, `global.external_labels: label "cluster": ` + over},
		{"external label name", func(c *Config) { c.Global.ExternalLabels[huge] = "x" }, "global.external_labels: " + hugeName},
		{"scrape job_name", func(c *Config) { c.ScrapeConfigs[0].JobName = huge }, `scrape_configs[0].job_name: label "job": ` + over},
		{"static target", func(c *Config) {
			g := c.ScrapeConfigs[0].StaticTargets()[0]
			g.Targets = append(g.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(huge)})
		}, `scrape_configs[0].static_configs[0].targets[1]: label "instance": ` + over},
		{"static label", func(c *Config) { c.ScrapeConfigs[0].StaticTargets()[0].Labels["env"] = model.LabelValue(huge) }, `scrape_configs[0].static_configs[0].labels: label "env": ` + over},
		{"metric relabel replacement", func(c *Config) { c.ScrapeConfigs[0].MetricRelabelConfigs[0].Replacement = huge }, `scrape_configs[0].metric_relabel_configs[0]: label "env": ` + over},
		{"headers_from_labels", func(c *Config) { c.RemoteWrite[0].HeadersFromLabels["X-Scope-OrgID"] = huge }, "remote_write[0].headers_from_labels: " + hugeName},
		{"write relabel replacement", func(c *Config) { c.RemoteWrite[0].WriteRelabelConfigs[0].Replacement = huge }, `remote_write[0].write_relabel_configs[0]: label "env": ` + over},
		{"pushgateway job", func(c *Config) { c.Pushgateway[0].Job = huge }, `pushgateway[0].job: label "job": ` + over},
		{"pushgateway grouping", func(c *Config) { c.Pushgateway[0].Grouping["cluster"] = huge }, `pushgateway[0].grouping: label "cluster": ` + over},
		{"at the limit", func(c *Config) { c.Global.ExternalLabels["zone"] = huge[:1<<24-1] }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(labelLimitsDoc))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the base document is invalid: %v", err)
			}
			tc.set(cfg)
			err = cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %.500v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %.2000q lacks %q", msg, tc.want)
			}
			// Other checks may name the value too; each quotes it cut.
			for line := range strings.SplitSeq(msg, "\n") {
				if len(line) > 1<<10 {
					t.Errorf("an error line is %d bytes: %.300s", len(line), line)
				}
			}
		})
	}
}
