package exposition

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/histogram"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// renderNative is flatten for samples that may be native histograms or
// carry exemplars: "series value", "series int:{...}" or "series
// float:{...}", then " # exemplar" for each exemplar.
func renderNative(fams []metric.Family) []string {
	var out []string
	for _, f := range fams {
		for _, s := range f.Samples {
			line := s.Labels.String() + " "
			switch {
			case s.Extra != nil && s.Extra.H != nil:
				line += "int:" + s.Extra.H.String()
			case s.Extra != nil && s.Extra.FH != nil:
				line += "float:" + s.Extra.FH.String()
			default:
				line += metric.FormatValue(s.Value)
			}
			for _, e := range s.Exemplars() {
				line += fmt.Sprintf(" # %s %s ts=%d,%t", e.Labels, metric.FormatValue(e.Value), e.Ts, e.HasTs)
			}
			out = append(out, f.Name+"|"+string(f.Type)+"|"+line)
		}
	}
	return out
}

// Prometheus 3.16's scrape semantics: scrape_native_histograms decides
// whether the native form is read at all, always_scrape_classic_histograms
// whether the classic buckets stay beside it.
func TestParseProtobufNativeHistogram(t *testing.T) {
	const (
		native  = `lat_seconds|histogram|{__name__="lat_seconds"} int:{count:3, sum:1.5, (0.5,1]:1, (1,2]:2}`
		count   = `lat_seconds|histogram|{__name__="lat_seconds_count"} 3`
		sum     = `lat_seconds|histogram|{__name__="lat_seconds_sum"} 1.5`
		bucket1 = `lat_seconds|histogram|{__name__="lat_seconds_bucket", le="1.0"} 1`
		inf     = `lat_seconds|histogram|{__name__="lat_seconds_bucket", le="+Inf"} 3`
	)
	tests := []struct {
		name        string
		mf          *dto.MetricFamily
		opts        ParseOptions
		want        []string
		wantNative  int
		wantSamples int
	}{
		{
			name:        "native only, not scraped: +Inf, sum and count, as Prometheus reads it",
			mf:          nativeHistogram(false),
			want:        []string{count, sum, inf},
			wantSamples: 3,
		},
		{
			name:        "native and classic, not scraped: the classic buckets",
			mf:          nativeHistogram(true),
			want:        []string{count, sum, bucket1, inf},
			wantSamples: 4,
		},
		{
			name:        "native only, scraped",
			mf:          nativeHistogram(false),
			opts:        ParseOptions{NativeHistograms: true},
			want:        []string{native},
			wantNative:  1,
			wantSamples: 1,
		},
		{
			name:        "native and classic, scraped: the classic buckets are dropped",
			mf:          nativeHistogram(true),
			opts:        ParseOptions{NativeHistograms: true},
			want:        []string{native},
			wantNative:  1,
			wantSamples: 1,
		},
		{
			name:        "native and classic, scraped with always_scrape_classic_histograms",
			mf:          nativeHistogram(true),
			opts:        ParseOptions{NativeHistograms: true, AlwaysScrapeClassicHistograms: true},
			want:        []string{native, count, sum, bucket1, inf},
			wantNative:  1,
			wantSamples: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fams, st := parseAll(t, expositiontest.EncodeProto(t, tt.mf), ctProto, tt.opts)
			if diff := cmp.Diff(tt.want, renderNative(fams)); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
			if st.NativeHistograms != tt.wantNative || st.Samples != tt.wantSamples {
				t.Errorf("Stats = %+v, want %d native histograms and %d samples", st, tt.wantNative, tt.wantSamples)
			}
		})
	}
}

