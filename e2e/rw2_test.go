package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// exchange is one remote-write request seen by rwProxy, and its answer.
type exchange struct {
	v2      bool   // Content-Type names io.prometheus.write.v2.Request
	version string // X-Prometheus-Remote-Write-Version
	samples int
	// meta maps a 2.0 series' __name__ to "type|help|unit".
	meta map[string]string

	status  int
	written string // X-Prometheus-Remote-Write-Samples-Written, "" if absent
	// retryAttempt is the request's Retry-Attempt header, retryAfter the
	// answer's Retry-After; "" if absent.
	retryAttempt, retryAfter string
	body                     string    // the first 1 KiB of a non-2xx answer
	at                       time.Time // when the request arrived
}

// rwProxy is a pass-through remote-write proxy (httputil.ReverseProxy) that
// decodes every request on its way to the real receiver and records what
// the receiver answered, to assert what was really on the wire.
type rwProxy struct {
	URL string

	mu  sync.Mutex
	exs []*exchange
}

type exchangeKey struct{}

func startRWProxy(t *testing.T, target string) *rwProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &rwProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.URL.Path = u.Scheme, u.Host, u.Path
			r.Out.Host = u.Host
		},
		// The receiver down: a load balancer's 502, recorded, not logged.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ex := r.Context().Value(exchangeKey{}).(*exchange)
			p.mu.Lock()
			ex.status, ex.body = http.StatusBadGateway, err.Error()
			p.mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
		},
		ModifyResponse: func(resp *http.Response) error {
			ex := resp.Request.Context().Value(exchangeKey{}).(*exchange)
			var body []byte
			if resp.StatusCode/100 != 2 {
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				resp.Body = io.NopCloser(bytes.NewReader(b))
				body = b[:min(len(b), 1024)]
			}
			p.mu.Lock()
			ex.status, ex.written = resp.StatusCode, resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written")
			ex.retryAfter, ex.body = resp.Header.Get("Retry-After"), string(body)
			p.mu.Unlock()
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ex, err := decodeExchange(r.Header, body)
		ex.at = at
		if err != nil {
			t.Errorf("proxy: undecodable request: %v", err)
		}
		p.mu.Lock()
		p.exs = append(p.exs, ex)
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL + "/api/v1/write"
	return p
}

func decodeExchange(h http.Header, body []byte) (*exchange, error) {
	ex := &exchange{
		v2:      strings.Contains(h.Get("Content-Type"), "proto=io.prometheus.write.v2.Request"),
		version: h.Get("X-Prometheus-Remote-Write-Version"),
		meta:    map[string]string{},

		retryAttempt: h.Get("Retry-Attempt"),
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return ex, err
	}
	if !ex.v2 {
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			return ex, err
		}
		for _, ts := range req.Timeseries {
			ex.samples += len(ts.Samples)
		}
		return ex, nil
	}
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		return ex, err
	}
	for _, ts := range req.Timeseries {
		ex.samples += len(ts.Samples)
		name := ""
		for i := 0; i+1 < len(ts.LabelsRefs); i += 2 {
			if req.Symbols[ts.LabelsRefs[i]] == "__name__" {
				name = req.Symbols[ts.LabelsRefs[i+1]]
			}
		}
		ex.meta[name] = fmt.Sprintf("%s|%s|%s", ts.Metadata.Type, req.Symbols[ts.Metadata.HelpRef], req.Symbols[ts.Metadata.UnitRef])
	}
	return ex, nil
}

func (p *rwProxy) exchanges() []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]exchange, len(p.exs))
	for i, ex := range p.exs {
		out[i] = *ex
	}
	return out
}

// point is one expected sample: its labels without job, value and time.
type point struct {
	labels map[string]string
	v      float64
	t      int64
}

