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
