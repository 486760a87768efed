package remotewrite

import (
	"bytes"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

func testIntHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		Count: 5, Sum: 7.5, Schema: 0, ZeroThreshold: 1e-128, ZeroCount: 1,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{1, 1, -1},
		NegativeSpans:   []histogram.Span{{Offset: 0, Length: 1}},
		NegativeBuckets: []int64{1},
	}
}

func testFloatHistogram() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Count: 2.5, Sum: -1, Schema: 2, ZeroThreshold: 0.001, ZeroCount: 0.5,
		PositiveSpans:   []histogram.Span{{Offset: -3, Length: 2}},
		PositiveBuckets: []float64{1, 1},
	}
}

// nativeSamples are a float sample, an integer histogram with a timestamped
// exemplar, a float histogram, and a float sample whose exemplar has no
// timestamp (it takes the sample's).
func nativeSamples() []metric.Sample {
	ex := func(trace string, v float64, ts int64, hasTs bool) exemplar.Exemplar {
		return exemplar.Exemplar{Labels: labels.FromStrings("trace_id", trace), Value: v, Ts: ts, HasTs: hasTs}
	}
	return []metric.Sample{
		{Labels: labels.FromStrings("__name__", "f", "a", "1"), Value: 3, T: 1000},
		{Labels: labels.FromStrings("__name__", "h", "a", "1"), T: 1000, Extra: &metric.Extra{H: testIntHistogram(), Exemplars: []exemplar.Exemplar{ex("t1", 0.5, 900, true)}}},
		{Labels: labels.FromStrings("__name__", "fh", "a", "1"), T: 2000, Extra: &metric.Extra{FH: testFloatHistogram()}},
		{Labels: labels.FromStrings("__name__", "c_total", "a", "1"), Value: 9, T: 3000, Extra: &metric.Extra{Exemplars: []exemplar.Exemplar{ex("t2", 1, 0, false)}}},
	}
}

// nativeRequest is nativeSamples as gogo's prompb types hold them.
func nativeRequest() *prompb.WriteRequest {
	lbls := func(name string) []prompb.Label {
		return []prompb.Label{{Name: "__name__", Value: name}, {Name: "a", Value: "1"}}
	}
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("f"), Samples: []prompb.Sample{{Value: 3, Timestamp: 1000}}},
		{Labels: lbls("h"),
			Exemplars:  []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "t1"}}, Value: 0.5, Timestamp: 900}},
			Histograms: []prompb.Histogram{prompb.FromIntHistogram(1000, testIntHistogram())}},
		{Labels: lbls("fh"), Histograms: []prompb.Histogram{prompb.FromFloatHistogram(2000, testFloatHistogram())}},
		{Labels: lbls("c_total"), Samples: []prompb.Sample{{Value: 9, Timestamp: 3000}},
			Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "t2"}}, Value: 1, Timestamp: 3000}}},
	}}
}

func nativeBatch() *batch {
	b := &batch{}
	for _, s := range nativeSamples() {
		b.add(nil, s.Labels, s.Value, s.T, s.Extra)
	}
	return b
}

// TestEncodeV1Native holds the 1.0 encoder's histograms and exemplars to the
// bytes gogo's Marshal writes for the same request.
func TestEncodeV1Native(t *testing.T) {
	want, err := nativeRequest().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b := nativeBatch()
	for round := range 2 { // reused buffers
		got, err := snappy.Decode(nil, encodeV1(b))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			var dec prompb.WriteRequest
			_ = dec.Unmarshal(got)
			t.Fatalf("round %d: encodeV1 differs from gogo:\n%s", round, cmp.Diff(nativeRequest(), &dec))
		}
	}
	b.reset()
	if len(b.extra) != 0 {
		t.Errorf("reset kept %d extras", len(b.extra))
	}
}