// trickyExposition is a text exposition with everything that is easy to
// get wrong on the way: escapes in HELP and label values, unicode, special
// floats, a histogram, a summary, an untyped family with and without TYPE,
// explicit millisecond timestamps. It returns the file's text and what a
// receiver must hold afterwards.
func trickyExposition(t0 int64) (string, []point) {
	ts := func(i int) int64 { return t0 + int64(i) }
	text := fmt.Sprintf(`# HELP rt_requests_total Requests with "quotes", a backslash \\ and a newline \n in the help ☁.
# TYPE rt_requests_total counter
rt_requests_total{code="200",path="/a\"b\\c\nd"} 1027 %d
rt_requests_total{code="500",path="☁ unicode/日本語"} 3 %d
# HELP rt_temperature_celsius Temperature.
# TYPE rt_temperature_celsius gauge
rt_temperature_celsius{zone="eu west"} -12.5 %d
rt_temperature_celsius{zone="inf"} +Inf %d
rt_temperature_celsius{zone="ninf"} -Inf %d
rt_temperature_celsius{zone="nan"} NaN %d
rt_temperature_celsius{zone="tiny"} 1e-300 %d
rt_temperature_celsius{zone="huge"} 1.7976931348623157e+308 %d
# HELP rt_latency_seconds Latency.
# TYPE rt_latency_seconds histogram
rt_latency_seconds_bucket{le="0.1"} 1 %d
rt_latency_seconds_bucket{le="1"} 3 %d
rt_latency_seconds_bucket{le="+Inf"} 4 %d
rt_latency_seconds_sum 2.5 %d
rt_latency_seconds_count 4 %d
# HELP rt_rpc_seconds RPC latency.
# TYPE rt_rpc_seconds summary
rt_rpc_seconds{quantile="0.5"} 0.05 %d
rt_rpc_seconds{quantile="0.99"} 0.3 %d
rt_rpc_seconds_sum 12 %d
rt_rpc_seconds_count 40 %d
rt_untyped_thing{a="1"} 42 %d
# TYPE rt_explicit_untyped untyped
rt_explicit_untyped 7 %d
`, ts(0), ts(1), ts(2), ts(3), ts(4), ts(5), ts(6), ts(7), ts(8), ts(9), ts(10), ts(11), ts(12), ts(13), ts(14), ts(15), ts(16), ts(17), ts(18))
	l := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return text, []point{
		{l("__name__", "rt_requests_total", "code", "200", "path", "/a\"b\\c\nd"), 1027, ts(0)},
		{l("__name__", "rt_requests_total", "code", "500", "path", "☁ unicode/日本語"), 3, ts(1)},
		{l("__name__", "rt_temperature_celsius", "zone", "eu west"), -12.5, ts(2)},
		{l("__name__", "rt_temperature_celsius", "zone", "inf"), math.Inf(1), ts(3)},
		{l("__name__", "rt_temperature_celsius", "zone", "ninf"), math.Inf(-1), ts(4)},
		{l("__name__", "rt_temperature_celsius", "zone", "nan"), math.NaN(), ts(5)},
		{l("__name__", "rt_temperature_celsius", "zone", "tiny"), 1e-300, ts(6)},
		{l("__name__", "rt_temperature_celsius", "zone", "huge"), math.MaxFloat64, ts(7)},
		{l("__name__", "rt_latency_seconds_bucket", "le", "0.1"), 1, ts(8)},
		{l("__name__", "rt_latency_seconds_bucket", "le", "1"), 3, ts(9)},
		{l("__name__", "rt_latency_seconds_bucket", "le", "+Inf"), 4, ts(10)},
		{l("__name__", "rt_latency_seconds_sum"), 2.5, ts(11)},
		{l("__name__", "rt_latency_seconds_count"), 4, ts(12)},
		{l("__name__", "rt_rpc_seconds", "quantile", "0.5"), 0.05, ts(13)},
		{l("__name__", "rt_rpc_seconds", "quantile", "0.99"), 0.3, ts(14)},
		{l("__name__", "rt_rpc_seconds_sum"), 12, ts(15)},
		{l("__name__", "rt_rpc_seconds_count"), 40, ts(16)},
		{l("__name__", "rt_untyped_thing", "a", "1"), 42, ts(17)},
		{l("__name__", "rt_explicit_untyped"), 7, ts(18)},
	}
}

// pointKey renders labels (le and quantile as numbers: the parser writes
// le="1.0" for le="1") and the value and time, for diffs.
func pointKey(labels map[string]string, v float64, t int64) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		val := labels[k]
		if k == "le" || k == "quantile" {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				val = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		kv = append(kv, fmt.Sprintf("%s=%q", k, val))
	}
	return fmt.Sprintf("{%s} %s @%d", strings.Join(kv, ","), strconv.FormatFloat(v, 'g', -1, 64), t)
}

// rawKeys renders every raw sample of series, dropping the labels in drop.
func rawKeys(series []testinfra.Series, drop ...string) []string {
	var out []string
	for _, s := range series {
		m := maps.Clone(s.Metric)
		for _, k := range drop {
			delete(m, k)
		}
		for _, p := range s.Samples {
			out = append(out, pointKey(m, p.V, p.T))
		}
	}
	sort.Strings(out)
	return out
}

