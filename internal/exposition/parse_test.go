package exposition

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

const (
	ctText        = "text/plain; version=0.0.4"
	ctOpenMetrics = "application/openmetrics-text; version=1.0.0"
	ctProto       = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)

// flat is a comparable view of a family: metadata and "series value@t" lines.
type flat struct {
	Name, Help, Type, Unit string
	Samples                []string
}

func flatten(fams []metric.Family) []flat {
	out := make([]flat, 0, len(fams))
	for _, f := range fams {
		fl := flat{Name: f.Name, Help: f.Help, Type: string(f.Type), Unit: f.Unit}
		for _, s := range f.Samples {
			fl.Samples = append(fl.Samples, s.Labels.String()+" "+metric.FormatValue(s.Value)+tsSuffix(s.T))
		}
		out = append(out, fl)
	}
	return out
}

func tsSuffix(t int64) string {
	if t == 0 {
		return ""
	}
	return "@" + model.Time(t).String()
}

func parseAll(t *testing.T, body []byte, contentType string, opts ParseOptions) ([]metric.Family, Stats) {
	t.Helper()
	var fams []metric.Family
	st, err := Parse(body, contentType, opts, func(f metric.Family) error {
		fams = append(fams, f)
		return nil
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return fams, st
}

func TestParse(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		opts        ParseOptions
		want        []flat
		wantSamples int
	}{
		{
			name:        "text with help, type and labels",
			contentType: ctText,
			body: `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="get"} 3
# TYPE temperature gauge
temperature 21.5
untyped_thing 7
`,
			want: []flat{
				{Name: "http_requests_total", Help: "Requests served.", Type: "counter", Samples: []string{
					`{__name__="http_requests_total", code="200", method="get"} 1027`,
					`{__name__="http_requests_total", code="500", method="get"} 3`,
				}},
				{Name: "temperature", Type: "gauge", Samples: []string{`{__name__="temperature"} 21.5`}},
				{Name: "untyped_thing", Type: "unknown", Samples: []string{`{__name__="untyped_thing"} 7`}},
			},
			wantSamples: 4,
		},
		{
			name:        "text timestamps dropped without honor_timestamps",
			contentType: ctText,
			body:        "a 1 1700000000000\n",
			want:        []flat{{Name: "a", Type: "unknown", Samples: []string{`{__name__="a"} 1`}}},
			wantSamples: 1,
		},
		{
			name:        "text timestamps kept with honor_timestamps",
			contentType: ctText,
			opts:        ParseOptions{HonorTimestamps: true},
			body:        "a 1 1700000000000\n",
			want:        []flat{{Name: "a", Type: "unknown", Samples: []string{`{__name__="a"} 1@1700000000`}}},
			wantSamples: 1,
		},
		{
			name:        "text histogram and summary",
			contentType: ctText,
			body: `# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="0.1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 0.35
rpc_seconds_count 2
# TYPE lat summary
lat{quantile="0.5"} 0.2
lat_sum 1
lat_count 4
`,
			want: []flat{
				{Name: "rpc_seconds", Type: "histogram", Samples: []string{
					`{__name__="rpc_seconds_bucket", le="0.1"} 1`,
					`{__name__="rpc_seconds_bucket", le="+Inf"} 2`,
					`{__name__="rpc_seconds_sum"} 0.35`,
					`{__name__="rpc_seconds_count"} 2`,
				}},
				{Name: "lat", Type: "summary", Samples: []string{
					`{__name__="lat", quantile="0.5"} 0.2`,
					`{__name__="lat_sum"} 1`,
					`{__name__="lat_count"} 4`,
				}},
			},
			wantSamples: 7,
		},
		{
			name:        "text special values",
			contentType: ctText,
			body:        "a NaN\nb +Inf\nc -Inf\n",
			want: []flat{
				{Name: "a", Type: "unknown", Samples: []string{`{__name__="a"} NaN`}},
				{Name: "b", Type: "unknown", Samples: []string{`{__name__="b"} +Inf`}},
				{Name: "c", Type: "unknown", Samples: []string{`{__name__="c"} -Inf`}},
			},
			wantSamples: 3,
		},
		{
			name:        "openmetrics counter with _total, unit and EOF",
			contentType: ctOpenMetrics,
			body: `# TYPE jobs_seconds counter
# UNIT jobs_seconds seconds
# HELP jobs_seconds Time spent in jobs.
jobs_seconds_total{queue="a"} 5
jobs_seconds_created{queue="a"} 1.7e+09
# TYPE build info
build_info{version="1.2"} 1
# EOF
`,
			want: []flat{
				{Name: "jobs_seconds", Help: "Time spent in jobs.", Type: "counter", Unit: "seconds", Samples: []string{
					`{__name__="jobs_seconds_total", queue="a"} 5`,
					`{__name__="jobs_seconds_created", queue="a"} 1.7e+09`,
				}},
				{Name: "build", Type: "info", Samples: []string{`{__name__="build_info", version="1.2"} 1`}},
			},
			wantSamples: 2 + 1,
		},
		{
			name:        "chunking splits a family",
			contentType: ctText,
			opts:        ParseOptions{ChunkSamples: 2},
			body:        "# HELP x X.\n# TYPE x gauge\nx{i=\"1\"} 1\nx{i=\"2\"} 2\nx{i=\"3\"} 3\ny 1\n",
			want: []flat{
				{Name: "x", Help: "X.", Type: "gauge", Samples: []string{`{__name__="x", i="1"} 1`, `{__name__="x", i="2"} 2`}},
				{Name: "x", Help: "X.", Type: "gauge", Samples: []string{`{__name__="x", i="3"} 3`}},
				{Name: "y", Type: "unknown", Samples: []string{`{__name__="y"} 1`}},
			},
			wantSamples: 4,
		},
		{
			name:        "empty body",
			contentType: ctText,
			body:        "",
			want:        []flat{},
		},
		{
			name:        "unknown content type falls back to text",
			contentType: "application/json",
			body:        "a 1\n",
			want:        []flat{{Name: "a", Type: "unknown", Samples: []string{`{__name__="a"} 1`}}},
			wantSamples: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fams, st := parseAll(t, []byte(tt.body), tt.contentType, tt.opts)
			if diff := cmp.Diff(tt.want, flatten(fams)); diff != "" {
				t.Errorf("families (-want +got):\n%s", diff)
			}
			if st.Samples != tt.wantSamples {
				t.Errorf("Stats.Samples = %d, want %d", st.Samples, tt.wantSamples)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		wantEmitted []string
		wantErr     string
	}{
		{
			name:        "text garbage after a good family",
			contentType: ctText,
			body:        "good 1\nbad{ 1\n",
			wantEmitted: []string{"good"},
			wantErr:     "parsing exposition:",
		},
		{
			name:        "openmetrics without EOF",
			contentType: ctOpenMetrics,
			body:        "a 1\n",
			wantEmitted: []string{"a"},
			wantErr:     "parsing exposition:",
		},
		{
			name:        "protobuf garbage",
			contentType: ctProto,
			body:        "\xff\xff\xff\xff\xff",
			wantErr:     "parsing exposition:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			_, err := Parse([]byte(tt.body), tt.contentType, ParseOptions{}, func(f metric.Family) error {
				got = append(got, f.Name)
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantEmitted, got); diff != "" {
				t.Errorf("emitted before the error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEmitErrorStops(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	_, err := Parse([]byte("a 1\nb 2\nc 3\n"), ctText, ParseOptions{}, func(metric.Family) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Parse error = %v, want %v", err, stop)
	}
	if calls != 1 {
		t.Errorf("emit called %d times after returning an error, want 1", calls)
	}
}

func TestParseProtobuf(t *testing.T) {
	body := expositiontest.EncodeProto(t, expositiontest.ProtoFamilies()...)
	fams, st := parseAll(t, body, ctProto, ParseOptions{HonorTimestamps: true})
	want := []flat{
		{Name: "requests_total", Help: "Requests.", Type: "counter", Samples: []string{
			`{__name__="requests_total", code="200"} 10`,
			`{__name__="requests_total", code="500"} 1`,
		}},
		{Name: "queue_depth", Help: "Depth.", Type: "gauge", Samples: []string{`{__name__="queue_depth"} 3@1700000000`}},
		{Name: "rpc_seconds", Help: "RPC latency.", Type: "histogram", Samples: []string{
			`{__name__="rpc_seconds_count"} 3`,
			`{__name__="rpc_seconds_sum"} 0.6`,
			`{__name__="rpc_seconds_bucket", le="0.1"} 1`,
			`{__name__="rpc_seconds_bucket", le="0.5"} 2`,
			`{__name__="rpc_seconds_bucket", le="+Inf"} 3`,
		}},
		{Name: "gc_seconds", Help: "GC pauses.", Type: "summary", Samples: []string{
			`{__name__="gc_seconds_count"} 4`,
			`{__name__="gc_seconds_sum"} 2`,
			`{__name__="gc_seconds", quantile="0.5"} 0.4`,
			`{__name__="gc_seconds", quantile="0.99"} 0.9`,
		}},
	}
	if diff := cmp.Diff(want, flatten(fams)); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}
	if st.Samples != 12 {
		t.Errorf("Stats.Samples = %d, want 12", st.Samples)
	}
}

func TestParseSeriesWithoutName(t *testing.T) {
	// Found by FuzzParse: the OpenMetrics parser accepts a quoted empty
	// metric name.
	var got []string
	_, err := Parse([]byte("ok 1\n{\"\"} 0 \n"), ctOpenMetrics, ParseOptions{}, func(f metric.Family) error {
		got = append(got, f.Name)
		return nil
	})
	want := `parsing exposition: series {__name__=""} has no metric name`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %q", err, want)
	}
	if diff := cmp.Diff([]string{"ok"}, got); diff != "" {
		t.Errorf("emitted (-want +got):\n%s", diff)
	}
}

func nativeHistogram(withClassic bool) *dto.MetricFamily {
	h := &dto.Histogram{
		SampleCount: proto.Uint64(3), SampleSum: proto.Float64(1.5),
		Schema: proto.Int32(0), ZeroThreshold: proto.Float64(1e-128), ZeroCount: proto.Uint64(0),
		PositiveSpan:  []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(2)}},
		PositiveDelta: []int64{1, 1},
	}
	if withClassic {
		h.Bucket = []*dto.Bucket{{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(1)}}
	}
	return &dto.MetricFamily{Name: proto.String("lat_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}}
}
