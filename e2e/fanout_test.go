package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2EFanOut delivers one cycle to a real Prometheus (remote-write), a real
// Pushgateway and a remote-write receiver that never answers. The two real
// ones get their data within their budgets, the hanging one is reported in
// the summary line, and the run exits 1.
func TestE2EFanOut(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	prom := testinfra.StartPrometheus(t, "")
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	// Unblock handlers before Close waits for them.
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })

	dir := t.TempDir()
	file := writeFile(t, dir, "fan.prom", "fanout_value{shard=\"a\"} 42\n")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 6s}
scrape_configs:
  - {job_name: fan, scheme: file, metrics_path: %s, static_configs: [{targets: ['']}]}
remote_write:
  - {name: prometheus, url: '%s'}
  - {name: hanging, url: '%s/api/v1/write', remote_timeout: 500ms}
pushgateway:
  - {name: pgw, url: '%s', timeout: 2s}
`, file, prom.WriteURL(), hanging.URL, pgw.URL))

	start := time.Now()
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	took := time.Since(start)
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1 (a destination failed)", res.ExitCode)
	}
	// The hanging destination is bounded by the cycle, not more.
	if took > 15*time.Second {
		t.Errorf("run took %s with cycle_timeout 6s", took)
	}
	summary := ""
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, `msg="cycle finished"`) {
			summary = line
		}
	}
	// Every destination got the same samples: the real ones sent them
	// all, the hanging one dropped them all for timeout.
	n := regexp.MustCompile(`destination\.prometheus\.sent=(\d+) `).FindStringSubmatch(summary)
	if n == nil || n[1] == "0" {
		t.Fatalf("no samples sent to Prometheus:\n%s", summary)
	}
	for _, want := range []string{
		"destination.pgw.sent=" + n[1] + " ", "destination.pgw.dropped=0", "destination.prometheus.dropped=0",
		"destination.hanging.sent=0 ", `destination.hanging.dropped_by_reason="timeout=` + n[1] + `"`,
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary line lacks %q:\n%s", want, summary)
		}
	}
	if v := prom.Value(t, `fanout_value{job="fan",shard="a"}`); v != 42 {
		t.Errorf("Prometheus fanout_value = %g, want 42", v)
	}
	g := pgw.Group(t, map[string]string{"job": "fan", "instance": file})
	if v, ok := g.Value("fanout_value", map[string]string{"shard": "a"}); !ok || v != 42 {
		t.Errorf("Pushgateway fanout_value = %g, %v; want 42", v, ok)
	}
}

// TestE2EDaemonDestinationMetricsAndDelete runs liftpush as a daemon: from
// the second cycle on, the destination self-metrics describe the previous
// delivery; at SIGTERM the Pushgateway groups are deleted
// (delete_on_shutdown).
func TestE2EDaemonDestinationMetricsAndDelete(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	prom := testinfra.StartPrometheus(t, "")
	dir := t.TempDir()
	file := writeFile(t, dir, "d.prom", "daemon_value 7\n")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 5s, schedule: "@every 1s"}
scrape_configs:
  - {job_name: d, scheme: file, metrics_path: %s, static_configs: [{targets: ['']}]}
remote_write: [{name: prometheus, url: '%s'}]
pushgateway: [{name: pgw, url: '%s', delete_on_shutdown: true}]
`, file, prom.WriteURL(), pgw.URL))

	cmd := exec.Command(testinfra.Liftpush(t), "run", "--config.file="+cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("liftpush stderr:\n%s", stderr.String())
		}
	})

	waitQuery(t, prom, `liftpush_destination_samples_sent{destination="pgw",job="liftpush"}`, func(s []testinfra.Sample) bool { return len(s) == 1 && s[0].Value > 0 })
	waitQuery(t, prom, `liftpush_destination_last_success_timestamp_seconds{destination="prometheus"}`, func(s []testinfra.Sample) bool {
		return len(s) == 1 && s[0].Value > float64(time.Now().Add(-time.Minute).Unix())
	})
	if g := pgw.Group(t, map[string]string{"job": "liftpush"}); len(g.Families["liftpush_destination_samples_sent"].Metrics) != 2 {
		t.Errorf("process group in the Pushgateway: %v", g.Families["liftpush_destination_samples_sent"])
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("liftpush exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("liftpush did not stop within 15s of SIGTERM")
	}
	if groups := pgw.GroupsAfterDelete(t); len(groups) != 0 {
		t.Errorf("groups left after a graceful stop with delete_on_shutdown: %v", groups)
	}
	_ = os.Remove(file)
}
