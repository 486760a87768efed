package config

import (
	promconfig "github.com/prometheus/prometheus/config"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
)

func TestGoodConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadFile(f)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if cfg.HasSource() && cfg.HasDestination() {
				if err := cfg.ValidateRun(); err != nil {
					t.Fatalf("ValidateRun: %v", err)
				}
			}
			// The printed config must load again to the same values.
			again, err := Load([]byte(cfg.String()))
			if err != nil {
				t.Fatalf("Load(String()): %v\n%s", err, cfg)
			}
			if got, want := again.String(), cfg.String(); got != want {
				t.Errorf("String() does not round-trip:\n%s", cmp.Diff(want, got))
			}
		})
	}
}

func TestGoodConfigValues(t *testing.T) {
	cfg := mustLoadFile(t, "testdata/rw-full.good.yml")
	rw := cfg.RemoteWrite[0]
	if got, want := rw.HTTPClientConfig.BasicAuth.PasswordFile, filepath.Join("testdata", "secrets", "gc-token"); got != want {
		t.Errorf("password_file = %q, want %q (resolved against the config's directory)", got, want)
	}
	if diff := cmp.Diff(QueueConfig{
		MaxSamplesPerSend: 500, MaxShards: 2,
		MinBackoff: model.Duration(100 * time.Millisecond), MaxBackoff: model.Duration(10 * time.Second),
		Capacity: 10000, MinShards: 1, BatchSendDeadline: model.Duration(5 * time.Second),
	}, rw.QueueConfig); diff != "" {
		t.Errorf("queue_config (-want +got):\n%s", diff)
	}

	cfg = mustLoadFile(t, "testdata/rw-minimal.good.yml")
	rw = cfg.RemoteWrite[0]
	if rw.Name != "remote_write/prometheus.example.com/api/v1/write" {
		t.Errorf("default name = %q", rw.Name)
	}
	if diff := cmp.Diff(DefaultQueueConfig, rw.QueueConfig); diff != "" {
		t.Errorf("default queue_config (-want +got):\n%s", diff)
	}
	if rw.RemoteTimeout != DefaultRemoteWriteConfig.RemoteTimeout || rw.ProtobufMessage != WriteRequestV1 {
		t.Errorf("defaults not applied: remote_timeout %s, protobuf_message %q", rw.RemoteTimeout, rw.ProtobufMessage)
	}

	cfg = mustLoadFile(t, "testdata/global-empty.good.yml")
	wantGlobal := DefaultGlobalConfig
	wantGlobal.ScrapeInterval = model.Duration(time.Minute) // from the schedule
	wantGlobal.intervalFromSchedule = true
	if diff := cmp.Diff(wantGlobal, cfg.Global, cmp.AllowUnexported(GlobalConfig{})); diff != "" {
		t.Errorf("empty file global (-want +got):\n%s", diff)
	}
	if got, want := cfg.Global.ShutdownTimeout, model.Duration(10*time.Second); got != want {
		t.Errorf("default shutdown_timeout = %s, want %s", got, want)
	}
	cfg = mustLoadFile(t, "testdata/global-full.good.yml")
	if got, want := cfg.Global.ShutdownTimeout, model.Duration(30*time.Second); got != want {
		t.Errorf("shutdown_timeout = %s, want %s", got, want)
	}

	cfg = mustLoadFile(t, "testdata/scrape-full.good.yml")
	sc := cfg.ScrapeConfigs[0]
	if !sc.HonorLabels || sc.HonorTimestamps || sc.Params.Get("module") != "http_2xx" {
		t.Errorf("scrape fields not decoded: %+v", sc)
	}
	cfg = mustLoadFile(t, "testdata/scrape-file.good.yml")
	if diff := cmp.Diff(promconfig.DefaultScrapeProtocols, cfg.ScrapeConfigs[0].ScrapeProtocols); diff != "" {
		t.Errorf("default scrape_protocols (-want +got):\n%s", diff)
	}
}

