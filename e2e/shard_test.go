package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// The sharding tests (issue 20): replicas split the Kubernetes objects and
// scrape targets by a hash, and together push what one replica would.

const (
	shardDeployments = 300
	shardTargets     = 30
)

// shardTargetHosts starts n scrape targets, each exposing two series of its
// own; it returns their host:port.
func shardTargetHosts(t *testing.T, n int) []string {
	t.Helper()
	hosts := make([]string, n)
	for i := range n {
		body := fmt.Sprintf("# TYPE shard_target_value gauge\nshard_target_value{idx=\"%d\"} %d\n# TYPE shard_target_info gauge\nshard_target_info{kind=\"static\"} 1\n", i, i)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		hosts[i] = strings.TrimPrefix(srv.URL, "http://")
	}
	return hosts
}

// seriesOf returns every series with run=<run> in prom, self-metrics
// excluded, rendered without the run label, sorted.
func seriesOf(t *testing.T, prom *testinfra.Prometheus, run string) []string {
	t.Helper()
	var out []string
	for _, s := range prom.Query(t, fmt.Sprintf(`{run=%q,__name__!~"liftpush_.*"}`, run)) {
		m := maps.Clone(s.Metric)
		delete(m, "run")
		keys := slices.Sorted(maps.Keys(m))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q,", k, m[k])
		}
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out
}

// TestE2EShardsUnion pushes 300 Deployments, 30 static scrape targets and a
// Spacelift account with three shards, each a `run --once`, into one
// Prometheus, beside one unsharded run. Each run is told apart by an
// external label: the shards' series are disjoint and their union is the
// unsharded run's, every series once; Spacelift comes from shard 0 only;
// each shard holds 20% to 47% of the Deployments.
func TestE2EShardsUnion(t *testing.T) {
	srv := kubeapi.Start(t)
	prom := testinfra.StartPrometheus(t, "")
	fake := startSpaceliftDemo(t)
	srv.CreateDeployments(t, "bulk", shardDeployments, 8)
	hosts := shardTargetHosts(t, shardTargets)
	cfg := tempFile(t, "liftpush.yml", fmt.Sprintf(`
global:
  cycle_timeout: 30s
kubernetes:
  kubeconfig: %s
scrape_configs:
  - {job_name: shardtest, scrape_timeout: 5s, static_configs: [{targets: ['%s'], labels: {env: e2e}}]}
%s
remote_write:
  - {url: '%s'}
`, srv.Kubeconfig, strings.Join(hosts, "','"), spaceliftBlock(t, fake.URL, "demo-secret"), prom.WriteURL()))

	run := func(label string, args ...string) testinfra.Result {
		t.Helper()
		res := testinfra.Run(t, nil, append([]string{"run", "--once", "--config.file=" + cfg, "--external-label=run=" + label}, args...)...)
		if res.ExitCode != 0 {
			t.Fatalf("%s: exit code %d, want 0\n%s", label, res.ExitCode, res.Stderr)
		}
		return res
	}
	run("single")
	const n = 3
	for i := range n {
		run("s"+strconv.Itoa(i), "--shard="+strconv.Itoa(i), "--total-shards="+strconv.Itoa(n))
	}

	single := seriesOf(t, prom, "single")
	if len(single) < shardDeployments*5+shardTargets*5 {
		t.Fatalf("the unsharded run pushed %d series, want at least %d", len(single), shardDeployments*5+shardTargets*5)
	}
	var union []string
	owner := map[string]string{}
	for i := range n {
		run := "s" + strconv.Itoa(i)
		part := seriesOf(t, prom, run)
		for _, s := range part {
			if prev, ok := owner[s]; ok {
				t.Errorf("series pushed by %s and %s: %s", prev, run, s)
			}
			owner[s] = run
		}
		union = append(union, part...)

		deployments := prom.Value(t, fmt.Sprintf(`count(k8s_deployment_spec_replicas{run=%q})`, run))
		share := deployments / shardDeployments
		t.Logf("shard %d: %d series, %g Deployments (%.1f%%)", i, len(part), deployments, 100*share)
		if share < 0.20 || share > 0.47 {
			t.Errorf("shard %d holds %.1f%% of the Deployments, want 20%% to 47%%", i, 100*share)
		}
		spacelift := prom.Query(t, fmt.Sprintf(`{run=%q,__name__=~"spacelift_.*"}`, run))
		if (i == 0) != (len(spacelift) > 0) {
			t.Errorf("shard %d pushed %d Spacelift series; Spacelift belongs to shard 0", i, len(spacelift))
		}
		// Self-metrics say which shard reported.
		if v := prom.Value(t, fmt.Sprintf(`liftpush_collector_up{run=%q,collector="kubernetes",shard="%d",total_shards="3"}`, run, i)); v != 1 {
			t.Errorf("shard %d: liftpush_collector_up = %g, want 1", i, v)
		}
	}
	slices.Sort(union)
	if diff := cmp.Diff(single, union); diff != "" {
		t.Errorf("the shards' union differs from the unsharded run (-single +union):\n%s", diff)
	}
	targets := prom.Value(t, `count(up{run=~"s.",job="shardtest"})`)
	if targets != shardTargets {
		t.Errorf("the shards scraped %g targets, want %d", targets, shardTargets)
	}
}

