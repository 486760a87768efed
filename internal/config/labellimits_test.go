package config

import (
	"strings"
	"testing"
)

// TestLabelLimits: a config value over the label limit, which panicked in
// the labels library at the first cycle (issue 22), is a validation error
// naming the key and the limit, and the error stays short.
func TestLabelLimits(t *testing.T) {
	huge := strings.Repeat("v", 17<<20) // 17 MiB
	const over = "value of 17825792 bytes: over the limit of 16777215 bytes for a label name or value"
	hugeName := `label name "` + strings.Repeat("v", 251) + `…" (17825792 bytes): over the limit of 16777215 bytes for a label name or value`
	rw := "\nremote_write: [{url: 'http://localhost:9090/api/v1/write'}]\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{
			name: "global job",
			doc:  "global: {job: " + huge + "}" + rw,
			want: `global.job: label "job": ` + over,
		},
		{
			name: "external label value",
			doc:  "global: {external_labels: {cluster: " + huge + "}}" + rw,
			want: `global.external_labels: label "cluster": ` + over,
		},
		{
			name: "external label name",
			// A YAML key over 1024 characters must be an explicit one.
			doc:  "global:\n  external_labels:\n    ? " + huge + "\n    : x\n" + rw,
			want: "global.external_labels: " + hugeName,
		},
		{
			name: "scrape job_name",
			doc:  "scrape_configs: [{job_name: " + huge + ", static_configs: [{targets: ['a:1']}]}]" + rw,
			want: `scrape_configs[0].job_name: label "job": ` + over,
		},
		{
			name: "static target",
			doc:  "scrape_configs: [{job_name: j, static_configs: [{targets: ['a:1', " + huge + "]}]}]" + rw,
			want: `scrape_configs[0].static_configs[0].targets[1]: label "instance": ` + over,
		},
		{
			name: "static label",
			doc:  "scrape_configs: [{job_name: j, static_configs: [{targets: ['a:1'], labels: {env: " + huge + "}}]}]" + rw,
			want: `scrape_configs[0].static_configs[0].labels: label "env": ` + over,
		},
		{
			name: "metric relabel replacement",
			doc:  "scrape_configs: [{job_name: j, static_configs: [{targets: ['a:1']}], metric_relabel_configs: [{target_label: env, replacement: " + huge + "}]}]" + rw,
			want: `scrape_configs[0].metric_relabel_configs[0]: label "env": ` + over,
		},
		{
			name: "headers_from_labels",
			doc:  "remote_write: [{url: 'http://localhost:9090/api/v1/write', headers_from_labels: {X-Scope-OrgID: " + huge + "}}]\n",
			want: "remote_write[0].headers_from_labels: " + hugeName,
		},
		{
			name: "write relabel replacement",
			doc:  "remote_write: [{url: 'http://localhost:9090/api/v1/write', write_relabel_configs: [{target_label: env, replacement: " + huge + "}]}]\n",
			want: `remote_write[0].write_relabel_configs[0]: label "env": ` + over,
		},
		{
			name: "pushgateway job",
			doc:  "pushgateway: [{url: 'http://localhost:9091', job: " + huge + "}]\n",
			want: `pushgateway[0].job: label "job": ` + over,
		},
		{
			name: "pushgateway grouping",
			doc:  "pushgateway: [{url: 'http://localhost:9091', grouping: {cluster: " + huge + "}}]\n",
			want: `pushgateway[0].grouping: label "cluster": ` + over,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Load: %.500v", err)
			}
			err = cfg.Validate()
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

// TestLabelLimitsAtTheLimit: a value of exactly the limit is valid.
func TestLabelLimitsAtTheLimit(t *testing.T) {
	doc := "global: {external_labels: {cluster: " + strings.Repeat("v", 1<<24-1) + "}}\n"
	cfg, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %.500v", err)
	}
}