// TestEncodeV2Native decodes a 2.0 request back into the samples it was
// made of, and checks that its conversion to 1.0 (a fallback of a spooled
// record) is the 1.0 request itself.
func TestEncodeV2Native(t *testing.T) {
	body := encodeV2(nativeBatch())
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := checkSymbols(&req); err != nil {
		t.Fatal(err)
	}
	want := nativeSamples()
	if len(req.Timeseries) != len(want) {
		t.Fatalf("%d series, want %d", len(req.Timeseries), len(want))
	}
	var sb labels.ScratchBuilder
	for i, ts := range req.Timeseries {
		w := want[i]
		ls, err := ts.ToLabels(&sb, req.Symbols)
		if err != nil {
			t.Fatal(err)
		}
		if !labels.Equal(ls, w.Labels) {
			t.Errorf("series %d: labels %s, want %s", i, ls, w.Labels)
		}
		switch {
		case w.Extra != nil && w.Extra.H != nil:
			if len(ts.Samples) != 0 || len(ts.Histograms) != 1 || ts.Histograms[0].IsFloatHistogram() {
				t.Fatalf("series %d: %d samples, histograms %+v; want one integer histogram", i, len(ts.Samples), ts.Histograms)
			}
			if got := ts.Histograms[0].ToIntHistogram(); !got.Equals(w.Extra.H) || ts.Histograms[0].Timestamp != w.T {
				t.Errorf("series %d: histogram %s@%d, want %s@%d", i, got, ts.Histograms[0].Timestamp, w.Extra.H, w.T)
			}
		case w.Extra != nil && w.Extra.FH != nil:
			if len(ts.Samples) != 0 || len(ts.Histograms) != 1 || !ts.Histograms[0].IsFloatHistogram() {
				t.Fatalf("series %d: %d samples, histograms %+v; want one float histogram", i, len(ts.Samples), ts.Histograms)
			}
			if got := ts.Histograms[0].ToFloatHistogram(); !got.Equals(w.Extra.FH) {
				t.Errorf("series %d: histogram %s, want %s", i, got, w.Extra.FH)
			}
		default:
			if len(ts.Samples) != 1 || ts.Samples[0].Value != w.Value || len(ts.Histograms) != 0 {
				t.Errorf("series %d: samples %+v histograms %d, want value %v", i, ts.Samples, len(ts.Histograms), w.Value)
			}
		}
		var gotEx []exemplar.Exemplar
		for _, e := range ts.Exemplars {
			ex, err := e.ToExemplar(&sb, req.Symbols)
			if err != nil {
				t.Fatal(err)
			}
			gotEx = append(gotEx, ex)
		}
		var wantEx []exemplar.Exemplar
		for _, e := range w.Exemplars() {
			wantEx = append(wantEx, exemplar.Exemplar{Labels: e.Labels, Value: e.Value, Ts: exemplarTime(&e, w.T), HasTs: true})
		}
		if diff := cmp.Diff(wantEx, gotEx, cmp.Comparer(labels.Equal)); diff != "" {
			t.Errorf("series %d exemplars (-want +got):\n%s", i, diff)
		}
	}

	v1, err := v2ToV1(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snappy.Decode(nil, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantV1, _ := nativeRequest().Marshal()
	if !bytes.Equal(got, wantV1) {
		var dec prompb.WriteRequest
		_ = dec.Unmarshal(got)
		t.Errorf("v2ToV1 differs from the 1.0 request:\n%s", cmp.Diff(nativeRequest(), &dec))
	}
}

// TestNativePerDestination: send_native_histograms and send_exemplars decide
// what a destination gets; a histogram it does not take is counted as
// dropped under its reason.
func TestNativePerDestination(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		histograms, exemplars bool
		wantSeries            []string // name:samples/histograms/exemplars
		wantDropped           map[string]int
	}{
		{"neither", false, false, []string{"f:1/0/0", "fh:-", "h:-", "c_total:1/0/0"}, map[string]int{dropNativeHistograms: 2}},
		{"histograms", true, false, []string{"f:1/0/0", "h:0/1/0", "fh:0/1/0", "c_total:1/0/0"}, nil},
		{"exemplars", false, true, []string{"f:1/0/0", "c_total:1/0/1"}, map[string]int{dropNativeHistograms: 2}},
		{"both", true, true, []string{"f:1/0/0", "h:0/1/1", "fh:0/1/0", "c_total:1/0/1"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
				c.NativeHistograms, c.SendExemplars = tt.histograms, tt.exemplars
			}), nil)
			g := metric.Group{Collector: "c", Up: true, Families: []metric.Family{{Name: "x", Type: model.MetricTypeHistogram, Samples: nativeSamples()}}}
			rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{g})
			if rep.Err != nil {
				t.Fatal(rep.Err)
			}
			got := map[string]string{}
			for _, r := range rc.all() {
				for _, ts := range r.req.Timeseries {
					got[ts.Labels[0].Value] = fmtCounts(len(ts.Samples), len(ts.Histograms), len(ts.Exemplars))
				}
			}
			for _, w := range tt.wantSeries {
				name, counts, _ := strings.Cut(w, ":")
				if counts == "-" {
					if g, ok := got[name]; ok {
						t.Errorf("%s sent (%s), want dropped", name, g)
					}
					continue
				}
				if got[name] != counts {
					t.Errorf("%s: samples/histograms/exemplars %q, want %q", name, got[name], counts)
				}
			}
			if diff := cmp.Diff(tt.wantDropped, rep.Dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if want := 4 - tt.wantDropped[dropNativeHistograms]; rep.Sent != want {
				t.Errorf("sent %d, want %d", rep.Sent, want)
			}
		})
	}
}