func TestParseFloatNativeHistogram(t *testing.T) {
	h := &dto.Histogram{
		SampleCountFloat: proto.Float64(2.5), SampleSum: proto.Float64(4),
		Schema: proto.Int32(1), ZeroThreshold: proto.Float64(0.001), ZeroCountFloat: proto.Float64(0.5),
		PositiveSpan:  []*dto.BucketSpan{{Offset: proto.Int32(1), Length: proto.Uint32(1)}},
		PositiveCount: []float64{2},
	}
	mf := &dto.MetricFamily{Name: proto.String("g"), Type: dto.MetricType_GAUGE_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}}
	fams, _ := parseAll(t, expositiontest.EncodeProto(t, mf), ctProto, ParseOptions{NativeHistograms: true})
	want := []string{`g|gaugehistogram|{__name__="g"} float:{count:2.5, sum:4, [-0.001,0.001]:0.5, (1,1.414213562373095]:2}`}
	if diff := cmp.Diff(want, renderNative(fams)); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestParseConvertClassicToNHCB(t *testing.T) {
	body := []byte("# TYPE rt histogram\nrt_bucket{le=\"0.5\"} 1\nrt_bucket{le=\"1\"} 3\nrt_bucket{le=\"+Inf\"} 4\nrt_sum 2.5\nrt_count 4\n")
	const nhcb = `rt|histogram|{__name__="rt"} int:{count:4, sum:2.5, [-Inf,0.5]:1, (0.5,1]:2, (1,+Inf]:1}`
	classic := []string{
		`rt|histogram|{__name__="rt_bucket", le="0.5"} 1`,
		`rt|histogram|{__name__="rt_bucket", le="1.0"} 3`,
		`rt|histogram|{__name__="rt_bucket", le="+Inf"} 4`,
		`rt|histogram|{__name__="rt_sum"} 2.5`,
		`rt|histogram|{__name__="rt_count"} 4`,
	}
	for _, tt := range []struct {
		name string
		opts ParseOptions
		want []string
	}{
		{"converted", ParseOptions{ConvertClassicHistogramsToNHCB: true}, []string{nhcb}},
		{"converted, classic kept", ParseOptions{ConvertClassicHistogramsToNHCB: true, AlwaysScrapeClassicHistograms: true}, append(classic[:len(classic):len(classic)], nhcb)},
		{"not converted", ParseOptions{}, classic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fams, _ := parseAll(t, body, ctText, tt.opts)
			if diff := cmp.Diff(tt.want, renderNative(fams)); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseExemplars(t *testing.T) {
	om := []byte("# TYPE req counter\nreq_total{code=\"200\"} 7 # {trace_id=\"abc\"} 1 1700000000.5\nreq_total{code=\"500\"} 1 # {trace_id=\"def\"} 2\n# EOF\n")
	want := []string{
		`req|counter|{__name__="req_total", code="200"} 7 # {trace_id="abc"} 1 ts=1700000000500,true`,
		`req|counter|{__name__="req_total", code="500"} 1 # {trace_id="def"} 2 ts=0,false`,
	}
	fams, _ := parseAll(t, om, ctOpenMetrics, ParseOptions{Exemplars: true})
	if diff := cmp.Diff(want, renderNative(fams)); diff != "" {
		t.Errorf("OpenMetrics (-want +got):\n%s", diff)
	}
	fams, _ = parseAll(t, om, ctOpenMetrics, ParseOptions{})
	for _, f := range fams {
		for _, s := range f.Samples {
			if s.Extra != nil {
				t.Errorf("exemplars kept without Exemplars: %v", s.Extra)
			}
		}
	}

	// A native histogram's exemplar without a timestamp is dropped, as
	// Prometheus' scrape loop drops it.
	mf := nativeHistogram(false)
	mf.Metric[0].Histogram.Exemplars = []*dto.Exemplar{
		{Label: []*dto.LabelPair{{Name: proto.String("trace_id"), Value: proto.String("t1")}}, Value: proto.Float64(0.3), Timestamp: timestamppb.New(timestamppb.Now().AsTime().Truncate(1e9))},
		{Label: []*dto.LabelPair{{Name: proto.String("trace_id"), Value: proto.String("t2")}}, Value: proto.Float64(0.4)},
	}
	fams, _ = parseAll(t, expositiontest.EncodeProto(t, mf), ctProto, ParseOptions{NativeHistograms: true, Exemplars: true})
	if len(fams) != 1 || len(fams[0].Samples) != 1 {
		t.Fatalf("got %v, want one native histogram", renderNative(fams))
	}
	ex := fams[0].Samples[0].Exemplars()
	if len(ex) != 1 || ex[0].Labels.Get("trace_id") != "t1" || !ex[0].HasTs || ex[0].Value != 0.3 {
		t.Errorf("exemplars = %+v, want the timestamped t1 only", ex)
	}
}

// FuzzParseNative is FuzzParse with the histogram and exemplar options: no
// panic on any input, no native histogram unless asked for (natively or by
// NHCB conversion), no exemplar unless asked for.
func FuzzParseNative(f *testing.F) {
	withExemplar := nativeHistogram(true)
	withExemplar.Metric[0].Histogram.Exemplars = []*dto.Exemplar{{Label: []*dto.LabelPair{{Name: proto.String("t"), Value: proto.String("1")}}, Value: proto.Float64(1), Timestamp: timestamppb.Now()}}
	f.Add(expositiontest.EncodeProto(f, nativeHistogram(true), nativeHistogram(false), withExemplar), uint8(2), uint8(15))
	f.Add(expositiontest.EncodeProto(f, expositiontest.ProtoFamilies()...), uint8(2), uint8(5))
	f.Add([]byte("# TYPE rt histogram\nrt_bucket{le=\"1\"} 1 # {a=\"b\"} 1 1\nrt_bucket{le=\"+Inf\"} 2\nrt_sum 3\nrt_count 2\n# EOF\n"), uint8(1), uint8(12))
	f.Add([]byte("# TYPE rt histogram\nrt_bucket{le=\"1\"} 1\nrt_bucket{le=\"+Inf\"} 2\nrt_sum 3\nrt_count 2\n"), uint8(0), uint8(4))
	contentTypes := []string{ctText, ctOpenMetrics, ctProto}
	f.Fuzz(func(t *testing.T, body []byte, ct, flags uint8) {
		opts := ParseOptions{
			NativeHistograms:               flags&1 != 0,
			AlwaysScrapeClassicHistograms:  flags&2 != 0,
			ConvertClassicHistogramsToNHCB: flags&4 != 0,
			Exemplars:                      flags&8 != 0,
		}
		_, _ = Parse(body, contentTypes[int(ct)%len(contentTypes)], opts, func(fam metric.Family) error {
			for _, s := range fam.Samples {
				if s.IsHistogram() && !opts.NativeHistograms && !opts.ConvertClassicHistogramsToNHCB {
					t.Errorf("native histogram %s without NativeHistograms", s.Labels)
				}
				if len(s.Exemplars()) > 0 && !opts.Exemplars {
					t.Errorf("exemplars on %s without Exemplars", s.Labels)
				}
			}
			return nil
		})
	})
}

// BenchmarkParseExemplars parses 1,000 OpenMetrics counters without
// exemplars, with the Exemplars option off and on: reading exemplars
// must cost the float path no allocation per sample.
func BenchmarkParseExemplars(b *testing.B) {
	var body []byte
	body = append(body, "# TYPE c counter\n"...)
	for i := range 1000 {
		body = fmt.Appendf(body, "c_total{i=\"%d\"} %d\n", i, i)
	}
	body = append(body, "# EOF\n"...)
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("exemplars=%t", on), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(body, ctOpenMetrics, ParseOptions{Exemplars: on}, func(metric.Family) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A native histogram whose spans and buckets disagree fails the parse, as
// it fails a Prometheus scrape (the TSDB refuses it), instead of reaching
// the encoders.
func TestParseInvalidNativeHistogram(t *testing.T) {
	mf := nativeHistogram(false)
	mf.Metric[0].Histogram.PositiveSpan[0].Length = proto.Uint32(5) // two deltas only
	_, err := Parse(expositiontest.EncodeProto(t, mf), ctProto, ParseOptions{NativeHistograms: true}, func(metric.Family) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "parsing exposition: ") || !strings.Contains(err.Error(), "spans require 5 buckets, have 2") {
		t.Errorf("Parse error = %v, want the spans' mismatch", err)
	}

	// What the parser lets through is held to the TSDB's checks too: a
	// count below its buckets' sum.
	h := &histogram.Histogram{Count: 1, Schema: 0, PositiveSpans: []histogram.Span{{Length: 1}}, PositiveBuckets: []int64{3}}
	if _, err := newHistogramExtra(h, nil); err == nil {
		t.Errorf("newHistogramExtra(%s) = nil error, want the count mismatch", h)
	}
	if x, err := newHistogramExtra(testValidHistogram(), nil); err != nil || x.H == nil {
		t.Errorf("newHistogramExtra of a valid histogram = %v, %v", x, err)
	}
}

func testValidHistogram() *histogram.Histogram {
	return &histogram.Histogram{Count: 3, Sum: 1, Schema: 0, PositiveSpans: []histogram.Span{{Length: 1}}, PositiveBuckets: []int64{3}}
}
