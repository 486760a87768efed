package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2EScrapeLimits breaks each of Prometheus' scrape limits once: as in
// Prometheus, the target (or, for target_limit, every target of the job)
// reports up 0 and pushes none of its samples, the log names the limit,
// and the job that keeps within its limits is pushed.
func TestE2EScrapeLimits(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	target := newSwitchTarget(t, `# TYPE lim_requests_total counter
lim_requests_total{code="200",handler="/api/v1/query",method="get"} 4
lim_requests_total{code="500",handler="/api/v1/query",method="get"} 1
lim_requests_total{code="200",handler="/api/v1/write",method="post"} 9
`)
	h := target.host
	limits := []struct{ job, key, value string }{
		{"sample", "sample_limit", "2"},
		{"labels", "label_limit", "4"},
		{"name-length", "label_name_length_limit", "6"},
		{"value-length", "label_value_length_limit", "10"},
		{"body", "body_size_limit", "64B"},
		{"targets", "target_limit", "1"},
	}
	var jobs strings.Builder
	for _, l := range limits {
		targets := fmt.Sprintf("[%q]", h)
		if l.key == "target_limit" {
			targets = fmt.Sprintf("[%q, %q]", h, "localhost"+h[strings.LastIndex(h, ":"):])
		}
		fmt.Fprintf(&jobs, "  - {job_name: %s, %s: %s, static_configs: [{targets: %s}]}\n", l.job, l.key, l.value, targets)
	}
	fmt.Fprintf(&jobs, "  - {job_name: within, sample_limit: 3, label_limit: 6, static_configs: [{targets: [%q]}]}\n", h)
	cfg := writeFile(t, t.TempDir(), "liftpush.yml", "scrape_configs:\n"+jobs.String())
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg, "--remote-write.url="+prom.WriteURL())
	if res.ExitCode != 1 {
		t.Errorf("exit code %d, want 1: some targets failed", res.ExitCode)
	}
	for _, l := range limits {
		if !strings.Contains(res.Stderr, l.key+" exceeded") {
			t.Errorf("the log does not name %s:\n%s", l.key, res.Stderr)
		}
		up := prom.Query(t, fmt.Sprintf(`up{job=%q}`, l.job))
		if len(up) == 0 {
			t.Errorf("job %s: no up series", l.job)
		}
		for _, s := range up {
			if s.Value != 0 {
				t.Errorf("job %s: up %v = %g, want 0", l.job, s.Metric, s.Value)
			}
		}
		if got := prom.Query(t, fmt.Sprintf(`lim_requests_total{job=%q}`, l.job)); len(got) != 0 {
			t.Errorf("job %s: %d samples pushed over its limit, want none", l.job, len(got))
		}
	}
	if got := prom.Query(t, `lim_requests_total{job="within"}`); len(got) != 3 {
		t.Errorf("the job within its limits pushed %d samples, want 3", len(got))
	}
	if v := prom.Value(t, `up{job="within"}`); v != 1 {
		t.Errorf("up{job=within} = %g, want 1", v)
	}
}
