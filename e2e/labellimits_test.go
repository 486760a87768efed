package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// huge17MiB is a label value over the labels library's limit: it panicked
// there, in check-config's wake (issue 22).
var huge17MiB = strings.Repeat("v", 17<<20)

// checkShortLines fails when a line of output is longer than 1 KiB or shows
// a panic: a Go panic exits 2 as well, so the exit code alone cannot tell.
func checkShortLines(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Errorf("%s shows a panic:\n%.2000s", what, out)
	}
	for line := range strings.SplitSeq(out, "\n") {
		if len(line) > 1<<10 {
			t.Errorf("%s has a line of %d bytes: %.300s", what, len(line), line)
		}
	}
}

// TestE2ECheckConfigLabelOverLimit: a 17 MiB value of external_labels or of
// the global job is a config error naming the key and the limit: exit 2
// from check-config and from run, with short output and no panic.
func TestE2ECheckConfigLabelOverLimit(t *testing.T) {
	const over = `value of 17825792 bytes: over the limit of 16777215 bytes for a label name or value`
	for name, tc := range map[string]struct{ global, want string }{
		"external_labels": {"external_labels: {cluster: " + huge17MiB + "}", `global.external_labels: label "cluster": ` + over},
		"job":             {"job: " + huge17MiB, `global.job: label "job": ` + over},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "liftpush.yml", "global:\n  "+tc.global+`
scrape_configs:
  - job_name: app
    static_configs: [{targets: ['127.0.0.1:1']}]
remote_write:
  - url: http://127.0.0.1:1/api/v1/write
`)
			for _, args := range [][]string{{"check-config"}, {"run", "--once"}} {
				res := testinfra.Run(t, nil, append(args, "--config.file="+cfg)...)
				what := strings.Join(args, " ")
				if res.ExitCode != 2 {
					t.Errorf("%s: exit %d, want 2", what, res.ExitCode)
				}
				if !strings.Contains(res.Stderr, tc.want) {
					t.Errorf("%s: stderr lacks %q", what, tc.want)
				}
				checkShortLines(t, what+" stderr", res.Stderr)
				if strings.Contains(res.Stdout, "vvvvvvvv") {
					t.Errorf("%s printed the config: %.300s", what, res.Stdout)
				}
			}
		})
	}
}

// TestE2EPushHostileLines: push of a file with a 17 MiB label value, or a
// malformed 100 MB line, into a real Prometheus 2.42: the samples before it
// arrive, the run fails (exit 1) with an error naming the limit, and no log
// line is longer than 1 KiB.
func TestE2EPushHostileLines(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	for name, tc := range map[string]struct{ good, line, want string }{
		"label value of 17 MiB": {"hostile_good_label", `bad{path="` + huge17MiB + `"} 1`, "line 2: longer than the limit of 16777216 bytes for one record"},
		"line of 100 MB":        {"hostile_good_line", `bad{l="x"} 1 2 ` + strings.Repeat("3", 100<<20), "line 2: longer than the limit of 16777216 bytes for one record"},
	} {
		t.Run(name, func(t *testing.T) {
			good := tc.good
			file := filepath.Join(t.TempDir(), "hostile.prom")
			if err := os.WriteFile(file, []byte(good+" 1\n"+tc.line+"\n"+good+"_after 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			res := testinfra.StartLiftpush(t, nil, "push", "--remote-write.url="+prom.WriteURL(), file).Wait(2 * time.Minute)
			if res.ExitCode != 1 {
				t.Errorf("exit %d, want 1", res.ExitCode)
			}
			if !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%.2000s", tc.want, res.Stderr)
			}
			checkShortLines(t, "push stderr", res.Stderr)
			if got := prom.Value(t, good); got != 1 {
				t.Errorf("Prometheus holds %s = %g, want 1 (the sample before the bad line)", good, got)
			}
		})
	}
}
