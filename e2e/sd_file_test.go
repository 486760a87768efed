package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2EFileSDDaemon runs the daemon on a file_sd job with target
// relabelling, then rewrites the file: the new target is scraped, and the
// target that left the file goes stale like a series that left a scrape.
func TestE2EFileSDDaemon(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	first := newSwitchTarget(t, "# TYPE sd_up gauge\nsd_up{which=\"first\"} 1\n")
	second := newSwitchTarget(t, "# TYPE sd_up gauge\nsd_up{which=\"second\"} 2\n")
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	writeTargets := func(host, team string) {
		t.Helper()
		b, err := json.Marshal([]map[string]any{{"targets": []string{host}, "labels": map[string]string{"team": team, "__meta_env": "edge"}}})
		if err != nil {
			t.Fatal(err)
		}
		// Rename, as a config manager does, so the watcher never reads
		// half a file.
		tmp := targets + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, targets); err != nil {
			t.Fatal(err)
		}
	}
	writeTargets(first.host, "a")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`global:
  schedule: "@every 1s"
scrape_configs:
  - job_name: files
    file_sd_configs: [{files: [%q], refresh_interval: 1s}]
    relabel_configs:
      - {source_labels: [__meta_env], target_label: env}
      - {source_labels: [team], regex: b, action: drop}
remote_write: [{url: %q}]
`, targets, prom.WriteURL()))
	testinfra.StartLiftpush(t, nil, "run", "--config.file="+cfg)

	waitQuery(t, prom, fmt.Sprintf(`up{job="files",instance=%q,team="a",env="edge"}`, first.host), valueIs(1))
	waitQuery(t, prom, `sd_up{which="first",team="a",env="edge"}`, valueIs(1))

	// A target relabelling drops: team b is not scraped.
	writeTargets(second.host, "b")
	waitAbsent(t, prom, `sd_up{which="first"}`, 15*time.Second)
	if got := prom.Query(t, `sd_up{which="second"}`); len(got) != 0 {
		t.Errorf("the dropped target was scraped: %v", got)
	}

	writeTargets(second.host, "c")
	waitQuery(t, prom, fmt.Sprintf(`up{job="files",instance=%q,team="c",env="edge"}`, second.host), valueIs(1))
	waitQuery(t, prom, `sd_up{which="second",team="c"}`, valueIs(2))
	if got := prom.Query(t, fmt.Sprintf(`up{instance=%q}`, first.host)); len(got) != 0 {
		t.Errorf("the target that left the file is still up: %v", got)
	}
}

// TestE2EHTTPSDLikePrometheus finds targets through http_sd with
// relabelling, in one run --once and in Prometheus 3.16: the same up and
// scraped series.
func TestE2EHTTPSDLikePrometheus(t *testing.T) {
	a := newSwitchTarget(t, "# TYPE http_sd_value gauge\nhttp_sd_value 1\n")
	b := newSwitchTarget(t, "# TYPE http_sd_value gauge\nhttp_sd_value 2\n")
	// The SD endpoint is the protocol's server side; any HTTP server that
	// serves the JSON is one.
	sd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"targets":[%q],"labels":{"zone":"z1"}},{"targets":[%q,"192.0.2.1:1"],"labels":{"zone":"z2"}}]`, a.host, b.host)
	}))
	t.Cleanup(sd.Close)
	jobs := fmt.Sprintf(`  - job_name: http-sd
    http_sd_configs: [{url: %q}]
    relabel_configs:
      - {source_labels: [__address__], regex: "192\\.0\\.2\\..*", action: drop}
      - {source_labels: [zone], target_label: region, replacement: eu-$1}
`, sd.URL)
	ref := testinfra.StartPrometheus3Scraping(t, jobs)
	prom := testinfra.StartPrometheus(t, "")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "liftpush.yml", "scrape_configs:\n"+jobs)
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg, "--remote-write.url="+prom.WriteURL()); res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	for _, q := range []string{`up{job="http-sd"}`, `http_sd_value`} {
		got := upAndValues(waitQuery(t, prom, q, func(s []testinfra.Sample) bool { return len(s) == 2 }))
		want := upAndValues(waitQuery(t, ref, q, func(s []testinfra.Sample) bool { return len(s) == 2 }))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: liftpush %v, Prometheus 3.16 %v", q, got, want)
		}
	}
}
