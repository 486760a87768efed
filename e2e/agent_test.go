package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// agentConfig is shaped like the prometheus.yml of a Prometheus agent:
// Prometheus' global keys, a job scraping a Prometheus, remote_write.
const agentConfig = `global:
  scrape_interval: 15s
  evaluation_interval: 15s
  scrape_timeout: 5s
  external_labels: {cluster: edge-7}
  sample_limit: 100000
  scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]

scrape_configs:
  - job_name: "prometheus"
    static_configs:
      - targets: [%q]
        labels: {app: "prometheus"}

remote_write:
  - url: %q
    queue_config: {max_samples_per_send: 2000}
`

// TestE2EPrometheusAgentConfig runs a Prometheus agent's config file as is
// with run --once, and refuses what an agent refuses, by name.
func TestE2EPrometheusAgentConfig(t *testing.T) {
	scraped := testinfra.StartPrometheus(t, "")
	prom := testinfra.StartPrometheus(t, "")
	host := strings.TrimPrefix(scraped.URL, "http://")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(agentConfig, host, prom.WriteURL()))
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg); res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if v := prom.Value(t, fmt.Sprintf(`up{job="prometheus",instance=%q,app="prometheus",cluster="edge-7"}`, host)); v != 1 {
		t.Errorf("up = %g, want 1", v)
	}
	if v := prom.Value(t, `count(prometheus_build_info{job="prometheus",cluster="edge-7"})`); v != 1 {
		t.Errorf("the scraped Prometheus' series did not arrive: count = %g", v)
	}
	// __scrape_interval__ is global.scrape_interval: the schedule follows it.
	res := testinfra.Run(t, nil, "check-config", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Errorf("check-config: exit code %d, want 0", res.ExitCode)
	}

	for _, key := range []string{"rule_files: [rules.yml]", "alerting: {alertmanagers: [{static_configs: [{targets: [am:9093]}]}]}", "remote_read: [{url: http://r/read}]"} {
		bad := writeFile(t, dir, "bad.yml", fmt.Sprintf(agentConfig, host, prom.WriteURL())+key+"\n")
		res := testinfra.Run(t, nil, "check-config", "--config.file="+bad)
		name := key[:strings.Index(key, ":")]
		if res.ExitCode != 2 || !strings.Contains(res.Stderr, name+": not supported") {
			t.Errorf("%s: exit code %d, stderr %q; want 2 and the key named", name, res.ExitCode, res.Stderr)
		}
	}
}
