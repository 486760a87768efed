package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// checkConfigDoc is a runnable config whose spool dir is %s; check-config
// never contacts the source or the receiver.
func checkConfigDoc(spoolDir string) string {
	return `
scrape_configs:
  - job_name: app
    static_configs: [{targets: ['127.0.0.1:1']}]
remote_write:
  - url: http://127.0.0.1:1/api/v1/write
spool:
  dir: '` + spoolDir + `'
`
}

// TestE2ECheckConfigSpoolDirMissing: check-config creates nothing on the
// machine it checks. A spool dir that does not exist but could be created
// is valid; check-config says run will create it, and leaves it missing.
func TestE2ECheckConfigSpoolDirMissing(t *testing.T) {
	for _, how := range []string{"file", "flag"} {
		t.Run(how, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "spool", "liftpush")
			args := []string{"check-config"}
			if how == "file" {
				args = append(args, "--config.file="+writeFile(t, t.TempDir(), "liftpush.yml", checkConfigDoc(dir)))
			} else {
				args = append(args, "--scrape.url=http://127.0.0.1:1/metrics", "--remote-write.url=http://127.0.0.1:1/api/v1/write", "--spool.dir="+dir)
			}
			res := testinfra.Run(t, nil, args...)
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, "SUCCESS") {
				t.Fatalf("exit %d, want 0 and SUCCESS", res.ExitCode)
			}
			if want := "spool.dir " + dir + " does not exist yet; liftpush will create it"; !strings.Contains(res.Stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
			if !strings.Contains(res.Stderr, "level=INFO") {
				t.Errorf("the note is not logged at info level")
			}
			if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
				t.Errorf("check-config created %v under %s (err %v), want nothing", entries, parent, err)
			}
		})
	}
}

// TestE2ECheckConfigSpoolDirUnusable: a spool dir that cannot be created is
// a config error, exit 2, naming spool.dir, the value and the fix.
func TestE2ECheckConfigSpoolDirUnusable(t *testing.T) {
	file := writeFile(t, t.TempDir(), "not-a-dir", "")
	for name, tc := range map[string]struct{ dir, why string }{
		"under /dev/null": {"/dev/null/liftpush-spool", `cannot be created: "/dev/null" is not a directory`},
		"under a file":    {filepath.Join(file, "spool"), `cannot be created: "` + file + `" is not a directory`},
		"a file":          {file, "is not a directory"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "liftpush.yml", checkConfigDoc(tc.dir))
			res := testinfra.Run(t, nil, "check-config", "--config.file="+cfg)
			if res.ExitCode != 2 {
				t.Fatalf("exit %d, want 2", res.ExitCode)
			}
			want := `spool.dir: "` + tc.dir + `" ` + tc.why + `; mount a writable volume there (the chart's spool.persistence) or set --spool.dir`
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		})
	}
}

// TestE2ECheckConfigMissingFiles: a secret file or CA that is missing, or a
// CA that holds no certificate, passed check-config and then failed every
// cycle (issue 22). check-config now exits 2 naming each key and path, in
// every HTTP client block and the spacelift block, and creates nothing.
func TestE2ECheckConfigMissingFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	notPEM := writeFile(t, dir, "ca.pem", "not a certificate\n")
	cfg := writeFile(t, dir, "liftpush.yml", `
scrape_configs:
  - job_name: app
    authorization: {credentials_file: `+missing+`}
    static_configs: [{targets: ['127.0.0.1:1']}]
spacelift:
  endpoint: https://acme.app.spacelift.io
  api_key_id: k
  api_key_secret_file: `+missing+`
remote_write:
  - url: https://127.0.0.1:1/api/v1/write
    basic_auth: {username: u, password_file: `+missing+`}
    tls_config: {ca_file: `+notPEM+`}
pushgateway:
  - url: https://127.0.0.1:1
    tls_config: {ca_file: `+missing+`}
`)
	res := testinfra.Run(t, nil, "check-config", "--config.file="+cfg)
	if res.ExitCode != 2 {
		t.Fatalf("exit %d, want 2", res.ExitCode)
	}
	gone := `"` + missing + `" cannot be read: no such file or directory; create it or fix the path`
	for _, want := range []string{
		`scrape_configs[0] (job "app"): authorization.credentials_file: ` + gone,
		`remote_write[0]: basic_auth.password_file: ` + gone,
		`remote_write[0]: tls_config.ca_file: "` + notPEM + `" holds no PEM certificate`,
		`pushgateway[0]: tls_config.ca_file: ` + gone,
		`spacelift: api_key_secret_file: ` + gone,
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("check-config left %d entries in %s, want the 2 it was given", len(entries), dir)
	}
	// A config meant for a pod, whose secrets are mounted there: the
	// config alone is checked.
	res = testinfra.Run(t, nil, "check-config", "--syntax-only", "--config.file="+cfg)
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, "SUCCESS") {
		t.Errorf("check-config --syntax-only: exit %d, want 0 and SUCCESS:\n%s", res.ExitCode, res.Stderr)
	}
}