// rangeCounts evaluates q over [start, end] every step and returns each
// point's value (a missing point, when q returns nothing, is 0).
func rangeCounts(t *testing.T, prom *testinfra.Prometheus, q string, start, end time.Time, step time.Duration) []float64 {
	t.Helper()
	v := url.Values{}
	v.Set("query", q)
	v.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	v.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	v.Set("step", step.String())
	resp, err := http.Get(prom.URL + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query_range %q: %v %s", q, err, body.Error)
	}
	points := int(end.Sub(start)/step) + 1
	out := make([]float64, points)
	if len(body.Data.Result) == 0 {
		return out
	}
	for _, p := range body.Data.Result[0].Values {
		var ts float64
		if err := json.Unmarshal(p[0], &ts); err != nil {
			t.Fatal(err)
		}
		val, err := strconv.ParseFloat(strings.Trim(string(p[1]), `"`), 64)
		if err != nil {
			t.Fatal(err)
		}
		i := int((ts*1000 - float64(start.UnixMilli()) + float64(step.Milliseconds())/2) / float64(step.Milliseconds()))
		if i >= 0 && i < points {
			out[i] = val
		}
	}
	return out
}

// TestE2EReshardDaemon runs three daemons, shards 0, 1 and 2 of 3, each
// with its own spool, then reshards to two: shard 2 stops, the others
// reload total_shards 2. At every 50 ms of the transition, Prometheus
// returns all 300 Deployments: no series is lost, none marked stale while
// alive. After it, a deleted Deployment is still marked stale at once.
func TestE2EReshardDaemon(t *testing.T) {
	srv := kubeapi.Start(t)
	prom := testinfra.StartPrometheus(t, "")
	srv.CreateDeployments(t, "bulk", shardDeployments, 8)
	config := func(i, n int, spoolDir string) string {
		return fmt.Sprintf(`
global: {schedule: "@every 1s", cycle_timeout: 10s, shard: %d, total_shards: %d}
kubernetes: {kubeconfig: '%s'}
remote_write: [{url: '%s'}]
spool: {dir: '%s'}
`, i, n, srv.Kubeconfig, prom.WriteURL(), spoolDir)
	}
	dir := t.TempDir()
	var (
		files  []string
		spools []string
		procs  []*testinfra.Process
	)
	for i := range 3 {
		spools = append(spools, t.TempDir())
		files = append(files, writeFile(t, dir, fmt.Sprintf("liftpush-%d.yml", i), config(i, 3, spools[i])))
		procs = append(procs, testinfra.StartLiftpush(t, nil, "run", "--config.file="+files[i]))
	}
	const all = `count(k8s_deployment_spec_replicas{job="liftpush"})`
	waitQuery(t, prom, all, valueIs(shardDeployments))
	waitQuery(t, prom, `count(liftpush_collector_up{collector="kubernetes",total_shards="3"} == 1)`, valueIs(3))
	// A few cycles of all three, so every spool holds its series.
	time.Sleep(2 * time.Second)

	start := time.Now()
	procs[2].Signal(syscall.SIGTERM)
	if res := procs[2].Wait(30 * time.Second); res.ExitCode != 0 {
		t.Fatalf("shard 2: exit code %d after SIGTERM", res.ExitCode)
	}
	for i := range 2 {
		if err := os.WriteFile(files[i], []byte(config(i, 2, spools[i])), 0o600); err != nil {
			t.Fatal(err)
		}
		procs[i].Signal(syscall.SIGHUP)
	}
	waitQuery(t, prom, `count(liftpush_collector_up{collector="kubernetes",total_shards="2"} == 1)`, valueIs(2))
	// Several cycles after the reshard: the cycle that follows it marks
	// as usual, and must not mark what moved either.
	time.Sleep(4 * time.Second)
	end := time.Now()
	// The last second may not be ingested yet.
	counts := rangeCounts(t, prom, all, start.Add(-time.Second), end.Add(-time.Second), 50*time.Millisecond)
	for i, c := range counts {
		if c != shardDeployments {
			at := start.Add(-time.Second + time.Duration(i)*50*time.Millisecond)
			t.Errorf("%s after the reshard began, Prometheus returned %g Deployments, want %d", at.Sub(start).Round(time.Millisecond), c, shardDeployments)
		}
	}
	for i := range 2 {
		if !strings.Contains(procs[i].Stderr(), "no stale markers this cycle") {
			t.Errorf("shard %d logged no reshard cycle:\n%s", i, procs[i].Stderr())
		}
	}

	// Staleness still works: a deleted Deployment is absent at once.
	if err := srv.Clientset.AppsV1().Deployments("bulk").Delete(t.Context(), "d-00007", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	took := waitAbsent(t, prom, `k8s_deployment_spec_replicas{name="d-00007"}`, 15*time.Second)
	t.Logf("the deleted Deployment absent %s after its deletion", took.Round(time.Millisecond))
	for i := range 2 {
		procs[i].Signal(syscall.SIGTERM)
		if res := procs[i].Wait(30 * time.Second); res.ExitCode != 0 {
			t.Errorf("shard %d: exit code %d after SIGTERM", i, res.ExitCode)
		}
	}
}
