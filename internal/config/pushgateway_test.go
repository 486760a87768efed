package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// loadPushgatewayFixture loads a testdata file as a user would hand it in
// and returns the config and the message they would read.
func loadPushgatewayFixture(t *testing.T, name string) (*Config, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(b)
	if err != nil {
		return nil, err.Error()
	}
	cfg.SetDirectory("testdata")
	if err := cfg.Validate(); err != nil {
		return cfg, err.Error()
	}
	return cfg, ""
}

func TestPushgatewayConfigBad(t *testing.T) {
	want := map[string]string{
		"pushgateway-method.bad.yml":                  `pushgateway[0]: method: "patch" is not supported; use "put" (replace each group) or "post" (replace only the metric names pushed)`,
		"pushgateway-format.bad.yml":                  `pushgateway[0]: format: "json" is not supported; use "text" or "protobuf"`,
		"pushgateway-grouping-reserved.bad.yml":       `pushgateway[0]: grouping: label "instance" is set by liftpush (job and collector for built-in collectors, job and instance for scrape targets); use job: to change the job, or another label name`,
		"pushgateway-grouping-name.bad.yml":           `pushgateway[0]: grouping: "team-name" is not a valid label name; use letters, digits and underscores, not starting with a digit`,
		"pushgateway-grouping-empty.bad.yml":          `pushgateway[0]: grouping: label "team" has an empty value; an empty value means no label, drop the key instead`,
		"pushgateway-grouping-external.bad.yml":       `pushgateway[0]: grouping: label "cluster"="edge-2" collides with global.external_labels "cluster"="edge-1"; the Pushgateway would overwrite one with the other, use the same value or drop one`,
		"pushgateway-timeout.bad.yml":                 `pushgateway[0]: timeout: 1m is longer than global.cycle_timeout 30s; a destination's budget lives inside the cycle`,
		"pushgateway-metrics-path.bad.yml":            `pushgateway[0]: url: "http://pushgateway:9091/metrics/job/x" includes the /metrics path; give the base URL only, liftpush adds /metrics/job/... itself`,
		"pushgateway-no-url.bad.yml":                  `pushgateway[0]: url: missing; set the Pushgateway's base URL, e.g. http://pushgateway:9091`,
		"pushgateway-unknown-key.bad.yml":             `parsing YAML: line 3: unknown key "grouping_key"`,
		"pushgateway-two-tokens.bad.yml":              `parsing YAML: authorization is not compatible with bearer_token & bearer_token_file`,
		"pushgateway-userinfo-and-basic-auth.bad.yml": `pushgateway[0]: url and basic_auth: the URL carries a user and password and basic_auth sets credentials too, and only one would be sent; remove the user info from url, or remove basic_auth`,
	}
	files, err := filepath.Glob("testdata/pushgateway-*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d bad fixtures, %d expectations; keep them in step", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			_, got := loadPushgatewayFixture(t, name)
			if diff := cmp.Diff(want[name], got); diff != "" {
				t.Errorf("error message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPushgatewayConfigGood(t *testing.T) {
	type effective struct {
		Name, Job, Method, Format string
		Grouping                  map[string]string
		Timeout                   time.Duration
		DeleteOnShutdown          bool
		Authorization             *commoncfg.Authorization
		Warnings                  []string
	}
	tests := []struct {
		file string
		want effective
	}{
		{
			file: "pushgateway-minimal.good.yml",
			want: effective{Name: "pushgateway/pushgateway:9091", Job: "liftpush", Method: "put", Format: "text"},
		},
		{
			file: "pushgateway-full.good.yml",
			want: effective{
				Name: "local", Job: "liftpush-pg", Method: "post", Format: "protobuf",
				Grouping: map[string]string{"cluster": "edge-1", "team": "infra"},
				Timeout:  20 * time.Second, DeleteOnShutdown: true,
			},
		},
		{
			file: "pushgateway-legacy-bearer.good.yml",
			want: effective{
				Name: "pushgateway/pushgateway:9091", Job: "liftpush", Method: "put", Format: "text",
				Authorization: &commoncfg.Authorization{Type: "Bearer", CredentialsFile: "testdata/secrets/pgw-token"},
				Warnings:      []string{"pushgateway[0].bearer_token_file is deprecated; use authorization: {credentials: ...} or {credentials_file: ...} instead"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, msg := loadPushgatewayFixture(t, tt.file)
			if msg != "" {
				t.Fatalf("unexpected error: %s", msg)
			}
			pg := cfg.Pushgateway[0]
			got := effective{
				Name: pg.Name, Job: pg.Job, Method: pg.Method, Format: pg.Format, Grouping: pg.Grouping,
				Timeout: time.Duration(pg.Timeout), DeleteOnShutdown: pg.DeleteOnShutdown,
				Authorization: pg.HTTPClientConfig.Authorization, Warnings: cfg.Warnings(),
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("effective config (-want +got):\n%s", diff)
			}
		})
	}
}

// The --pushgateway.url flag builds an entry with the same defaults as the
// file, and --pushgateway.job replaces the job.
func TestPushgatewayOverrides(t *testing.T) {
	cfg := Default()
	o := Overrides{PushgatewayURLs: []string{"http://127.0.0.1:9091"}, PushgatewayJob: "ci"}
	if err := o.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pg := cfg.Pushgateway[0]
	got := []string{pg.Name, pg.Job, pg.Method, pg.Format}
	if diff := cmp.Diff([]string{"pushgateway/127.0.0.1:9091", "ci", "put", "text"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if pg.Timeout != model.Duration(0) {
		t.Errorf("timeout = %s, want 0 (the rest of the cycle)", pg.Timeout)
	}
}

// The legacy bearer token keys of Chainloop's guide and older
// prometheus.yml files still work: they become authorization, and
// Warnings names them so check-config and run can log a deprecation.
func TestLegacyBearerWarnings(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantAuth   commoncfg.Authorization
		want       []string
	}{
		{
			name:     "scrape bearer_token",
			yaml:     "scrape_configs: [{job_name: chainloop, scheme: https, bearer_token: T, static_configs: [{targets: [cp:443]}]}]",
			wantAuth: commoncfg.Authorization{Type: "Bearer", Credentials: "T"},
			want:     []string{`scrape_configs[0] (job "chainloop").bearer_token is deprecated; use authorization: {credentials: ...} or {credentials_file: ...} instead`},
		},
		{
			name:     "scrape bearer_token_file",
			yaml:     "scrape_configs: [{job_name: wpc, scheme: https, bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token, static_configs: [{targets: [wpc:8443]}]}]",
			wantAuth: commoncfg.Authorization{Type: "Bearer", CredentialsFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"},
			want:     []string{`scrape_configs[0] (job "wpc").bearer_token_file is deprecated; use authorization: {credentials: ...} or {credentials_file: ...} instead`},
		},
		{
			name:     "authorization is not deprecated",
			yaml:     "scrape_configs: [{job_name: c, scheme: https, authorization: {credentials_file: /t}, static_configs: [{targets: [cp:443]}]}]",
			wantAuth: commoncfg.Authorization{Type: "Bearer", CredentialsFile: "/t"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			// The token files are a pod's, not this machine's.
			if err := errors.Join(cfg.validate()...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Warnings()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAuth, *cfg.ScrapeConfigs[0].HTTPClientConfig.Authorization); diff != "" {
				t.Errorf("authorization (-want +got):\n%s", diff)
			}
		})
	}
}
