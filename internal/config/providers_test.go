package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestBinaryCheckConfigProviders: check-config accepts the remote_write
// block of each receiver README shows, as pasted, and prints it back with
// its cloud credentials block.
func TestBinaryCheckConfigProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for fixture, want := range map[string]string{
		"rw-grafana-cloud.good.yml":           "/secrets/grafana-cloud-token\n",
		"rw-amp-sigv4.good.yml":               "sigv4:\n    region: us-east-1",
		"rw-amp-role.good.yml":                "role_arn: arn:aws:iam::123456789012:role/amp-remote-write",
		"rw-azure-monitor.good.yml":           "managed_identity:\n      client_id: 00000000-1111-2222-3333-444444444444",
		"rw-azure-workload-identity.good.yml": "workload_identity:",
		"rw-google.good.yml":                  "google_iam:\n    credentials_file: ",
		"rw-mimir.good.yml":                   "sample_age_limit: 1h",
		"rw-all-keys.good.yml":                "failed_request_logging: true",
	} {
		t.Run(fixture, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", fixture))
			if err != nil {
				t.Fatal(err)
			}
			// The fixture's secret files go along: check-config reads them.
			dir := t.TempDir()
			if err := os.CopyFS(filepath.Join(dir, "secrets"), os.DirFS("testdata/secrets")); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "liftpush.yml")
			doc := string(b) + "scrape_configs: [{job_name: app, static_configs: [{targets: ['app:8080']}]}]\n"
			if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			res := testinfra.Run(t, nil, "check-config", "--config.file="+file)
			if res.ExitCode != 0 {
				t.Fatalf("check-config exit %d, want 0\nstderr:\n%s", res.ExitCode, res.Stderr)
			}
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("check-config output lacks %q:\n%s", want, res.Stdout)
			}
		})
	}
}

// TestBinaryCheckConfigRefusedKey: a Prometheus key liftpush cannot honour
// exits 2 with the key named.
func TestBinaryCheckConfigRefusedKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	file, err := filepath.Abs("testdata/rw-refused-key.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	res := testinfra.Run(t, nil, "check-config", "--config.file="+file)
	if res.ExitCode != 2 {
		t.Errorf("exit %d, want 2", res.ExitCode)
	}
	for _, want := range []string{`remote_write[0]: authorization.credentials_ref: "vault-token" names a secret manager's secret`} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
}
