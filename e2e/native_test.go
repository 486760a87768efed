package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// nativeTarget serves a client_golang registry holding a histogram that is
// both native and classic, with an exemplar, over a real promhttp handler
// (protobuf when asked for it). The observations are made once, so every
// scrape sees the same histogram.
func nativeTarget(t *testing.T) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                        "rt_seconds",
		Help:                        "Request time.",
		Buckets:                     []float64{0.01, 0.1, 1, 10},
		NativeHistogramBucketFactor: 1.1,
	}, []string{"path"})
	reg.MustRegister(h)
	for i := range 200 {
		h.WithLabelValues("/api").Observe(float64(i%50) * 0.013)
	}
	for i := range 30 {
		h.WithLabelValues("/health").Observe(0.0005 * float64(i))
	}
	h.WithLabelValues("/api").(prometheus.ExemplarObserver).ObserveWithExemplar(0.42, prometheus.Labels{"trace_id": "4bf92f3577b34da6"})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, reg
}

// TestE2ENativeHistograms: a protobuf target with native histograms is
// scraped by Prometheus 3.16 itself (job "direct") and by liftpush run
// --once, which pushes into the same Prometheus by remote-write 1.0 and 2.0
// (send_native_histograms, send_exemplars). histogram_count and
// histogram_quantile must agree, the classic buckets must be dropped by
// both, the exemplar must arrive, and a target gone makes liftpush's
// histogram series stale.
func TestE2ENativeHistograms(t *testing.T) {
	srv, _ := nativeTarget(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	prom := testinfra.StartPrometheus3Scraping(t, fmt.Sprintf(`  - job_name: direct
    scrape_native_histograms: true
    static_configs: [{targets: [%q]}]
`, host), "exemplar-storage")
	// Prometheus' own scrape is the reference: wait for it.
	waitQuery(t, prom, `histogram_count(rt_seconds{job="direct"})`, func(s []testinfra.Sample) bool { return len(s) == 2 })

	for _, msg := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		job := "viapush-v1"
		if strings.Contains(msg, "v2") {
			job = "viapush-v2"
		}
		t.Run(job, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`scrape_configs:
  - job_name: %s
    scrape_native_histograms: true
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s
    protobuf_message: %s
    send_native_histograms: true
    send_exemplars: true
spool:
  dir: %s
`, job, host, prom.WriteURL(), msg, dir+"/spool"))
			res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
			if res.ExitCode != 0 {
				t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
			}
			for _, q := range []string{
				`histogram_count(rt_seconds{job="%s"})`,
				`histogram_sum(rt_seconds{job="%s"})`,
				`histogram_quantile(0.9, rt_seconds{job="%s"})`,
				`histogram_quantile(0.5, rt_seconds{job="%s", path="/health"})`,
			} {
				want := byPath(prom.Query(t, fmt.Sprintf(q, "direct")))
				got := byPath(waitQuery(t, prom, fmt.Sprintf(q, job), nil))
				if len(want) == 0 {
					t.Fatalf("%s: Prometheus' own scrape has nothing", fmt.Sprintf(q, "direct"))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: liftpush's push differs from Prometheus' scrape (-direct +liftpush):\n%s", fmt.Sprintf(q, job), diff)
				}
			}
			if got := prom.Value(t, fmt.Sprintf(`histogram_count(rt_seconds{job=%q, path="/api"})`, job)); got != 201 {
				t.Errorf("histogram_count of /api = %g, want 201 observations", got)
			}
			// Both dropped the classic buckets (no always_scrape_classic_histograms).
			names := func(job string) []string {
				var out []string
				for _, s := range prom.Query(t, fmt.Sprintf(`group by (__name__) ({__name__=~"rt_seconds.*", job=%q})`, job)) {
					out = append(out, s.Metric["__name__"])
				}
				slices.Sort(out)
				return out
			}
			if diff := cmp.Diff(names("direct"), names(job)); diff != "" || len(names(job)) != 1 {
				t.Errorf("series names (-direct +liftpush):\n%s", diff)
			}
			want := exemplarTraces(t, prom, `rt_seconds{job="direct"}`)
			if got := exemplarTraces(t, prom, fmt.Sprintf(`rt_seconds{job=%q}`, job)); len(got) == 0 || !cmp.Equal(want, got) {
				t.Errorf("exemplars of liftpush's push %v, Prometheus' scrape %v", got, want)
			}

			// The target answers 404 now: the job fails, and its
			// histogram series get stale markers, so they vanish at once
			// instead of after the 5-minute lookback.
			gone := strings.Replace(readFile(t, cfg), "static_configs:", "metrics_path: /gone\n    static_configs:", 1)
			cfgGone := writeFile(t, dir, "gone.yml", gone)
			res = testinfra.Run(t, nil, "run", "--once", "--config.file="+cfgGone)
			if res.ExitCode != 1 {
				t.Fatalf("run --once against a failing target: exit %d, want 1\n%s", res.ExitCode, res.Stderr)
			}
			if got := prom.Query(t, fmt.Sprintf(`histogram_count(rt_seconds{job=%q})`, job)); len(got) != 0 {
				t.Errorf("histogram series still there after the failed run: %v", got)
			}
			if got := prom.Query(t, fmt.Sprintf(`up{job=%q}`, job)); len(got) != 1 || got[0].Value != 0 {
				t.Errorf("up = %v, want 0", got)
			}
		})
	}
}

