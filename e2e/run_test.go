package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

const appExposition = `# HELP app_requests_total Requests served.
# TYPE app_requests_total counter
app_requests_total{code="200"} 1027
app_requests_total{code="500"} 3
# HELP app_queue_depth Items waiting.
# TYPE app_queue_depth gauge
app_queue_depth{queue="a/b",job="inner"} 7
# HELP app_latency_seconds Request latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="0.1"} 5
app_latency_seconds_bucket{le="1"} 6
app_latency_seconds_bucket{le="+Inf"} 7
app_latency_seconds_sum 1.5
app_latency_seconds_count 7
# HELP app_rpc_seconds RPC latency.
# TYPE app_rpc_seconds summary
app_rpc_seconds{quantile="0.5"} 0.2
app_rpc_seconds{quantile="0.99"} 0.9
app_rpc_seconds_sum 12.5
app_rpc_seconds_count 40
`

// series renders query results as sorted "labels value" lines for diffs.
func series(samples []testinfra.Sample) []string {
	out := make([]string, 0, len(samples))
	for _, s := range samples {
		names := make([]string, 0, len(s.Metric))
		for k := range s.Metric {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for i, k := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", k, s.Metric[k])
		}
		out = append(out, fmt.Sprintf("%s %g", b.String(), s.Value))
	}
	sort.Strings(out)
	return out
}

// tempFile writes content to a file of its own temp dir.
func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), name, content)
}

// TestE2ERunOnce scrapes a local endpoint with `run --once` into a real
// Prometheus and checks every series and value that comes back, including
// the target labels, external labels and self-metrics.
func TestE2ERunOnce(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(appExposition))
	}))
	defer target.Close()
	host := strings.TrimPrefix(target.URL, "http://")
	cfg := tempFile(t, "liftpush.yml", `
global:
  job: e2e
  external_labels: {cluster: edge-1}
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["`+host+`"], labels: {env: test}}]
remote_write:
  - name: local
    url: `+prom.WriteURL()+`
`)
	before := time.Now()
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if !strings.Contains(res.Stderr, `msg="cycle finished" ok=true`) || !strings.Contains(res.Stderr, "destination.local.sent=") {
		t.Errorf("no summary line with the destination in:\n%s", res.Stderr)
	}

	base := map[string]string{"cluster": "edge-1", "env": "test", "instance": host, "job": "app"}
	sample := func(name string, v float64, kv ...string) testinfra.Sample {
		m := map[string]string{"__name__": name}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return testinfra.Sample{Metric: m, Value: v}
	}
	want := series([]testinfra.Sample{
		sample("app_latency_seconds_bucket", 7, "le", "+Inf"),
		sample("app_latency_seconds_bucket", 5, "le", "0.1"),
		// Prometheus 3's parser normalises le values, as its scrapes do.
		sample("app_latency_seconds_bucket", 6, "le", "1.0"),
		sample("app_latency_seconds_count", 7),
		sample("app_latency_seconds_sum", 1.5),
		// The exposed job label clashes with the target's and survives as
		// exported_job (honor_labels: false).
		sample("app_queue_depth", 7, "exported_job", "inner", "queue", "a/b"),
		sample("app_requests_total", 1027, "code", "200"),
		sample("app_requests_total", 3, "code", "500"),
		sample("app_rpc_seconds", 0.2, "quantile", "0.5"),
		sample("app_rpc_seconds", 0.9, "quantile", "0.99"),
		sample("app_rpc_seconds_count", 40),
		sample("app_rpc_seconds_sum", 12.5),
		sample("scrape_samples_post_metric_relabeling", 12),
		sample("scrape_samples_scraped", 12),
		sample("scrape_series_added", 12),
		sample("up", 1),
	})
	got := series(prom.Query(t, `{job="app",__name__!="scrape_duration_seconds"}`))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scraped series (-want +got):\n%s", diff)
	}

	// Self-metrics: job = global.job, no instance, external labels.
	self := `cluster="edge-1",collector="scrape/app",job="e2e"`
	wantSelf := []string{
		// 12 scraped and the 5 series a Prometheus scrape adds.
		`__name__="liftpush_collector_samples",` + self + ` 17`,
		`__name__="liftpush_collector_up",` + self + ` 1`,
	}
	got = series(prom.Query(t, `{__name__=~"liftpush_collector_(up|samples)"}`))
	if diff := cmp.Diff(wantSelf, got); diff != "" {
		t.Errorf("self-metrics (-want +got):\n%s", diff)
	}
	last := prom.Value(t, `liftpush_last_success_timestamp_seconds{collector="scrape/app",job="e2e",cluster="edge-1"}`)
	if last < float64(before.Unix())-1 || last > float64(time.Now().Unix())+1 {
		t.Errorf("liftpush_last_success_timestamp_seconds = %f, want between %d and now", last, before.Unix())
	}
	if d := prom.Value(t, `liftpush_collector_duration_seconds{collector="scrape/app"}`); d < 0 || d > 10 {
		t.Errorf("liftpush_collector_duration_seconds = %f", d)
	}
	build := prom.Query(t, `liftpush_build_info`)
	if len(build) != 1 || build[0].Metric["job"] != "e2e" || build[0].Metric["cluster"] != "edge-1" || build[0].Metric["goversion"] == "" || build[0].Metric["instance"] != "" {
		t.Errorf("liftpush_build_info = %v", build)
	}
}

