package config

import (
	"github.com/prometheus/common/model"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOverridesApply(t *testing.T) {
	cfg, err := Load([]byte(`
global:
  external_labels: {cluster: from-file, region: eu}
remote_write:
  - url: http://file.example.com/api/v1/write
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["node:9100"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = Overrides{
		RemoteWriteURLs: []string{"https://flag.example.com/api/v1/write"},
		ScrapeURLs:      []string{"http://app.example.com:8080/custom/metrics?format=prom", "file:///var/lib/batch.prom"},
		ExternalLabels:  []string{"cluster=from-flag", "env=prod", "dashed=a=b"},
	}.Apply(cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := cfg.ValidateRun(); err != nil {
		t.Fatalf("ValidateRun: %v", err)
	}

	var urls []string
	for _, rw := range cfg.RemoteWrite {
		urls = append(urls, rw.URL.String())
	}
	if diff := cmp.Diff([]string{"http://file.example.com/api/v1/write", "https://flag.example.com/api/v1/write"}, urls); diff != "" {
		t.Errorf("remote_write URLs (-want +got):\n%s", diff)
	}
	if flagRW := cfg.RemoteWrite[1]; flagRW.Name != "remote_write/flag.example.com/api/v1/write" || flagRW.QueueConfig != DefaultQueueConfig {
		t.Errorf("flag remote_write lacks defaults: name %q queue %+v", flagRW.Name, flagRW.QueueConfig)
	}

	type job struct {
		Name, Scheme, Path string
		Params             url.Values
		Targets            []string
	}
	var jobs []job
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, job{sc.JobName, sc.Scheme, sc.MetricsPath, sc.Params, staticAddrs(sc)})
	}
	want := []job{
		{"node", "http", "/metrics", nil, []string{"node:9100"}},
		{"app.example.com", "http", "/custom/metrics", url.Values{"format": {"prom"}}, []string{"app.example.com:8080"}},
		{"file", "file", "/var/lib/batch.prom", nil, nil},
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("scrape jobs (-want +got):\n%s", diff)
	}

	wantLabels := map[string]string{"cluster": "from-flag", "region": "eu", "env": "prod", "dashed": "a=b"}
	if diff := cmp.Diff(wantLabels, cfg.Global.ExternalLabels); diff != "" {
		t.Errorf("external labels (-want +got):\n%s", diff)
	}
}

func TestOverridesOnDefault(t *testing.T) {
	cfg := Default()
	if err := (Overrides{
		RemoteWriteURLs: []string{"http://localhost:9090/api/v1/write"},
		ScrapeURLs:      []string{"http://localhost:9100"},
		ExternalLabels:  []string{"cluster=lab"},
	}).Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateRun(); err != nil {
		t.Errorf("a one-liner's config does not validate: %v", err)
	}
	if got := cfg.ScrapeConfigs[0].MetricsPath; got != "/metrics" {
		t.Errorf("metrics_path = %q, want /metrics", got)
	}
}

func TestOverridesErrors(t *testing.T) {
	tests := []struct {
		name     string
		o        Overrides
		want     string
		validate string
	}{
		{
			name: "external label without =",
			o:    Overrides{ExternalLabels: []string{"cluster"}},
			want: `--external-label "cluster": want name=value`,
		},
		{
			name:     "external label with a bad name is caught by Validate",
			o:        Overrides{ExternalLabels: []string{"bad-name=x"}},
			validate: `global.external_labels: "bad-name" is not a valid label name; use letters, digits and underscores, not starting with a digit`,
		},
		{
			name:     "external label with an empty value is caught by Validate",
			o:        Overrides{ExternalLabels: []string{"cluster="}},
			validate: `global.external_labels: label "cluster" has an empty value; an empty value means no label, drop the key instead`,
		},
		{
			name: "scrape URL with a bad scheme",
			o:    Overrides{ScrapeURLs: []string{"ftp://host/metrics"}},
			want: `--scrape.url "ftp://host/metrics": scheme must be http, https or file`,
		},
		{
			name: "file URL with a host",
			o:    Overrides{ScrapeURLs: []string{"file://metrics/batch.prom"}},
			want: `--scrape.url "file://metrics/batch.prom": a file URL needs an absolute path, e.g. file:///var/lib/metrics.prom`,
		},
		{
			name: "unparsable scrape URL",
			o:    Overrides{ScrapeURLs: []string{"http://[::1"}},
			want: `--scrape.url "http://[::1": parse "http://[::1": missing ']' in host`,
		},
		{
			name: "unparsable remote-write URL",
			o:    Overrides{RemoteWriteURLs: []string{"http://[::1"}},
			want: `--remote-write.url "http://[::1": parse "http://[::1": missing ']' in host`,
		},
		{
			name:     "remote-write URL without scheme is caught by Validate",
			o:        Overrides{RemoteWriteURLs: []string{"localhost:9090/api/v1/write"}},
			validate: `remote_write[0]: url: "localhost:9090/api/v1/write" must start with http:// or https://; set the receiver's write endpoint, e.g. https://prometheus.example.com/api/v1/write`,
		},
		{
			name: "several errors are all reported",
			o:    Overrides{ExternalLabels: []string{"a", "b"}},
			want: "--external-label \"a\": want name=value\n--external-label \"b\": want name=value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			err := tt.o.Apply(cfg)
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Fatalf("Apply error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.validate, errText(cfg.Validate())); diff != "" {
				t.Errorf("Validate error (-want +got):\n%s", diff)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestScrapeURLCredentials(t *testing.T) {
	sc, err := NewScrapeFromURL("https://user:SECRET-pw@app.example.com/metrics")
	if err != nil {
		t.Fatal(err)
	}
	ba := sc.HTTPClientConfig.BasicAuth
	if ba == nil || ba.Username != "user" || string(ba.Password) != "SECRET-pw" {
		t.Fatalf("basic_auth = %+v, want the URL's credentials", ba)
	}
	if diff := cmp.Diff([]string{"app.example.com"}, staticAddrs(sc)); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	cfg := Default()
	cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, sc)
	if strings.Contains(cfg.String(), "SECRET-pw") {
		t.Errorf("String() shows the password:\n%s", cfg)
	}
}

// staticAddrs lists the addresses of a job's static_configs.
func staticAddrs(sc *ScrapeConfig) []string {
	var out []string
	for _, g := range sc.StaticTargets() {
		for _, t := range g.Targets {
			out = append(out, string(t[model.AddressLabel]))
		}
	}
	return out
}
