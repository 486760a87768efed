package e2e

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/liftpush/liftpush/internal/collect/kubernetes"
	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// VictoriaMetrics is the third remote-write receiver (after Prometheus 2.42
// and 3): lenient, 1.0 only, and silent about a 2.0 body (204, nothing
// stored), like Prometheus 2.42.

// instantKeys renders query results like pointKey, time 0; keep
// rewrites each sample's labels and value first (e.g. to blank a value
// that changes every run).
func instantKeys(samples []testinfra.Sample, keep func(m map[string]string, v *float64)) []string {
	var out []string
	for _, s := range samples {
		m, v := maps.Clone(s.Metric), s.Value
		if keep != nil {
			keep(m, &v)
		}
		out = append(out, pointKey(m, v, 0))
	}
	sort.Strings(out)
	return out
}

// familyKeys renders families as a delivery labels them (job=liftpush).
func familyKeys(fams []metric.Family, keep func(m map[string]string, v *float64)) []string {
	var out []string
	for _, f := range fams {
		for _, s := range f.Samples {
			m, v := s.Labels.Map(), s.Value
			m["job"] = "liftpush"
			if keep != nil {
				keep(m, &v)
			}
			out = append(out, pointKey(m, v, 0))
		}
	}
	sort.Strings(out)
	return out
}

// TestE2EVictoriaSpacelift: `run --once` against the fake Spacelift's demo
// account pushes over 1.0 into VictoriaMetrics, and its Prometheus query API
// returns exactly the collector's golden series
// (internal/collect/spacelift/testdata/demo.prom) with their values.
func TestE2EVictoriaSpacelift(t *testing.T) {
	vm := testinfra.StartVictoriaMetrics(t)
	fake := startSpaceliftDemo(t)
	cfg := tempFile(t, "liftpush.yml", `
`+spaceliftBlock(t, fake.URL, "demo-secret")+`
remote_write:
  - url: `+vm.WriteURL()+`
`)
	before := time.Now()
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	// The fake answers the billing period of the day it runs (a month
	// may turn during the run); the golden holds the one its unit test
	// was pinned to.
	periods := map[float64]bool{}
	for _, at := range []time.Time{before, time.Now()} {
		start, end := spacelifttest.BillingPeriod(at)
		periods[float64(start.Unix())], periods[float64(end.Unix())] = true, true
	}
	golden, err := os.ReadFile(filepath.Join("..", "internal", "collect", "spacelift", "testdata", "demo.prom"))
	if err != nil {
		t.Fatal(err)
	}
	var fams []metric.Family
	if _, err := exposition.Parse(golden, exposition.ContentTypeText, exposition.ParseOptions{}, func(f metric.Family) error {
		fams = append(fams, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The golden file blanks what changes per build and per run.
	normalise := func(m map[string]string, v *float64) {
		if _, ok := m["goversion"]; ok {
			m["goversion"] = "<goversion>"
		}
		switch m["__name__"] {
		case "spacelift_scrape_duration_seconds":
			*v = 0
		case "spacelift_current_billing_period_start_timestamp_seconds", "spacelift_current_billing_period_end_timestamp_seconds":
			*v = 0
		}
	}
	want := familyKeys(fams, normalise)
	got := vm.QueryWait(t, `{__name__=~"spacelift_.+"}`, len(want))
	for _, s := range got {
		if name := s.Metric["__name__"]; strings.HasPrefix(name, "spacelift_current_billing_period_") && strings.HasSuffix(name, "_timestamp_seconds") && !periods[s.Value] {
			t.Errorf("%s = %g, want the billing period of the day of the run (%v)", name, s.Value, periods)
		}
	}
	if diff := cmp.Diff(want, instantKeys(got, normalise)); diff != "" {
		t.Errorf("VictoriaMetrics holds (-golden +got):\n%s", diff)
	}
}

// TestE2EVictoriaKubernetes: Deployments from a real kube-apiserver, pushed
// by `run --once` into VictoriaMetrics, arrive exactly as the collector
// produces them for the same config and objects (the series its golden
// tests pin down). Skipped where the apiserver is not built, except in CI.
func TestE2EVictoriaKubernetes(t *testing.T) {
	srv := kubeapi.Start(t)
	vm := testinfra.StartVictoriaMetrics(t)
	srv.CreateNamespaces(t, "shop", "ops")
	srv.CreateDeployment(t, kubeapi.Deployment("shop", "web", 2, map[string]string{"app": "web"}),
		&appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2})
	srv.CreateDeployment(t, kubeapi.Deployment("ops", "queue", 3, map[string]string{"app": "queue"}),
		&appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 1, UnavailableReplicas: 2})
	srv.CreateDeployment(t, kubeapi.Deployment("ops", "cron", 1, map[string]string{"app": "cron"}), nil)
	path := tempFile(t, "liftpush.yml", `
kubernetes:
  kubeconfig: `+srv.Kubeconfig+`
  namespaces: [shop, ops]
remote_write:
  - url: `+vm.WriteURL()+`
`)
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	col, err := kubernetes.New(cfg.Kubernetes, cfg.Global.SeriesDefaults(), slog.New(slog.DiscardHandler), "liftpush/e2e")
	if err != nil {
		t.Fatal(err)
	}
	fams, err := col.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := familyKeys(fams, nil)
	if len(want) < 20 {
		t.Fatalf("the collector produced %d samples; the fixture is too small to mean anything", len(want))
	}

	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+path)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	got := vm.QueryWait(t, `{__name__=~"k8s_.+"}`, len(want))
	if diff := cmp.Diff(want, instantKeys(got, nil)); diff != "" {
		t.Errorf("VictoriaMetrics holds (-collector +got):\n%s", diff)
	}
}

// TestE2EVictoriaRemoteWrite2Fallback: a destination configured for 2.0
// falls back at VictoriaMetrics too (204 without Samples-Written), once,
// and every sample arrives as 1.0.
func TestE2EVictoriaRemoteWrite2Fallback(t *testing.T) {
	const n = 3000
	vm := testinfra.StartVictoriaMetrics(t)
	proxy := startRWProxy(t, vm.WriteURL())
	file := ksmFile(t, n)
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - url: `+proxy.URL+`
    protobuf_message: io.prometheus.write.v2.Request
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, file)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if got := fallbackLines(t, res.Stderr, proxy.URL); got != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", got, res.Stderr)
	}
	v2 := 0
	for _, ex := range proxy.exchanges() {
		if ex.v2 {
			v2++
			if ex.written != "" {
				t.Errorf("VictoriaMetrics answered a 2.0 request with Samples-Written %q; the test's premise is gone", ex.written)
			}
		}
	}
	if v2 == 0 {
		t.Error("no 2.0 request reached VictoriaMetrics")
	}
	want := ksmExpected(t, file)
	got := vm.ExportWait(t, `{__name__=~"kube_.+"}`, n)
	if diff := cmp.Diff(want, withoutTime(got)); diff != "" {
		t.Errorf("VictoriaMetrics holds (-file +got):\n%s", diff)
	}
	if !strings.Contains(res.Stderr, "dropped=0") {
		t.Errorf("summary reports drops:\n%s", res.Stderr)
	}
}