// byPath maps a query result's path label to its value.
func byPath(res []testinfra.Sample) map[string]float64 {
	out := map[string]float64{}
	for _, s := range res {
		out[s.Metric["path"]] = s.Value
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exemplarTraces returns "path=trace_id value" for every exemplar of the
// series matching selector in the last hour (/api/v1/query_exemplars).
func exemplarTraces(t *testing.T, prom *testinfra.Prometheus, selector string) []string {
	t.Helper()
	now := time.Now()
	q := url.Values{"query": {selector}, "start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}}
	resp, err := http.Get(prom.URL + "/api/v1/query_exemplars?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query_exemplars %s: %v %s", selector, err, body.Error)
	}
	var out []string
	for _, d := range body.Data {
		for _, e := range d.Exemplars {
			out = append(out, d.SeriesLabels["path"]+"="+e.Labels["trace_id"]+" "+e.Value)
		}
	}
	slices.Sort(out)
	return out
}

// TestE2ENativeHistogramPushgateway: liftpush scrapes the native histogram
// and pushes it to the real Pushgateway (a text-format destination: the
// group goes as protobuf because it holds a native histogram); the
// Pushgateway exposes the very histogram the target exposes.
func TestE2ENativeHistogramPushgateway(t *testing.T) {
	srv, reg := nativeTarget(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	pgw := testinfra.StartPushgateway(t)
	cfg := writeFile(t, t.TempDir(), "liftpush.yml", fmt.Sprintf(`scrape_configs:
  - job_name: app
    scrape_native_histograms: true
    static_configs: [{targets: [%q]}]
pushgateway:
  - url: %s
`, host, pgw.URL))
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
	}

	gathered, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := nativeByPath(t, gathered)
	got := nativeByPath(t, pushgatewayFamilies(t, pgw.URL))
	if len(want) != 2 {
		t.Fatalf("target exposes %d native histograms, want 2", len(want))
	}
	if len(want["/api"].Positive) < 5 {
		t.Fatalf("target's /api histogram has %d buckets, want a few", len(want["/api"].Positive))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("native histograms, Pushgateway vs target (-target +pushgateway):\n%s", diff)
	}
}

// nativeHist is the native part of a histogram with its buckets by index:
// encoders may split spans or fill short gaps with empty buckets (the
// Prometheus parser and client_golang differ there), which changes no
// bucket.
type nativeHist struct {
	Count, ZeroCount   uint64
	Sum, ZeroThreshold float64
	Schema             int32
	Positive, Negative map[int32]int64
}

func bucketsOf(spans []*dto.BucketSpan, deltas []int64) map[int32]int64 {
	out := map[int32]int64{}
	var idx int32
	var count int64
	k := 0
	for _, s := range spans {
		idx += s.GetOffset()
		for range s.GetLength() {
			count += deltas[k]
			k++
			if count != 0 {
				out[idx] = count
			}
			idx++
		}
	}
	return out
}

// nativeByPath returns the native part of each rt_seconds histogram, by
// its path label.
func nativeByPath(t *testing.T, mfs []*dto.MetricFamily) map[string]nativeHist {
	t.Helper()
	out := map[string]nativeHist{}
	for _, mf := range mfs {
		if mf.GetName() != "rt_seconds" {
			continue
		}
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("rt_seconds has type %s, want HISTOGRAM", mf.GetType())
		}
		for _, m := range mf.Metric {
			path := ""
			for _, l := range m.Label {
				if l.GetName() == "path" {
					path = l.GetValue()
				}
			}
			h := m.GetHistogram()
			out[path] = nativeHist{
				Count: h.GetSampleCount(), Sum: h.GetSampleSum(),
				Schema: h.GetSchema(), ZeroThreshold: h.GetZeroThreshold(), ZeroCount: h.GetZeroCount(),
				Positive: bucketsOf(h.PositiveSpan, h.PositiveDelta), Negative: bucketsOf(h.NegativeSpan, h.NegativeDelta),
			}
		}
	}
	return out
}

// pushgatewayFamilies scrapes the Pushgateway's /metrics in protobuf, the
// one format its native histograms come out in.
func pushgatewayFamilies(t *testing.T, base string) []*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.MetricFamily
	r := bytes.NewReader(body)
	for {
		mf := &dto.MetricFamily{}
		if err := protodelim.UnmarshalFrom(r, mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding the Pushgateway's /metrics: %v", err)
		}
		out = append(out, mf)
	}
}

