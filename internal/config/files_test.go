package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFilesChecked: every file an HTTP client block or the spacelift block
// names is checked by Validate, and the error names the key and the path
// (issue 22: a missing *_file or ca_file passed check-config).
func TestFilesChecked(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not-a-ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ca, err := filepath.Abs("testdata/secrets/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	rw := "remote_write:\n  - url: http://h/w\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"all present", rw + "    basic_auth: {username: u, password_file: " + secret + "}\n    tls_config: {ca_file: " + ca + "}\n", ""},
		{"password_file", rw + "    basic_auth: {username: u, password_file: " + missing + "}\n",
			`remote_write[0]: basic_auth.password_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"username_file", rw + "    basic_auth: {username_file: " + missing + ", password: p}\n",
			`remote_write[0]: basic_auth.username_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"credentials_file", rw + "    authorization: {credentials_file: " + dir + "}\n",
			`remote_write[0]: authorization.credentials_file: "` + dir + `" is a directory, not a regular file; point it at the file itself`},
		{"a named pipe would block", rw + "    authorization: {credentials_file: " + fifo + "}\n",
			`remote_write[0]: authorization.credentials_file: "` + fifo + `" is a named pipe, not a regular file; point it at the file itself`},
		{"oauth2", rw + "    oauth2: {client_id: a, client_secret_file: " + missing + ", token_url: http://t}\n",
			`remote_write[0]: oauth2.client_secret_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"ca_file missing", rw + "    tls_config: {ca_file: " + missing + "}\n",
			`remote_write[0]: tls_config.ca_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"ca_file not PEM", rw + "    tls_config: {ca_file: " + notPEM + "}\n",
			`remote_write[0]: tls_config.ca_file: "` + notPEM + `" holds no PEM certificate; give the CA's certificate (-----BEGIN CERTIFICATE-----)`},
		{"ca_file a device", rw + "    tls_config: {ca_file: /dev/zero}\n",
			`remote_write[0]: tls_config.ca_file: "/dev/zero" is a device, not a regular file; point it at the file itself`},
		{"cert_file and key_file", rw + "    tls_config: {cert_file: " + missing + ", key_file: " + secret + "}\n",
			`remote_write[0]: tls_config.cert_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"not a pair", rw + "    tls_config: {cert_file: " + ca + ", key_file: " + secret + "}\n",
			`remote_write[0]: tls_config.cert_file and key_file: "` + ca + `" and "` + secret + `" are not a certificate and its key: tls: failed to find any PEM data in key input`},
		{"http_headers files", rw + "    http_headers: {X-Token: {files: [" + secret + ", " + missing + "]}}\n",
			`remote_write[0]: http_headers.X-Token.files[1]: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"google_iam", "remote_write:\n  - url: http://h/w\n    google_iam: {credentials_file: " + missing + "}\n",
			`remote_write[0]: google_iam.credentials_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"pushgateway", "pushgateway:\n  - url: http://p:9091\n    bearer_token_file: " + missing + "\n",
			`pushgateway[0]: authorization.credentials_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"scrape", "scrape_configs:\n  - job_name: j\n    tls_config: {ca_file: " + missing + "}\n    static_configs: [{targets: [h:1]}]\n",
			`scrape_configs[0] (job "j"): tls_config.ca_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`},
		{"spacelift", "spacelift:\n  endpoint: https://acme.app.spacelift.io\n  api_key_id: k\n  api_key_secret_file: " + missing + "\n  ca_file: " + notPEM + "\n",
			`spacelift: api_key_secret_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path` + "\n" +
				`spacelift: ca_file: "` + notPEM + `" holds no PEM certificate; give the CA's certificate (-----BEGIN CERTIFICATE-----)`},
		{"spacelift disabled", "spacelift:\n  enabled: false\n  api_key_secret_file: " + missing + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := cfg.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFilesCheckReadOnly: Validate opens the files for reading
// only, and leaves them as they were.
func TestFilesCheckReadOnly(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]byte("remote_write:\n  - url: http://h/w\n    basic_auth: {username: u, password_file: " + secret + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(secret)
	if err != nil {
		t.Fatal(err)
	}
	if before.ModTime() != after.ModTime() || before.Mode() != after.Mode() || before.Size() != after.Size() {
		t.Errorf("Validate changed %s: %v -> %v", secret, before, after)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("Validate left %v in %s (err %v), want only the secret", entries, dir, err)
	}
}

// TestFileCheckModes: collect reads the sources' files only, check-config
// --syntax-only none.
func TestFileCheckModes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	doc := "scrape_configs:\n  - job_name: j\n    authorization: {credentials_file: " + missing + "}\n    static_configs: [{targets: [h:1]}]\n" +
		"remote_write:\n  - url: http://h/w\n    basic_auth: {username: u, password_file: " + missing + "}\n"
	source := `scrape_configs[0] (job "j"): authorization.credentials_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`
	dest := `remote_write[0]: basic_auth.password_file: "` + missing + `" cannot be read: no such file or directory; create it or fix the path`
	for _, tc := range []struct {
		name  string
		files FileCheck
		want  string
	}{
		{"all", CheckAllFiles, source + "\n" + dest},
		{"sources", CheckSourceFiles, source},
		{"none", CheckNoFiles, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if err := (Overrides{Files: tc.files}).Apply(cfg); err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := cfg.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}
