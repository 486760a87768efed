package config

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
)

// liftpushOnly are the values liftpush refuses on purpose where Prometheus
// 3.16 takes them, each matched by the start of liftpush's error line
// (after "remote_write[i]: "). Every other refusal must be Prometheus' too.
var liftpushOnly = []struct {
	line *regexp.Regexp
	why  string
}{
	{regexp.MustCompile(`^url: `), "liftpush sends to absolute http(s) URLs only; Prometheus takes any URL and fails when it sends"},
	{regexp.MustCompile(`^url and [a-z0-9_]+: the URL carries a user and password`), "Prometheus sends one of the two credentials and silently ignores the other (issue 22)"},
	{regexp.MustCompile(`^remote_timeout: must be positive`), "a zero timeout fails every request"},
	{regexp.MustCompile(`^queue_config: need 0 < min_backoff`), "a zero min_backoff retries without waiting"},
	{regexp.MustCompile(`^queue_config\.min_shards: \d+ is more than max_shards 4;`), "max_shards defaults to 4 in liftpush, 50 in Prometheus"},
	{regexp.MustCompile(`^metadata_config\.(send_interval|max_samples_per_send): must be positive when send is true`), "Prometheus panics (ticker) or never sends with these"},
	{regexp.MustCompile(`^[a-z0-9_.]*_ref: .* names a secret manager's secret`), "Prometheus 3.16 has no secret manager either, and fails when it builds the client"},
}

// liftpushKeys are remote_write keys of liftpush's own, which Prometheus
// refuses as unknown ("field x not found").
var liftpushKeys = []string{"headers_from_labels"}