func mustLoadFile(t *testing.T, f string) *Config {
	t.Helper()
	cfg, err := LoadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

const lineBreak = "\n"

var ownTable = regexp.MustCompile(`^(spacelift|pushgateway|kubernetes)-`)

func TestBadConfigs(t *testing.T) {
	const rwURL = `url "http://localhost:9090/api/v1/write"`
	const rwHint = "set the receiver's write endpoint, e.g. https://prometheus.example.com/api/v1/write"
	const durHint = "; use a positive duration such as 30s, 1m or 1h30m"
	const oneCredential = "only one kind of credentials may be set (one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam); keep the one the receiver expects"
	tests := map[string]string{
		"global-unknown-key.bad.yml":             `parsing YAML: line 3: unknown key "schedul"`,
		"spool-bad-size.bad.yml":                 `parsing YAML: spool.max_size: "lots" is not a size; use a number with a unit such as 512MiB or 2GiB`,
		"spool-unwritable.bad.yml":               "spool.max_age: must be positive, got 0s\nspool.dir: \"/dev/null/liftpush-spool\" cannot be created: \"/dev/null\" is not a directory; mount a writable volume there (the chart's spool.persistence) or set --spool.dir",
		"global-duplicate-key.bad.yml":           `parsing YAML: line 3: key "job" is set twice; keep one`,
		"global-top-level-unknown-key.bad.yml":   `parsing YAML: line 3: unknown key "remote_writes"`,
		"global-bad-schedule.bad.yml":            `global.schedule: "every minute" is not a cron spec (expected 5 to 6 fields, found 2: [every minute]); use e.g. "*/5 * * * *" or "@every 1m"`,
		"global-negative-every.bad.yml":          `global.schedule: "@every -1m" has an interval below one second; use e.g. "@every 1m"`,
		"global-bad-external-label.bad.yml":      `global.external_labels: "1cluster" is not a valid label name; use letters, digits and underscores, not starting with a digit`,
		"global-reserved-external-label.bad.yml": `global.external_labels: label name "__cluster" is reserved (names starting with __ are internal)`,
		"global-empty-external-label.bad.yml":    `global.external_labels: label "cluster" has an empty value; an empty value means no label, drop the key instead`,
		"global-negative-cycle-timeout.bad.yml":  `parsing YAML: global: not a valid duration string: "-5s"` + durHint,
		"global-empty-job.bad.yml":               `global.job: must not be empty; it becomes the job label of the built-in collectors' series (default "liftpush")`,
		"global-zero-shutdown-timeout.bad.yml":   `global.shutdown_timeout: must be positive, got 0s`,

		"rw-unknown-key.bad.yml":                  `parsing YAML: line 3: unknown key "timeout"`,
		"rw-missing-url.bad.yml":                  `remote_write[0]: url: missing; ` + rwHint,
		"rw-bad-scheme.bad.yml":                   `remote_write[0]: url: "ftp://user:xxxxx@example.com/write" must start with http:// or https://; ` + rwHint,
		"rw-no-host.bad.yml":                      `remote_write[0]: url: "http:///api/v1/write" has no host; ` + rwHint,
		"rw-unparsable-url.bad.yml":               `parsing YAML: remote_write: parse "http://[::1/write": missing ']' in host`,
		"rw-reserved-header.bad.yml":              `remote_write[0]: headers: "content-type" is set by liftpush and cannot be overridden; for credentials use basic_auth, authorization, oauth2, sigv4, azuread or google_iam`,
		"rw-authorization-header.bad.yml":         `remote_write[0]: headers: "Authorization" is set by liftpush and cannot be overridden; for credentials use basic_auth, authorization, oauth2, sigv4, azuread or google_iam`,
		"rw-bad-relabel.bad.yml":                  `parsing YAML: remote_write (` + rwURL + "): error parsing regexp: missing closing ): `^(?s:go_()$`",
		"rw-relabel-missing-target.bad.yml":       `remote_write[0]: write_relabel_configs[0]: relabel configuration for replace action requires 'target_label' value`,
		"rw-protobuf-unknown.bad.yml":             `remote_write[0]: protobuf_message: unknown message "WriteRequest"; use "prometheus.WriteRequest" (remote-write 1.0) or "io.prometheus.write.v2.Request" (2.0, falls back to 1.0 where the receiver lacks it)`,
		"rw-basic-auth-and-authorization.bad.yml": `parsing YAML: remote_write (` + rwURL + `): at most one of basic_auth, oauth2 & authorization must be configured`,
		"rw-negative-timeout.bad.yml":             `parsing YAML: remote_write (` + rwURL + `): not a valid duration string: "-1s"` + durHint,
		"rw-bad-queue.bad.yml": `remote_write[0]: queue_config.max_samples_per_send: must be positive, got 0` + lineBreak +
			`remote_write[0]: queue_config.max_shards: must be positive, got -1` + lineBreak +
			`remote_write[0]: queue_config: need 0 < min_backoff <= max_backoff, got min_backoff=5s max_backoff=1s`,
		"rw-empty-entry.bad.yml": `scrape_configs[0]: empty entry; fill it in or remove the lone "-"` + lineBreak +
			`remote_write[1]: empty entry; fill it in or remove the lone "-"`,
		// Decoding stops at the scrape job, as Prometheus' decoder does.
		"rw-empty-relabel-rule.bad.yml": `parsing YAML: scrape_configs (job "a"): metric_relabel_configs[0]: empty rule; fill it in or remove the lone "-"`,
		"rw-two-credentials.bad.yml":    `remote_write[0]: basic_auth, sigv4: ` + oneCredential,
		"rw-three-credentials.bad.yml":  `remote_write[0]: authorization, azuread, google_iam: ` + oneCredential,
		"rw-refused-key.bad.yml":        `remote_write[0]: authorization.credentials_ref: "vault-token" names a secret manager's secret, and liftpush has none; use authorization.credentials_file instead`,
		// The URL's user info silently won over basic_auth (issue 22).
		"rw-userinfo-and-basic-auth.bad.yml":    `remote_write[0]: url and basic_auth: the URL carries a user and password and basic_auth sets credentials too, and only one would be sent; remove the user info from url, or remove basic_auth`,
		"rw-userinfo-and-authorization.bad.yml": `remote_write[0]: url and authorization: the URL carries a user and password and authorization sets credentials too, and only one would be sent; remove the user info from url, or remove authorization`,
		"rw-sigv4-half-keys.bad.yml":            `remote_write[0]: sigv4: access_key and secret_key go together: set both, or neither to use the AWS default credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, IRSA's web identity token, the instance role)`,
		"rw-sigv4-external-id.bad.yml":          `remote_write[0]: sigv4: external_id can only be used with role_arn`,
		"rw-azuread-no-method.bad.yml":          `remote_write[0]: azuread: no way to get a token; set one of managed_identity, workload_identity, oauth, sdk or certificate`,
		"rw-azuread-bad-cloud.bad.yml":          `remote_write[0]: azuread.cloud: unknown cloud "AzureMoon"; use AzurePublic (the default), AzureChina or AzureGovernment`,
		"rw-azuread-two-methods.bad.yml":        `remote_write[0]: azuread.managed_identity, azuread.sdk: only one way to get a token may be set; keep one`,
		"rw-azuread-bad-client-id.bad.yml":      `remote_write[0]: azuread.managed_identity.client_id: "not-a-uuid" is not a UUID; set the user-assigned identity's client ID, or remove it for the system-assigned identity`,
		"rw-bad-queue-keys.bad.yml": `remote_write[0]: metadata_config.send_interval: must be positive when send is true, got 0s; e.g. 1m` + lineBreak +
			`remote_write[0]: metadata_config.max_samples_per_send: must be positive when send is true, got 0; e.g. 2000` + lineBreak +
			`remote_write[0]: queue_config.min_shards: 5 is more than max_shards 4; lower min_shards or raise max_shards (liftpush's max_shards defaults to 4, Prometheus' to 50)` + lineBreak +
			`remote_write[0]: queue_config.capacity: must be positive, got 0; remove the key (a delivery holds at most two batches per shard, see README)`,
		"rw-zero-min-shards.bad.yml": `remote_write[0]: queue_config.min_shards: must be positive, got 0`,
		"rw-secret-ref.bad.yml": `remote_write[0]: basic_auth.password_ref: "vault/liftpush" names a secret manager's secret, and liftpush has none; use basic_auth.password_file instead` + lineBreak +
			`remote_write[0]: tls_config.ca_ref: "vault/ca" names a secret manager's secret, and liftpush has none; use tls_config.ca_file instead`,
		"rw-reserved-amz-header.bad.yml": `remote_write[0]: headers: "X-Amz-Date" is set by liftpush and cannot be overridden; for credentials use basic_auth, authorization, oauth2, sigv4, azuread or google_iam`,
		"rw-duplicate-name.bad.yml":      `remote_write[1].name: "prom" is already used by remote_write[0]; give each destination a unique name`,
		"rw-duplicate-name-across-kinds.bad.yml": `pushgateway[0].name: "local" is already used by remote_write[1]; give each destination a unique name` + lineBreak +
			`pushgateway[1].name: "local" is already used by remote_write[1]; give each destination a unique name`,

		"scrape-unknown-key.bad.yml":      `parsing YAML: line 5: unknown key "label"`,
		"scrape-duplicate-job.bad.yml":    `scrape_configs[1].job_name: "node" is already used by scrape_configs[0]; job names must be unique`,
		"scrape-missing-job.bad.yml":      `parsing YAML: scrape_configs: job_name: missing; every scrape job needs a name, it becomes the job label`,
		"scrape-unknown-protocol.bad.yml": `scrape_configs[0] (job "node"): scrape_protocols[1]: unknown protocol "JSON"; use one of OpenMetricsText0.0.1, OpenMetricsText1.0.0, OpenMetricsText2.0.0, PrometheusProto, PrometheusText0.0.4, PrometheusText1.0.0`,
		"scrape-duplicate-protocol.bad.yml": `scrape_configs[0] (job "node"): scrape_protocols[2]: "PrometheusText0.0.4" is listed twice; list each protocol once` + lineBreak +
			`scrape_configs[0] (job "node"): scrape_protocols[3]: "PrometheusText0.0.4" is listed twice; list each protocol once` + lineBreak +
			`scrape_configs[0] (job "node"): scrape_protocols[4]: "PrometheusText0.0.4" is listed twice; list each protocol once` + lineBreak +
			`scrape_configs[0] (job "node"): scrape_protocols[5]: "PrometheusText0.0.4" is listed twice; list each protocol once` + lineBreak +
			`scrape_configs[0] (job "node"): scrape_protocols[6]: "PrometheusText0.0.4" is listed twice; list each protocol once`,
		"scrape-target-with-path.bad.yml":             `parsing YAML: scrape_configs (job "node"): "http://a:9100/metrics" is not a valid hostname; a target is host:port: put the path in metrics_path and the scheme in scheme`,
		"scrape-bad-scheme.bad.yml":                   `scrape_configs[0] (job "node"): scheme: "ftp" is not supported; use http, https or file`,
		"scrape-file-no-path.bad.yml":                 `scrape_configs[0] (job "batch"): metrics_path: with scheme file, set metrics_path to the exposition file's absolute path`,
		"scrape-relative-metrics-path.bad.yml":        `scrape_configs[0] (job "node"): metrics_path: "metrics" must start with /`,
		"scrape-negative-timeout.bad.yml":             `parsing YAML: scrape_configs (job "node"): not a valid duration string: "-10s"` + durHint,
		"scrape-duration-garbage.bad.yml":             `parsing YAML: scrape_configs (job "node"): not a valid duration string: "soon"` + durHint,
		"scrape-no-static-configs.bad.yml":            `scrape_configs[0] (job "node"): static_configs: missing; list targets, e.g. static_configs: [{targets: ["host:9100"]}], or discover them with one of file_sd_configs, http_sd_configs, dns_sd_configs, kubernetes_sd_configs`,
		"scrape-empty-targets.bad.yml":                `scrape_configs[0] (job "node"): static_configs[0].targets: empty; list at least one host:port target`,
		"scrape-bad-relabel-action.bad.yml":           `parsing YAML: scrape_configs (job "node"): unknown relabel action "explode"`,
		"scrape-bad-relabel-regex.bad.yml":            "parsing YAML: scrape_configs (job \"node\"): error parsing regexp: missing closing ): `^(?s:(unclosed)$`",
		"scrape-basic-auth-and-authorization.bad.yml": `parsing YAML: scrape_configs (job "node"): at most one of basic_auth, oauth2 & authorization must be configured`,
		"scrape-bad-static-label.bad.yml":             `parsing YAML: scrape_configs (job "node"): "" is not a valid label name`,
	}
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		// The source and destination blocks have their own tables
		// (spacelift_test.go, pushgateway_test.go, kubernetes_test.go).
		if ownTable.MatchString(filepath.Base(f)) {
			continue
		}
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected error in the table", f)
		}
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(b)
			if err == nil {
				cfg.SetDirectory("testdata")
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want %q", want)
			}
			if diff := cmp.Diff(want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFileErrorNamesFile(t *testing.T) {
	_, err := LoadFile("testdata/global-unknown-key.bad.yml")
	want := `testdata/global-unknown-key.bad.yml: parsing YAML: line 3: unknown key "schedul"`
	if err == nil || err.Error() != want {
		t.Errorf("LoadFile error = %v, want %q", err, want)
	}
	_, err = LoadFile(filepath.Join(t.TempDir(), "missing.yml"))
	if err == nil || !strings.HasPrefix(err.Error(), "reading config file: ") {
		t.Errorf("LoadFile(missing) error = %v", err)
	}
}

func TestValidateRun(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "nothing configured",
			yaml: "",
			want: "no source configured: add a scrape_configs, spacelift or kubernetes block, or pass --scrape.url, --spacelift.endpoint or --kubernetes.enabled\n" +
				"no destination configured: add a remote_write or pushgateway block, or pass --remote-write.url or --pushgateway.url",
		},
		{
			name: "source without destination",
			yaml: "scrape_configs: [{job_name: a, static_configs: [{targets: ['a:1']}]}]",
			want: "no destination configured: add a remote_write or pushgateway block, or pass --remote-write.url or --pushgateway.url",
		},
		{
			name: "destination without source",
			yaml: "remote_write: [{url: 'http://a/w'}]",
			want: "no source configured: add a scrape_configs, spacelift or kubernetes block, or pass --scrape.url, --spacelift.endpoint or --kubernetes.enabled",
		},
		{
			name: "validation errors come first",
			yaml: "global: {job: ''}\nremote_write: [{url: 'http://a/w'}]",
			want: "global.job: must not be empty; it becomes the job label of the built-in collectors' series (default \"liftpush\")\n" +
				"no source configured: add a scrape_configs, spacelift or kubernetes block, or pass --scrape.url, --spacelift.endpoint or --kubernetes.enabled",
		},
		{
			name: "complete",
			yaml: "scrape_configs: [{job_name: a, static_configs: [{targets: ['a:1']}]}]\nremote_write: [{url: 'http://a/w'}]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.ValidateRun()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidateRun (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSchedule(t *testing.T) {
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		spec    string
		next    time.Time
		wantErr bool
	}{
		{spec: "@every 1m", next: base.Add(time.Minute)},
		{spec: "*/5 * * * *", next: base.Add(5 * time.Minute)},
		{spec: "30 * * * * *", next: base.Add(30 * time.Second)},
		{spec: "@hourly", next: base.Add(time.Hour)},
		{spec: "", wantErr: true},
		{spec: "* * *", wantErr: true},
		{spec: "@every -1m", wantErr: true},
		{spec: "@every 0s", wantErr: true},
		{spec: "@every 500ms", wantErr: true},
		{spec: "@every 1s", next: base.Add(time.Second)},
		{spec: "61 * * * *", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSchedule(%q) = nil error", tt.spec)
				}
				if !strings.HasPrefix(err.Error(), `global.schedule: "`+tt.spec+`" `) {
					t.Errorf("error %q does not name key and value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(base); !got.Equal(tt.next) {
				t.Errorf("Next(%s) = %s, want %s", base, got, tt.next)
			}
		})
	}
}
