package remotewrite

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

// v2Series is one decoded 2.0 series with its metadata resolved.
type v2Series struct {
	Labels           string
	Type             writev2.Metadata_MetricType
	Help, Unit       string
	Value            float64
	T, StartT        int64
	SamplesPerSeries int
}

// v2Receiver decodes remote-write 2.0 requests like a real receiver and
// checks what the spec requires of the symbols table: "" first, every ref in
// range, label names sorted and unique. It answers with the
// X-Prometheus-Remote-Write-Samples-Written header.
type v2Receiver struct {
	t      *testing.T
	mu     sync.Mutex
	series []v2Series
	hdrs   []http.Header
	sizes  []int // samples per request
}

func (rc *v2Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := decodeV2(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	got, err := checkSymbols(req)
	if err != nil {
		rc.t.Errorf("request breaks the symbols rules: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.series = append(rc.series, got...)
	rc.hdrs = append(rc.hdrs, r.Header.Clone())
	rc.sizes = append(rc.sizes, len(got))
	rc.mu.Unlock()
	w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(len(got)))
	w.Header().Set("X-Prometheus-Remote-Write-Histograms-Written", "0")
	w.Header().Set("X-Prometheus-Remote-Write-Exemplars-Written", "0")
	w.WriteHeader(http.StatusNoContent)
}

func decodeV2(r *http.Request) (*writev2.Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("proto: %w", err)
	}
	return &req, nil
}

// checkSymbols resolves every series of req, failing on the first breach of
// the symbols table rules.
func checkSymbols(req *writev2.Request) ([]v2Series, error) {
	syms := req.Symbols
	if len(syms) == 0 || syms[0] != "" {
		return nil, fmt.Errorf("symbols table does not start with \"\": %q", syms[:min(len(syms), 3)])
	}
	seen := map[string]bool{}
	for _, s := range syms {
		if seen[s] {
			return nil, fmt.Errorf("symbol %q twice", s)
		}
		seen[s] = true
	}
	sym := func(ref uint32) (string, error) {
		if int(ref) >= len(syms) {
			return "", fmt.Errorf("ref %d out of range (%d symbols)", ref, len(syms))
		}
		return syms[ref], nil
	}
	var out []v2Series
	for _, ts := range req.Timeseries {
		if len(ts.LabelsRefs)%2 != 0 {
			return nil, fmt.Errorf("odd number of label refs: %v", ts.LabelsRefs)
		}
		var kv []string
		prev := ""
		for i := 0; i < len(ts.LabelsRefs); i += 2 {
			name, err := sym(ts.LabelsRefs[i])
			if err != nil {
				return nil, err
			}
			value, err := sym(ts.LabelsRefs[i+1])
			if err != nil {
				return nil, err
			}
			if i > 0 && name <= prev {
				return nil, fmt.Errorf("label names not sorted and unique: %q after %q", name, prev)
			}
			prev = name
			kv = append(kv, name+"="+value)
		}
		help, err := sym(ts.Metadata.HelpRef)
		if err != nil {
			return nil, err
		}
		unit, err := sym(ts.Metadata.UnitRef)
		if err != nil {
			return nil, err
		}
		for _, s := range ts.Samples {
			out = append(out, v2Series{
				Labels: strings.Join(kv, ","), Type: ts.Metadata.Type, Help: help, Unit: unit,
				Value: s.Value, T: s.Timestamp, StartT: s.StartTimestamp, SamplesPerSeries: len(ts.Samples),
			})
		}
	}
	return out, nil
}

// v2Families covers every metadata case: a counter with a unit, a gauge
// whose values are hard to escape, a histogram and a summary flattened into
// their series, an untyped family, and a family without help.
func v2Families(t0 int64) []metric.Family {
	s := func(v float64, kv ...string) metric.Sample {
		return metric.Sample{Labels: labels.FromStrings(kv...), Value: v, T: t0}
	}
	return []metric.Family{
		{Name: "rw2_requests", Help: "Requests served.", Type: model.MetricTypeCounter, Unit: "requests", Samples: []metric.Sample{
			s(7, "__name__", "rw2_requests_total", "code", "200"),
			s(1, "__name__", "rw2_requests_total", "code", "500"),
		}},
		{Name: "rw2_gauge", Help: "Help with \\ and\nnewline ☁.", Type: model.MetricTypeGauge, Samples: []metric.Sample{
			s(math.Inf(-1), "__name__", "rw2_gauge", "path", `C:\dir "quoted"`, "zone", "eu/west ☁"),
			s(-0.5, "__name__", "rw2_gauge", "path", "multi\nline", "zone", ""),
			s(1e-300, "__name__", "rw2_gauge", "path", "x", "zone", "日本"),
		}},
		{Name: "rw2_latency_seconds", Help: "Latency.", Type: model.MetricTypeHistogram, Unit: "seconds", Samples: []metric.Sample{
			s(1, "__name__", "rw2_latency_seconds_bucket", "le", "0.1"),
			s(3, "__name__", "rw2_latency_seconds_bucket", "le", "+Inf"),
			s(0.42, "__name__", "rw2_latency_seconds_sum"),
			s(3, "__name__", "rw2_latency_seconds_count"),
		}},
		{Name: "rw2_rpc", Help: "RPC quantiles.", Type: model.MetricTypeSummary, Samples: []metric.Sample{
			s(0.05, "__name__", "rw2_rpc", "quantile", "0.5"),
			s(12, "__name__", "rw2_rpc_sum"),
			s(40, "__name__", "rw2_rpc_count"),
		}},
		{Name: "rw2_untyped", Type: model.MetricTypeUnknown, Samples: []metric.Sample{
			s(math.MaxFloat64, "__name__", "rw2_untyped", "a", "1"),
		}},
	}
}

// TestWireV2 sends every metadata case through small batches on several
// shards into an in-process 2.0 decoder: the headers say 2.0, the symbols
// table follows the spec, every series carries its family's type, help and
// unit, no start timestamp is set, and every sample arrives exactly once.
func TestWireV2(t *testing.T) {
	rc := &v2Receiver{t: t}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.ProtobufMessage = config.WriteRequestV2
		c.QueueConfig.MaxSamplesPerSend = 3
		c.QueueConfig.MaxShards = 2
	})
	cl := newTestClient(t, cfg, nil)
	const t0 = 1_700_000_000_123
	fams := v2Families(t0)
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{{Families: fams}})
	if rep.Err != nil || rep.DroppedTotal() != 0 || rep.Sent != metric.Samples(fams) {
		t.Fatalf("report %+v, want all %d sent", rep, metric.Samples(fams))
	}
	if cl.v1Only.Load() {
		t.Error("fell back to 1.0 from a receiver that speaks 2.0")
	}

	var want []v2Series
	for _, f := range fams {
		for _, s := range f.Samples {
			var kv []string
			s.Labels.Range(func(l labels.Label) { kv = append(kv, l.Name+"="+l.Value) })
			want = append(want, v2Series{
				Labels: strings.Join(kv, ","), Type: v2Types[metadataOf(&f).Type], Help: f.Help, Unit: f.Unit,
				Value: s.Value, T: t0, SamplesPerSeries: 1,
			})
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	byLabels := func(s []v2Series) map[string]v2Series {
		m := map[string]v2Series{}
		for _, x := range s {
			if _, dup := m[x.Labels]; dup {
				t.Errorf("series %s arrived twice", x.Labels)
			}
			m[x.Labels] = x
		}
		return m
	}
	if diff := cmp.Diff(byLabels(want), byLabels(rc.series)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	for i, h := range rc.hdrs {
		for k, v := range map[string]string{
			"Content-Type":                      "application/x-protobuf;proto=io.prometheus.write.v2.Request",
			"Content-Encoding":                  "snappy",
			"X-Prometheus-Remote-Write-Version": "2.0.0",
		} {
			if got := h.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, v)
			}
		}
		if rc.sizes[i] > cfg.QueueConfig.MaxSamplesPerSend {
			t.Errorf("request %d carries %d samples, more than max_samples_per_send", i, rc.sizes[i])
		}
	}
}