// TestStaleHistogramMarkers: a vanished native histogram series gets a
// stale histogram of its own kind, as Prometheus' TSDB writes it, also
// when the last cycle was another process's (the spool's state).
func TestStaleHistogramMarkers(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) { c.NativeHistograms = true })
	first := newTestClient(t, cfg, nil)
	q := withSpool(t, first)
	cycle := func(cl *Client, at int64, samples []metric.Sample) {
		t.Helper()
		for i := range samples {
			samples[i].T = at
		}
		g := metric.Group{Collector: "c", Up: true, Families: []metric.Family{{Name: "x", Samples: samples}}}
		if rep := pushtest.Deliver(t.Context(), cl, push.Options{Cycle: at}, []metric.Group{g}); rep.Err != nil {
			t.Fatal(rep.Err)
		}
	}
	stale := func(at int64) []string {
		var out []string
		for _, r := range rc.all() {
			for _, ts := range r.req.Timeseries {
				for _, s := range ts.Samples {
					if s.Timestamp == at && value.IsStaleNaN(s.Value) {
						out = append(out, ts.Labels[0].Value+":float")
					}
				}
				for _, h := range ts.Histograms {
					if h.Timestamp != at || !value.IsStaleNaN(h.Sum) {
						continue
					}
					if h.IsFloatHistogram() {
						out = append(out, ts.Labels[0].Value+":float histogram")
					} else {
						out = append(out, ts.Labels[0].Value+":histogram")
					}
				}
			}
		}
		return out
	}
	cycle(first, 1000, nativeSamples())
	cycle(first, 2000, nativeSamples()[:1])
	want := []string{"h:histogram", "fh:float histogram", "c_total:float"}
	if diff := cmp.Diff(want, stale(2000), sortStrings); diff != "" {
		t.Errorf("stale markers (-want +got):\n%s", diff)
	}

	// A new process with the same spool: the histogram series of the
	// last run are known from it.
	cycle(first, 3000, nativeSamples())
	second := newTestClient(t, cfg, nil)
	second.SetSpool(q)
	cycle(second, 4000, nil)
	want = []string{"f:float", "h:histogram", "fh:float histogram", "c_total:float"}
	if diff := cmp.Diff(want, stale(4000), sortStrings); diff != "" {
		t.Errorf("stale markers of the next process (-want +got):\n%s", diff)
	}
	if !math.IsNaN(staleHistogram.H.Sum) || !value.IsStaleNaN(staleFloatHistogram.FH.Sum) {
		t.Fatal("stale histograms do not hold the stale NaN")
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func fmtCounts(samples, histograms, exemplars int) string {
	return fmt.Sprintf("%d/%d/%d", samples, histograms, exemplars)
}

func nhcbSample(t int64) metric.Sample {
	return metric.Sample{Labels: labels.FromStrings("__name__", "rt", "job", "a"), T: t, Extra: &metric.Extra{H: &histogram.Histogram{
		Count: 4, Sum: 2.5, Schema: histogram.CustomBucketsSchema,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 1, -1},
		CustomValues: []float64{0.5, 1},
	}}}
}

