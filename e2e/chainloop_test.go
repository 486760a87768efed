package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// Every liftpush config in examples/ (*.yml; the *.test.yml files are
// promtool's) is valid.
func TestE2EExamplesCheckConfig(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".test.yml") {
			names = append(names, filepath.Base(f))
		}
	}
	// A renamed or moved example must not drop out of this check unseen.
	for _, want := range []string{"chainloop.yml", "workerpool-controller.yml", "kubernetes-sd.yml"} {
		if !slices.Contains(names, want) {
			t.Errorf("examples/%s is missing; found %v", want, names)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// The secret files are a pod's: --syntax-only reads none.
			res := testinfra.Run(t, nil, "check-config", "--syntax-only", "--config.file="+filepath.Join("..", "examples", name))
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, "SUCCESS") {
				t.Fatalf("exit %d, stderr:\n%s", res.ExitCode, res.Stderr)
			}
			if strings.Contains(res.Stderr, "deprecated") {
				t.Errorf("an example uses a deprecated key:\n%s", res.Stderr)
			}
		})
	}
	// The legacy keys of Chainloop's guide still work, with a warning.
	dir := t.TempDir()
	cfg := writeFile(t, dir, "legacy.yml", `
scrape_configs:
  - job_name: chainloop
    scheme: https
    metrics_path: /prom/acme/metrics
    bearer_token: CHAINLOOP_API_TOKEN
    static_configs: [{targets: [cp.example.com]}]
pushgateway: [{url: "http://pgw:9091"}]
`)
	res := testinfra.Run(t, nil, "check-config", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	if want := `scrape_configs[0] (job \"chainloop\").bearer_token is deprecated`; !strings.Contains(res.Stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "credentials: <secret>") {
		t.Errorf("effective config does not show the token as authorization credentials:\n%s", res.Stdout)
	}
}

// TestE2EChainloopAndController scrapes a Chainloop-like and a worker pool
// controller-like HTTPS endpoint plus an exposition file, and pushes to a
// real Prometheus (remote-write) and a real Pushgateway read back by a
// second Prometheus with honor_labels: true. Both must hold the same series
// with the job and instance a direct scrape would give. Then the Chainloop
// token is wrong: its collector reports up 0 with the 401 logged, and the
// others still deliver.
func TestE2EChainloopAndController(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	promRW := testinfra.StartPrometheus(t, "")
	promPG := testinfra.StartPrometheus(t, fmt.Sprintf("  - job_name: pushgateway\n    honor_labels: true\n    static_configs: [{targets: ['%s']}]\n", pgw.Addr))

	chainloop := bearerServer(t, "/prom/acme/metrics", "chainloop-token", chainloopExposition)
	controller := bearerServer(t, "/metrics", "sa-token", "# TYPE spacelift_workerpool_controller_worker_total gauge\nspacelift_workerpool_controller_worker_total{pool_ulid=\"01HPOOL\"} 3\n")
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "chainloop-token", "chainloop-token\n")
	writeFile(t, dir, "sa-token", "sa-token")
	filePath := writeFile(t, dir, "files.prom", "files_value 1\n")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global:
  cycle_timeout: 20s
  external_labels: {cluster: edge-1}
scrape_configs:
  - job_name: chainloop
    scheme: https
    metrics_path: /prom/acme/metrics
    authorization: {credentials_file: %[1]s}
    tls_config: {ca_file: %[2]s}
    static_configs: [{targets: ['%[3]s']}]
  - job_name: workerpool-controller
    scheme: https
    authorization: {credentials_file: sa-token}
    tls_config: {insecure_skip_verify: true}
    static_configs: [{targets: ['%[4]s']}]
  - job_name: files
    scheme: file
    metrics_path: %[5]s
    static_configs: [{targets: ['']}]
remote_write: [{url: '%[6]s'}]
pushgateway: [{url: '%[7]s', grouping: {cluster: edge-1}}]
`, tokenFile, writeCA(t, dir, chainloop), chainloop.Listener.Addr(), controller.Listener.Addr(), filePath, promRW.WriteURL(), pgw.URL))

	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, want 0", res.ExitCode)
	}
	instance := chainloop.Listener.Addr().String()
	for _, q := range []string{
		`chainloop_workflow_up`,
		`chainloop_workflow_run_duration_seconds_bucket{le=~"60|60.0"}`,
		`chainloop_workflow_run_duration_seconds_count`,
		`up{job=~"chainloop|workerpool-controller|files"}`,
		`spacelift_workerpool_controller_worker_total`,
		`files_value`,
	} {
		rw := promRW.Query(t, q)
		pg := waitQuery(t, promPG, q, func(s []testinfra.Sample) bool { return len(s) == len(rw) })
		if diff := cmp.Diff(labelSets(rw), labelSets(pg)); diff != "" {
			t.Errorf("%s: remote-write vs Pushgateway label sets (-rw +pg):\n%s", q, diff)
		}
		if len(rw) == 0 {
			t.Errorf("%s: no series", q)
		}
	}
	// The labels a Prometheus scraping Chainloop itself would give.
	want := fmt.Sprintf("__name__=chainloop_workflow_up,cluster=edge-1,instance=%s,job=chainloop,org=acme,runner=github,workflow=build", instance)
	if got := labelSets(promRW.Query(t, `chainloop_workflow_up{workflow="build"}`)); len(got) != 1 || got[0] != want {
		t.Errorf("chainloop series: got %v, want [%s]", got, want)
	}
	if v := promRW.Value(t, `chainloop_workflow_run_duration_seconds_bucket{le=~"60|60.0"}`); v != 3 {
		t.Errorf("bucket le=60 = %g, want 3", v)
	}

	// Wrong token: Chainloop answers 401.
	writeFile(t, dir, "chainloop-token", "revoked-token\n")
	writeFile(t, dir, "files.prom", "files_value 2\n")
	res = testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 1 {
		t.Errorf("exit %d with a failing collector, want 1", res.ExitCode)
	}
	if !strings.Contains(res.Stderr, "401") || !strings.Contains(res.Stderr, "scrape/chainloop") {
		t.Errorf("no log line with the 401:\n%s", res.Stderr)
	}
	for _, prom := range []*testinfra.Prometheus{promRW, promPG} {
		waitQuery(t, prom, `liftpush_collector_up{collector="scrape/chainloop"}`, valueIs(0))
		waitQuery(t, prom, `up{job="chainloop"}`, valueIs(0))
		waitQuery(t, prom, `files_value`, valueIs(2))
		waitQuery(t, prom, `liftpush_collector_up{collector="scrape/files"}`, valueIs(1))
	}
	// The Pushgateway keeps Chainloop's last good values.
	g := pgw.Group(t, map[string]string{"job": "chainloop", "instance": instance, "cluster": "edge-1"})
	if v, ok := g.Value("chainloop_workflow_up", map[string]string{"workflow": "build"}); !ok || v != 1 {
		t.Errorf("last good chainloop_workflow_up = %g, %v; want 1 kept", v, ok)
	}
}