// TestEncodeV2Symbols checks the symbols table rules on one encoded batch
// directly, including a series without a family (a stale marker), whose
// metadata must be empty rather than borrowed from its neighbour.
func TestEncodeV2Symbols(t *testing.T) {
	b := &batch{}
	fams := v2Families(1)
	add := func(f *metric.Family, s metric.Sample) {
		b.add(f, s.Labels, s.Value, s.T, s.Extra)
	}
	for i := range fams {
		for _, s := range fams[i].Samples {
			add(&fams[i], s)
		}
	}
	add(nil, metric.Sample{Labels: labels.FromStrings("__name__", "rw2_gone", "zone", "x"), Value: math.NaN(), T: 2})
	for round := range 2 { // buffers are reused: the second encoding must be as good
		raw, err := snappy.Decode(nil, encodeV2(b))
		if err != nil {
			t.Fatal(err)
		}
		var req writev2.Request
		if err := req.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		got, err := checkSymbols(&req)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := metric.Samples(fams) + 1; len(got) != n {
			t.Fatalf("round %d: %d samples, want %d", round, len(got), n)
		}
		last := got[len(got)-1]
		if last.Labels != "__name__=rw2_gone,zone=x" || last.Type != 0 || last.Help != "" || last.Unit != "" {
			t.Errorf("round %d: familyless series = %+v, want no metadata", round, last)
		}
		for _, s := range got {
			if s.StartT != 0 {
				t.Errorf("round %d: %s has start timestamp %d", round, s.Labels, s.StartT)
			}
		}
	}
}

func promLabel(l labels.Label) prompb.Label { return prompb.Label{Name: l.Name, Value: l.Value} }

func promSample(s metric.Sample) prompb.Sample { return prompb.Sample{Value: s.Value, Timestamp: s.T} }