// TestE2ERemoteWrite2Prometheus3 pushes the tricky exposition as
// remote-write 2.0 into a real Prometheus 3 through a pass-through proxy:
// every request was 2.0 and was answered with all its samples written, no
// fallback happened, and every label, value and timestamp is stored. The
// metadata is checked where this Prometheus keeps it: type and unit as
// __type__/__unit__ labels (feature type-and-unit-labels), help and all of
// it on the wire; /api/v1/metadata only lists scraped targets' metadata in
// 3.16, so it is consulted and reported, not required.
func TestE2ERemoteWrite2Prometheus3(t *testing.T) {
	prom := testinfra.StartPrometheus3(t, "type-and-unit-labels")
	proxy := startRWProxy(t, prom.WriteURL())
	t0 := time.Now().Add(-2 * time.Minute).UnixMilli()
	text, want := trickyExposition(t0)
	// An OpenMetrics file as well, for a unit (the text format has none).
	om := fmt.Sprintf("# TYPE rt_om_memory_bytes gauge\n# UNIT rt_om_memory_bytes bytes\n# HELP rt_om_memory_bytes Memory in use.\nrt_om_memory_bytes{pod=\"a\"} 1024 %d.%03d\n# EOF\n", (t0+100)/1000, (t0+100)%1000)
	want = append(want, point{map[string]string{"__name__": "rt_om_memory_bytes", "pod": "a"}, 1024, t0 + 100})
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - url: `+proxy.URL+`
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {max_samples_per_send: 4, max_shards: 2}
`)
	for _, f := range []string{tempFile(t, "tricky.prom", text), tempFile(t, "om.txt", om)} {
		res := testinfra.Run(t, nil, "push", "--config.file="+cfg, f)
		if res.ExitCode != 0 {
			t.Fatalf("push %s: exit code %d, want 0", f, res.ExitCode)
		}
		if strings.Contains(res.Stderr, "falling back") {
			t.Errorf("fell back from a receiver that speaks 2.0:\n%s", res.Stderr)
		}
	}

	// On the wire: 2.0 only, every sample written, metadata per series.
	exs := proxy.exchanges()
	sent := 0
	meta := map[string]string{}
	for i, ex := range exs {
		if !ex.v2 || ex.version != "2.0.0" {
			t.Errorf("request %d: 2.0 = %v, version %q; want a 2.0 request", i, ex.v2, ex.version)
		}
		if ex.status != http.StatusNoContent || ex.written != strconv.Itoa(ex.samples) {
			t.Errorf("request %d: answered %d with Samples-Written %q, want 204 with %d", i, ex.status, ex.written, ex.samples)
		}
		sent += ex.samples
		maps.Copy(meta, ex.meta)
	}
	if sent != len(want) {
		t.Errorf("%d samples on the wire, want %d", sent, len(want))
	}
	if len(exs) < 2 {
		t.Errorf("%d requests; max_samples_per_send 4 should have cut several", len(exs))
	}
	help := `Requests with "quotes", a backslash \ and a newline ` + "\n" + ` in the help ☁.`
	for name, m := range map[string]string{
		"rt_requests_total":         "METRIC_TYPE_COUNTER|" + help + "|",
		"rt_temperature_celsius":    "METRIC_TYPE_GAUGE|Temperature.|",
		"rt_latency_seconds_bucket": "METRIC_TYPE_HISTOGRAM|Latency.|",
		"rt_latency_seconds_count":  "METRIC_TYPE_HISTOGRAM|Latency.|",
		"rt_rpc_seconds":            "METRIC_TYPE_SUMMARY|RPC latency.|",
		"rt_rpc_seconds_sum":        "METRIC_TYPE_SUMMARY|RPC latency.|",
		"rt_untyped_thing":          "METRIC_TYPE_UNSPECIFIED||",
		"rt_explicit_untyped":       "METRIC_TYPE_UNSPECIFIED||",
		"rt_om_memory_bytes":        "METRIC_TYPE_GAUGE|Memory in use.|bytes",
	} {
		if meta[name] != m {
			t.Errorf("metadata of %s on the wire = %q, want %q", name, meta[name], m)
		}
	}

	// In Prometheus: every label, value and timestamp.
	got := prom.RawSamples(t, `{__name__=~"rt_.+"}`, time.Hour)
	var wantKeys []string
	for _, p := range want {
		wantKeys = append(wantKeys, pointKey(p.labels, p.v, p.t))
	}
	sort.Strings(wantKeys)
	if diff := cmp.Diff(wantKeys, rawKeys(got, "job", "__type__", "__unit__")); diff != "" {
		t.Errorf("stored samples (-want +got):\n%s", diff)
	}
	// Type and unit as stored: an untyped series gets no __type__.
	types := map[string]string{}
	for _, s := range got {
		if s.Metric["job"] != "liftpush" {
			t.Errorf("%v: job %q, want liftpush (push's default)", s.Metric, s.Metric["job"])
		}
		types[s.Metric["__name__"]] = s.Metric["__type__"] + "|" + s.Metric["__unit__"]
	}
	for name, tu := range map[string]string{
		"rt_requests_total": "counter|", "rt_temperature_celsius": "gauge|", "rt_latency_seconds_sum": "histogram|",
		"rt_rpc_seconds_count": "summary|", "rt_untyped_thing": "|", "rt_om_memory_bytes": "gauge|bytes",
	} {
		if types[name] != tu {
			t.Errorf("%s stored with __type__|__unit__ = %q, want %q", name, types[name], tu)
		}
	}
	if md := prometheusMetadata(t, prom.URL); md != "" {
		t.Logf("/api/v1/metadata: %s", md)
	}
}

// prometheusMetadata returns what /api/v1/metadata says about the rt_
// families, "" when it knows none (Prometheus 3.16 lists scraped targets'
// metadata only, not remote-written metadata).
func prometheusMetadata(t *testing.T, base string) string {
	resp, err := http.Get(base + "/api/v1/metadata")
	if err != nil {
		t.Fatalf("/api/v1/metadata: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"rt_`) {
		t.Logf("/api/v1/metadata knows no rt_ family (it lists scrape targets' metadata only): %s", b)
		return ""
	}
	return string(b)
}