// TestNHCB: convert_nhcb_to_classic sends a native histogram with custom
// buckets as the classic series it stands for, which go stale when it goes;
// without it, 1.0 drops it (it cannot carry one) and 2.0 sends it.
func TestNHCB(t *testing.T) {
	deliver := func(t *testing.T, cl *Client, at int64, samples ...metric.Sample) push.Report {
		t.Helper()
		g := metric.Group{Collector: "c", Up: true, Families: []metric.Family{{Name: "rt", Type: model.MetricTypeHistogram, Samples: samples}}}
		return pushtest.Deliver(t.Context(), cl, push.Options{Cycle: at}, []metric.Group{g})
	}
	series := func(rc *receiver, at int64) []string {
		var out []string
		for _, r := range rc.all() {
			for _, ts := range r.req.Timeseries {
				var ls []string
				for _, l := range ts.Labels {
					ls = append(ls, l.Name+"="+l.Value)
				}
				for _, s := range ts.Samples {
					if s.Timestamp == at {
						out = append(out, fmt.Sprintf("%s %s", strings.Join(ls, ","), metric.FormatValue(s.Value)))
					}
				}
				for _, h := range ts.Histograms {
					if h.Timestamp == at {
						out = append(out, fmt.Sprintf("%s histogram custom=%v", strings.Join(ls, ","), h.CustomValues))
					}
				}
			}
		}
		return out
	}

	t.Run("converted, then stale", func(t *testing.T) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) { c.NHCBToClassic = true }), nil)
		if rep := deliver(t, cl, 1000, nhcbSample(1000)); rep.Err != nil || rep.Sent != 5 {
			t.Fatalf("report %+v, want 5 classic samples sent", rep)
		}
		want := []string{
			"__name__=rt_bucket,job=a,le=0.5 1", "__name__=rt_bucket,job=a,le=1.0 3", "__name__=rt_bucket,job=a,le=+Inf 4",
			"__name__=rt_count,job=a 4", "__name__=rt_sum,job=a 2.5",
		}
		if diff := cmp.Diff(want, series(rc, 1000), sortStrings); diff != "" {
			t.Errorf("classic series (-want +got):\n%s", diff)
		}
		deliver(t, cl, 2000)
		got := series(rc, 2000)
		if len(got) != 5 {
			t.Fatalf("stale markers %v, want one per classic series", got)
		}
		for _, s := range got {
			if !strings.HasSuffix(s, " NaN") {
				t.Errorf("after the NHCB vanished: %s, want a stale NaN", s)
			}
		}
	})
	t.Run("1.0 drops it", func(t *testing.T) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) { c.NativeHistograms = true }), nil)
		rep := deliver(t, cl, 1000, nhcbSample(1000))
		if diff := cmp.Diff(map[string]int{dropNHCBv1: 1}, rep.Dropped); diff != "" || len(series(rc, 1000)) != 0 {
			t.Errorf("dropped (-want +got):\n%s\nsent %v", diff, series(rc, 1000))
		}
	})
	t.Run("2.0 sends it", func(t *testing.T) {
		b := &batch{}
		cfg := &config.RemoteWriteConfig{NativeHistograms: true, ProtobufMessage: config.WriteRequestV2}
		w := &writer{c: &Client{cfg: cfg}}
		x, reason := w.native(nil, nil, nhcbSample(1000).Labels, 1000, nhcbSample(1000).Extra, nil)
		if reason != "" || x == nil {
			t.Fatalf("native = %v, %q; want the NHCB kept", x, reason)
		}
		b.add(nil, nhcbSample(1000).Labels, 0, 1000, x)
		raw, _ := snappy.Decode(nil, encodeV2(b))
		var req writev2.Request
		if err := req.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if h := req.Timeseries[0].Histograms; len(h) != 1 || !cmp.Equal(h[0].CustomValues, []float64{0.5, 1}) {
			t.Errorf("2.0 histograms %+v, want the NHCB with its custom values", h)
		}
	})
}