// TestE2EPushFile pushes an exposition file like `promtool push metrics`.
func TestE2EPushFile(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	file := tempFile(t, "metrics.prom", appExposition)
	res := testinfra.Run(t, nil, "push", "--remote-write.url="+prom.WriteURL(), "--label=source=file", "--external-label=cluster=edge-2", file)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	got := series(prom.Query(t, `{source="file"}`))
	if len(got) != 12 {
		t.Fatalf("got %d series, want 12:\n%s", len(got), strings.Join(got, "\n"))
	}
	// Series that had a job keep it; the others get global.job.
	for q, want := range map[string]float64{
		`app_requests_total{code="200",job="liftpush",cluster="edge-2"}`: 1027,
		`app_queue_depth{job="inner",queue="a/b"}`:                       7,
		`app_latency_seconds_bucket{le="+Inf"}`:                          7,
		`app_rpc_seconds{quantile="0.99"}`:                               0.9,
	} {
		if v := prom.Value(t, q); v != want {
			t.Errorf("%s = %g, want %g", q, v, want)
		}
	}

	// The same kind of file from standard input.
	stdin, err := os.Open(tempFile(t, "stdin.prom", "from_stdin 42\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	res = testinfra.RunStdin(t, stdin, nil, "push", "--remote-write.url="+prom.WriteURL(), "-")
	if res.ExitCode != 0 {
		t.Fatalf("push - exit code %d", res.ExitCode)
	}
	if v := prom.Value(t, `from_stdin{job="liftpush"}`); v != 42 {
		t.Errorf("from_stdin = %g, want 42", v)
	}
}

// TestE2EFailuresAndExitCodes checks exit 1 for a failing collector (its
// self-metrics still arrive) and exit 2 for configuration errors.
func TestE2EFailuresAndExitCodes(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	broken := httptest.NewServer(http.NotFoundHandler())
	defer broken.Close()
	file := tempFile(t, "ok.prom", "ok_metric 1\n")
	res := testinfra.Run(t, nil, "run", "--once",
		"--scrape.url="+broken.URL+"/metrics", "--scrape.url=file://"+file,
		"--remote-write.url="+prom.WriteURL())
	if res.ExitCode != 1 {
		t.Errorf("exit code %d, want 1", res.ExitCode)
	}
	u, _ := url.Parse(broken.URL)
	if v := prom.Value(t, `liftpush_collector_up{collector="scrape/`+u.Hostname()+`"}`); v != 0 {
		t.Errorf("failing collector up = %g, want 0", v)
	}
	if v := prom.Value(t, `up{job="`+u.Hostname()+`"}`); v != 0 {
		t.Errorf("failing target up = %g, want 0", v)
	}
	if v := prom.Value(t, `ok_metric{job="file"}`); v != 1 {
		t.Errorf("the other collector's series: ok_metric = %g, want 1", v)
	}

	for _, tc := range []struct {
		name, config, want string
	}{
		{"unknown key", "global:\n  jobb: x\n", `line 2: unknown key "jobb"`},
		{"missing url", "scrape_configs: [{job_name: a, static_configs: [{targets: [\"h:1\"]}]}]\nremote_write: [{name: x}]\n", "remote_write[0]: url: missing"},
		{"nothing configured", "global: {job: x}\n", "no source configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testinfra.Run(t, nil, "run", "--once", "--config.file="+tempFile(t, "bad.yml", tc.config))
			if res.ExitCode != 2 {
				t.Errorf("exit code %d, want 2", res.ExitCode)
			}
			if !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, res.Stderr)
			}
		})
	}
}