// fallbackLines counts the fallback log lines in stderr and checks they
// name the receiver.
func fallbackLines(t *testing.T, stderr, endpoint string) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, "falling back to 1.0") {
			n++
			if !strings.Contains(line, "endpoint="+endpoint) {
				t.Errorf("fallback line does not name the receiver %s: %s", endpoint, line)
			}
		}
	}
	return n
}

// ksmExpected parses a ksmgen file as the receiver must hold it.
func ksmExpected(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if _, err := exposition.Parse(b, exposition.ContentTypeText, exposition.ParseOptions{}, func(f metric.Family) error {
		for _, s := range f.Samples {
			out = append(out, pointKey(s.Labels.Map(), s.Value, 0))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// withoutTime renders series like ksmExpected: one key per sample, time 0,
// without job.
func withoutTime(series []testinfra.Series) []string {
	var out []string
	for _, s := range series {
		m := maps.Clone(s.Metric)
		delete(m, "job")
		for _, p := range s.Samples {
			out = append(out, pointKey(m, p.V, 0))
		}
	}
	sort.Strings(out)
	return out
}

// TestE2ERemoteWrite2FallbackPrometheus2 pushes 5,000 samples configured
// as 2.0 into Prometheus 2.42, which answers 204 to a 2.0 body and stores
// nothing: liftpush must notice the missing Samples-Written header, resend
// every batch as 1.0 (nothing lost), exit 0, and say so once.
func TestE2ERemoteWrite2FallbackPrometheus2(t *testing.T) {
	const n = 5000
	prom := testinfra.StartPrometheus(t, "")
	proxy := startRWProxy(t, prom.WriteURL())
	file := ksmFile(t, n)
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - url: `+proxy.URL+`
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {max_samples_per_send: 500, max_shards: 4}
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, file)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if got := fallbackLines(t, res.Stderr, proxy.URL); got != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", got, res.Stderr)
	}
	if !strings.Contains(res.Stderr, fmt.Sprintf(".sent=%d", n)) || !strings.Contains(res.Stderr, "dropped=0") {
		t.Errorf("summary does not report all %d sent and none dropped:\n%s", n, res.Stderr)
	}

	// On the wire: a 2.0 probe per shard at most, answered without the
	// header, then every sample as 1.0.
	v2, v1Samples := 0, 0
	for i, ex := range proxy.exchanges() {
		switch {
		case ex.v2:
			v2++
			if ex.status != http.StatusNoContent || ex.written != "" {
				t.Errorf("request %d: Prometheus 2.42 answered a 2.0 request %d with Samples-Written %q; the test's premise is gone", i, ex.status, ex.written)
			}
		default:
			v1Samples += ex.samples
			if ex.version != "0.1.0" {
				t.Errorf("request %d: 1.0 request with version %q", i, ex.version)
			}
		}
	}
	if v2 < 1 || v2 > 4 {
		t.Errorf("%d 2.0 requests, want 1 to max_shards (4): after the first silent 204 every batch is 1.0", v2)
	}
	if v1Samples != n {
		t.Errorf("%d samples sent as 1.0, want all %d", v1Samples, n)
	}
	// In Prometheus: every series and value.
	got := prom.RawSamples(t, `{__name__=~"kube_.+"}`, time.Hour)
	if diff := cmp.Diff(ksmExpected(t, file), withoutTime(got)); diff != "" {
		t.Errorf("stored samples (-want +got):\n%s", diff)
	}
}