// FuzzRemoteWriteLikePrometheus decodes a remote_write section with
// liftpush (Load, then Validate) and with Prometheus 3.16 (config.Load):
// both must accept it, or both refuse it, but for liftpushOnly.
func FuzzRemoteWriteLikePrometheus(f *testing.F) {
	addSections(f, "testdata/rw-*.yml", "remote_write:")
	for _, s := range []string{
		// Grafana Cloud, with the token inline as its page shows it.
		"- url: https://prometheus-prod-13-prod-us-east-0.grafana.net/api/prom/push\n  basic_auth: {username: '1234567', password: glc_eyJvIjoiMSJ9}",
		// Amazon Managed Prometheus, its recommended queue.
		"- url: https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write\n  queue_config: {max_samples_per_send: 1000, max_shards: 200, capacity: 2500}\n  sigv4: {region: us-west-2}",
		"- url: https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write\n  sigv4: {region: us-west-2, access_key: AKIA, secret_key: s, role_arn: 'arn:aws:iam::1:role/r', tags: {a: b}}",
		// Azure Monitor: managed identity, workload identity, app secret.
		"- url: https://dce.westeurope-1.metrics.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Microsoft-PrometheusMetrics/api/v1/write?api-version=2023-04-24\n  azuread: {cloud: AzurePublic, managed_identity: {client_id: 00000000-1111-2222-3333-444444444444}}",
		"- url: https://dce.example/api/v1/write\n  azuread: {workload_identity: {client_id: 00000000-1111-2222-3333-444444444444, tenant_id: 55555555-6666-7777-8888-999999999999}}",
		"- url: https://dce.example/api/v1/write\n  azuread: {oauth: {client_id: 00000000-1111-2222-3333-444444444444, client_secret: s, tenant_id: contoso.onmicrosoft.com}}",
		"- url: https://dce.example/api/v1/write\n  azuread: {sdk: {tenant_id: t}, cloud: AzureChina}",
		"- url: https://dce.example/api/v1/write\n  azuread: {certificate: {client_id: 00000000-1111-2222-3333-444444444444, tenant_id: t, certificate_path: /c.pem}}",
		"- url: https://dce.example/api/v1/write\n  azuread: {managed_identity: {client_id: nope}}",
		"- url: https://dce.example/api/v1/write\n  azuread: {scope: 'https://x/.default', managed_identity: {}}",
		// Google Cloud Managed Service for Prometheus.
		"- url: https://monitoring.googleapis.com/v1/projects/p/location/global/prometheus/api/v1/write\n  google_iam: {credentials_file: /etc/sa.json}",
		// Mimir, a tenant per entry.
		"- url: http://mimir:8080/api/v1/push\n  headers: {X-Scope-OrgID: a}\n- url: http://mimir:8080/api/v1/push\n  headers: {X-Scope-OrgID: b}",
		// What one of the two refuses.
		"- url: http://h/w\n  sigv4: {}\n  oauth2: {client_id: a, token_url: http://t}",
		"- url: http://h/w\n  headers: {Host: x}",
		"- url: ftp://h/w",
		"- url: http://h/w\n  queue_config: {min_shards: 10}",
		"- url: http://h/w\n  queue_config: {min_shards: 10, max_shards: 5}",
		"- url: http://h/w\n  queue_config: {capacity: -1, sample_age_limit: 1h, batch_send_deadline: 1s}",
		"- url: http://h/w\n  metadata_config: {send: false, send_interval: 0s}",
		"- url: http://h/w\n  metadata_config:",
		"- url: http://h/w\n  queue_config:",
		"- url: http://h/w\n  send_exemplars: true\n  failed_request_logging: true\n  convert_nhcb_to_classic: true\n  round_robin_dns: true",
		"- url: http://h/w\n  authorization: {credentials_ref: x}",
		"- url: http://h/w\n  name: a\n- url: http://h/v\n  name: a",
		"- url: http://h/w\n  headers_from_labels: {}",
		"- url: http://h/w\n  sigv4: {region: r, session_name: '!'}",
		"- url: http://h/w\n  remote_timeout: 0s\n  queue_config: {min_backoff: 0s}",
		"- url: http://h/w\n  queue_config: {max_backoff: 0s}",
		"- url: http://h/w\n  protobuf_message: ''",
		"- url: h/w",
		"- url: http://h/w\n  headers: {authorization: x, a: 1}",
		"- url: http://h/w\n  sigv4:\n  azuread:\n  google_iam:",
		"- url: http://h/w\n  azuread: {cloud: azurepublic, managed_identity: {}}",
		"- url: http://h/w\n  azuread: {oauth: {client_id: 00000000-1111-2222-3333-444444444444, tenant_id: t}}",
		"- url: http://h/w\n  azuread: {workload_identity: {client_id: 00000000-1111-2222-3333-444444444444}}",
		"- url: http://h/w\n  bearer_token: t\n  google_iam: {}",
		"- url: http://h/w\n  http_headers: {Authorization: {values: [x]}}",
		"- url: http://h/w\n  metadata_config: {send: true, send_interval: 0s}",
	} {
		f.Add(s)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, section string) {
		doc := "remote_write:\n" + indent(section)
		var ours error
		cfg, err := Load([]byte(doc))
		if err == nil {
			// The config alone: Prometheus reads no file when it
			// loads, liftpush's check of the files is its own.
			err = errors.Join(cfg.validate()...)
		}
		ours = err
		_, theirs := promconfig.Load(doc, logger)
		switch {
		case ours == nil && theirs != nil && !ownKey(theirs):
			t.Errorf("liftpush accepts what Prometheus refuses (%v):\n%s", theirs, doc)
		case ours != nil && theirs == nil:
			for _, line := range strings.Split(ours.Error(), "\n") {
				if !documented(line) {
					t.Errorf("liftpush refuses what Prometheus accepts, not a documented difference: %s\n%s", line, doc)
				}
			}
		}
	})
}

// documented reports whether an error line of liftpush's is a deliberate
// difference from Prometheus.
func documented(line string) bool {
	line = regexp.MustCompile(`^remote_write\[\d+\]: `).ReplaceAllString(line, "")
	for _, d := range liftpushOnly {
		if d.line.MatchString(line) {
			return true
		}
	}
	return false
}

// ownKey reports whether Prometheus refused a key of liftpushKeys, and
// nothing else.
func ownKey(err error) bool {
	lines := strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n")
	for _, line := range lines {
		own := false
		for _, k := range liftpushKeys {
			own = own || strings.Contains(line, "field "+k+" not found")
		}
		if !own {
			return false
		}
	}
	return len(liftpushKeys) > 0
}

// addSections seeds f with the section under key of every file matching
// glob.
func addSections(f *testing.F, glob, key string) {
	eachFile(f, glob, func(b []byte) {
		if s := section(b, key); s != "" {
			f.Add(s)
		}
	})
}

// eachFile calls fn with the contents of every file matching glob.
func eachFile(f *testing.F, glob string, fn func([]byte)) {
	files, err := filepath.Glob(glob)
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		fn(b)
	}
}

// section returns the lines under a file's top-level key (e.g.
// "remote_write:").
func section(b []byte, key string) string {
	var out strings.Builder
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		top := line != "" && line[0] != ' ' && line[0] != '#' && line[0] != '-'
		switch {
		case top && strings.HasPrefix(line, key):
			in = true
		case top:
			in = false
		case in:
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