// TestE2ENHCB: a target with classic histograms only, scraped with
// convert_classic_histograms_to_nhcb by Prometheus 3.16 and by liftpush
// (remote-write 2.0, which carries custom buckets); and by liftpush with
// convert_nhcb_to_classic on a 1.0 destination, which gets the classic
// series back. histogram_quantile agrees across all three.
func TestE2ENHCB(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lat_seconds", Help: "Latency.", Buckets: []float64{0.05, 0.1, 0.5, 1, 5}}, []string{"op"})
	reg.MustRegister(h)
	for i := range 100 {
		h.WithLabelValues("get").Observe(float64(i) * 0.02)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	prom := testinfra.StartPrometheus3Scraping(t, fmt.Sprintf(`  - job_name: direct
    convert_classic_histograms_to_nhcb: true
    static_configs: [{targets: [%q]}]
`, host))
	waitQuery(t, prom, `histogram_count(lat_seconds{job="direct"})`, valueIs(100))

	dir := t.TempDir()
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`scrape_configs:
  - job_name: nhcb
    convert_classic_histograms_to_nhcb: true
    static_configs: [{targets: [%[1]q]}]
remote_write:
  - url: %[2]s
    protobuf_message: io.prometheus.write.v2.Request
    send_native_histograms: true
    write_relabel_configs: [{target_label: via, replacement: v2}]
  - url: %[2]s
    convert_nhcb_to_classic: true
    write_relabel_configs: [{target_label: via, replacement: v1-classic}]
`, host, prom.WriteURL()))
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	want := prom.Value(t, `histogram_quantile(0.9, lat_seconds{job="direct"})`)
	if want <= 0.5 || want > 5 {
		t.Fatalf("Prometheus' own quantile %g, want one in the (0.5, 5] bucket", want)
	}
	gotV2 := waitQuery(t, prom, `histogram_quantile(0.9, lat_seconds{job="nhcb", via="v2"})`, nil)
	if len(gotV2) != 1 || gotV2[0].Value != want {
		t.Errorf("NHCB by 2.0: quantile %v, Prometheus' own %g", gotV2, want)
	}
	if n := prom.Query(t, `count(lat_seconds_bucket{job="nhcb", via="v2"})`); len(n) != 0 {
		t.Errorf("classic buckets sent beside the NHCB: %v", n)
	}
	gotV1 := waitQuery(t, prom, `histogram_quantile(0.9, lat_seconds_bucket{job="nhcb", via="v1-classic"})`, nil)
	if len(gotV1) != 1 || math.Abs(gotV1[0].Value-want) > 1e-9 {
		t.Errorf("NHCB as classic by 1.0: quantile %v, Prometheus' own %g", gotV1, want)
	}
}
