package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadAndValidate loads a testdata file as a user would hand it in, and
// returns the message they would read.
func loadAndValidate(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(b)
	if err != nil {
		return err.Error()
	}
	cfg.SetDirectory("testdata")
	if err := cfg.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

func TestSpaceliftConfigGood(t *testing.T) {
	files, err := filepath.Glob("testdata/spacelift-*.good.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if msg := loadAndValidate(t, filepath.Base(f)); msg != "" {
				t.Fatalf("unexpected error: %s", msg)
			}
		})
	}
}

func TestSpaceliftConfigBad(t *testing.T) {
	want := map[string]string{
		"spacelift-http.bad.yml":        `spacelift: endpoint: "http://acme.app.spacelift.io" uses plain http, which would send the API key secret unencrypted; use https://, or set insecure_http: true for a test or lab setup`,
		"spacelift-no-scheme.bad.yml":   `spacelift: endpoint: "acme.app.spacelift.io" must be an absolute https:// URL; set your account's URL, e.g. https://acme.app.spacelift.io (--spacelift.endpoint, LIFTPUSH_SPACELIFT_ENDPOINT or SPACELIFT_PROMEX_API_ENDPOINT)`,
		"spacelift-no-endpoint.bad.yml": `spacelift: endpoint: missing; set your account's URL, e.g. https://acme.app.spacelift.io (--spacelift.endpoint, LIFTPUSH_SPACELIFT_ENDPOINT or SPACELIFT_PROMEX_API_ENDPOINT)`,
		"spacelift-userinfo.bad.yml":    `spacelift: endpoint: must not contain a user or password; the API key goes in api_key_id and api_key_secret_file`,
		"spacelift-query.bad.yml":       `spacelift: endpoint: "https://acme.app.spacelift.io/?x=1" must not have a query or fragment; liftpush posts to <endpoint>/graphql`,
		"spacelift-no-key-id.bad.yml":   `spacelift: api_key_id: missing; set the ID of a Spacelift API key (--spacelift.api-key-id, LIFTPUSH_SPACELIFT_API_KEY_ID or SPACELIFT_PROMEX_API_KEY_ID)`,
		"spacelift-no-secret.bad.yml":   `spacelift: api_key_secret_file: missing; set api_key_secret_file (--spacelift.api-key-secret-file, LIFTPUSH_SPACELIFT_API_KEY_SECRET_FILE) to a file holding the API key secret, or api_key_secret (LIFTPUSH_SPACELIFT_API_KEY_SECRET)`,
		"spacelift-two-secrets.bad.yml": `spacelift: api_key_secret and api_key_secret_file ("testdata/secrets/spacelift/secret") are both set; keep only one, preferably api_key_secret_file`,
		"spacelift-timeout.bad.yml":     `spacelift: timeout: must be positive, got 0s; the default is 10s`,
		"spacelift-unknown-key.bad.yml": `parsing YAML: line 3: unknown key "api_key"`,
	}
	files, err := filepath.Glob("testdata/spacelift-*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d bad fixtures on disk, %d expectations: keep them in step", len(files), len(want))
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			got := loadAndValidate(t, name)
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("error message (-want +got):\n%s", diff)
			}
		})
	}
}

// The inline secret must never appear in an error message or in the
// printed config.
func TestSpaceliftConfigSecretNotShown(t *testing.T) {
	b, err := os.ReadFile("testdata/spacelift-two-secrets.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error shows the secret or is missing: %v", err)
	}
	if strings.Contains(cfg.String(), "s3cr3t") {
		t.Fatalf("printed config shows the secret:\n%s", cfg)
	}
}

func TestSpaceliftConfigDefaults(t *testing.T) {
	cfg, err := Load([]byte("spacelift:\n  endpoint: https://acme.app.spacelift.io\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Spacelift.Timeout.String(), "10s"; got != want {
		t.Errorf("timeout default = %s, want %s", got, want)
	}
	if !cfg.Spacelift.IsEnabled() {
		t.Error("a present block must be enabled")
	}
	if cfg.Spacelift.Stacks {
		t.Error("stacks must be off by default: the listing costs a request per 50 stacks")
	}
}

func TestSpaceliftConfigStacks(t *testing.T) {
	b, err := os.ReadFile("testdata/spacelift-stacks.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Spacelift.Stacks {
		t.Error("stacks: true was not read")
	}
}
