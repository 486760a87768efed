package metric_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

func sample(v float64, kv ...string) metric.Sample {
	return metric.Sample{Labels: labels.FromStrings(kv...), Value: v}
}

// families covers every type, escaping and the special float values.
func families() []metric.Family {
	return []metric.Family{
		{Name: "http_requests_total", Help: "Requests served.", Type: model.MetricTypeCounter, Samples: []metric.Sample{
			sample(1027, "__name__", "http_requests_total", "code", "200", "path", `C:\dir`),
			sample(3, "__name__", "http_requests_total", "code", "500", "path", "a \"quoted\"\nline"),
		}},
		{Name: "temperature_celsius", Help: "Help with \\ backslash\nand newline \"quotes\".", Type: model.MetricTypeGauge, Unit: "celsius", Samples: []metric.Sample{
			sample(math.NaN(), "__name__", "temperature_celsius", "room", "a"),
			sample(math.Inf(1), "__name__", "temperature_celsius", "room", "b"),
			sample(math.Inf(-1), "__name__", "temperature_celsius", "room", "c"),
			sample(-0.5, "__name__", "temperature_celsius", "room", "d"),
		}},
		{Name: "rpc_seconds", Help: "RPC latency.", Type: model.MetricTypeHistogram, Samples: []metric.Sample{
			sample(1, "__name__", "rpc_seconds_bucket", "le", "0.1"),
			sample(2, "__name__", "rpc_seconds_bucket", "le", "+Inf"),
			sample(0.35, "__name__", "rpc_seconds_sum"),
			sample(2, "__name__", "rpc_seconds_count"),
		}},
		{Name: "gc_seconds", Type: model.MetricTypeSummary, Samples: []metric.Sample{
			sample(0.2, "__name__", "gc_seconds", "quantile", "0.5"),
			sample(1, "__name__", "gc_seconds_sum"),
			sample(4, "__name__", "gc_seconds_count"),
		}},
		{Name: "mystery", Type: model.MetricTypeUnknown, Samples: []metric.Sample{
			sample(1e-9, "__name__", "mystery"),
			sample(1.5e+20, "__name__", "mystery", "big", "yes"),
		}},
	}
}

const wantText = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",path="C:\\dir"} 1027
http_requests_total{code="500",path="a \"quoted\"\nline"} 3
# HELP temperature_celsius Help with \\ backslash\nand newline "quotes".
# TYPE temperature_celsius gauge
temperature_celsius{room="a"} NaN
temperature_celsius{room="b"} +Inf
temperature_celsius{room="c"} -Inf
temperature_celsius{room="d"} -0.5
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="0.1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 0.35
rpc_seconds_count 2
# TYPE gc_seconds summary
gc_seconds{quantile="0.5"} 0.2
gc_seconds_sum 1
gc_seconds_count 4
# TYPE mystery untyped
mystery 1e-09
mystery{big="yes"} 1.5e+20
`

const wantOpenMetrics = `# HELP http_requests Requests served.
# TYPE http_requests counter
http_requests_total{code="200",path="C:\\dir"} 1027
http_requests_total{code="500",path="a \"quoted\"\nline"} 3
# HELP temperature_celsius Help with \\ backslash\nand newline \"quotes\".
# TYPE temperature_celsius gauge
# UNIT temperature_celsius celsius
temperature_celsius{room="a"} NaN
temperature_celsius{room="b"} +Inf
temperature_celsius{room="c"} -Inf
temperature_celsius{room="d"} -0.5
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="0.1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 0.35
rpc_seconds_count 2
# TYPE gc_seconds summary
gc_seconds{quantile="0.5"} 0.2
gc_seconds_sum 1
gc_seconds_count 4
# TYPE mystery unknown
mystery 1e-09
mystery{big="yes"} 1.5e+20
# EOF
`

func TestWriteText(t *testing.T) {
	tests := []struct {
		name        string
		openMetrics bool
		want        string
	}{
		{"text", false, wantText},
		{"openmetrics", true, wantOpenMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := metric.WriteText(&buf, families(), tt.openMetrics); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("WriteText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteTextEmpty(t *testing.T) {
	for _, om := range []bool{false, true} {
		var buf bytes.Buffer
		if err := metric.WriteText(&buf, nil, om); err != nil {
			t.Fatal(err)
		}
		want := ""
		if om {
			want = "# EOF\n"
		}
		if buf.String() != want {
			t.Errorf("WriteText(nil, openMetrics=%t) = %q, want %q", om, buf.String(), want)
		}
	}
}

// TestWriteTextRoundTrip parses WriteText's output back with Parse: the
// families must come back unchanged.
func TestWriteTextRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		openMetrics bool
		contentType string
	}{
		{"text", false, "text/plain; version=0.0.4"},
		{"openmetrics", true, "application/openmetrics-text; version=1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := metric.WriteText(&buf, families(), tt.openMetrics); err != nil {
				t.Fatal(err)
			}
			if got := exposition.ContentTypeOf(buf.Bytes()); got != tt.contentType {
				t.Errorf("ContentTypeOf = %q, want %q", got, tt.contentType)
			}
			var got []metric.Family
			_, err := exposition.Parse(buf.Bytes(), tt.contentType, exposition.ParseOptions{}, func(f metric.Family) error {
				got = append(got, f)
				return nil
			})
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, buf.String())
			}
			want := families()
			if !tt.openMetrics {
				// The text format has no unit and no "unknown" type.
				for i := range want {
					want[i].Unit = ""
				}
			} else {
				// OpenMetrics names a counter family without _total.
				want[0].Name = "http_requests"
			}
			if diff := cmp.Diff(want, got, cmpFamilies...); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteTextExpfmt checks the text output with the parser the
// Pushgateway and client_golang use: every family keeps its type.
func TestWriteTextExpfmt(t *testing.T) {
	var buf bytes.Buffer
	if err := metric.WriteText(&buf, families(), false); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, buf.String())
	}
	got := map[string]string{}
	for name, mf := range mfs {
		got[name] = mf.GetType().String()
	}
	want := map[string]string{
		"http_requests_total": "COUNTER",
		"temperature_celsius": "GAUGE",
		"rpc_seconds":         "HISTOGRAM",
		"gc_seconds":          "SUMMARY",
		"mystery":             "UNTYPED",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("families as expfmt reads them (-want +got):\n%s", diff)
	}
}

var cmpFamilies = []cmp.Option{
	cmp.Comparer(func(a, b labels.Labels) bool { return labels.Equal(a, b) }),
	cmp.Comparer(func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }),
}

// TestWriteTextFromOpenMetrics writes families as Parse returns them for an
// OpenMetrics body (a counter family named without _total, an info family
// without _info) in the text format: the metadata must name the series, or
// expfmt reads them untyped and drops the help.
func TestWriteTextFromOpenMetrics(t *testing.T) {
	body := "# TYPE jobs counter\n# HELP jobs Jobs run.\njobs_total 5\n# TYPE build info\n# HELP build Build.\nbuild_info{version=\"1\"} 1\n# EOF\n"
	var fams []metric.Family
	if _, err := exposition.Parse([]byte(body), "application/openmetrics-text; version=1.0.0", exposition.ParseOptions{}, func(f metric.Family) error {
		fams = append(fams, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := metric.WriteText(&buf, fams, false); err != nil {
		t.Fatal(err)
	}
	want := `# HELP jobs_total Jobs run.
# TYPE jobs_total counter
jobs_total 5
# HELP build_info Build.
# TYPE build_info untyped
build_info{version="1"} 1
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got := mfs["jobs_total"]; got.GetType().String() != "COUNTER" || got.GetHelp() != "Jobs run." {
		t.Errorf("expfmt reads jobs_total as %s with help %q, want COUNTER with help", got.GetType(), got.GetHelp())
	}
	// And back to OpenMetrics: the family name loses _total again.
	buf.Reset()
	if err := metric.WriteText(&buf, fams, true); err != nil {
		t.Fatal(err)
	}
	wantOM := "# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total 5\n# HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1\n# EOF\n"
	if diff := cmp.Diff(wantOM, buf.String()); diff != "" {
		t.Errorf("WriteText OpenMetrics (-want +got):\n%s", diff)
	}
}

// TestWriteTextUTF8Names writes names that are valid UTF-8 but not legacy
// names: they are quoted, and Parse reads them back.
func TestWriteTextUTF8Names(t *testing.T) {
	fams := []metric.Family{{Name: "my.metric", Help: "Dots.", Type: model.MetricTypeGauge, Samples: []metric.Sample{
		sample(1, "__name__", "my.metric", "a.b", "c", "plain", "p"),
		sample(2, "__name__", "my.metric"),
	}}}
	tests := []struct {
		name        string
		openMetrics bool
		contentType string
		want        string
	}{
		{
			name:        "text",
			contentType: "text/plain; version=0.0.4",
			want:        "# HELP \"my.metric\" Dots.\n# TYPE \"my.metric\" gauge\n{\"my.metric\",\"a.b\"=\"c\",plain=\"p\"} 1\n{\"my.metric\"} 2\n",
		},
		{
			name:        "openmetrics",
			openMetrics: true,
			contentType: "application/openmetrics-text; version=1.0.0",
			want:        "# HELP \"my.metric\" Dots.\n# TYPE \"my.metric\" gauge\n{\"my.metric\",\"a.b\"=\"c\",plain=\"p\"} 1\n{\"my.metric\"} 2\n# EOF\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := metric.WriteText(&buf, fams, tt.openMetrics); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("WriteText (-want +got):\n%s", diff)
			}
			var got []metric.Family
			if _, err := exposition.Parse(buf.Bytes(), tt.contentType, exposition.ParseOptions{}, func(f metric.Family) error {
				got = append(got, f)
				return nil
			}); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(fams, got, cmpFamilies...); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteTextMergesFamilies writes what `liftpush collect` gets from two
// targets of one job and a chunked family: one HELP and TYPE per name.
func TestWriteTextMergesFamilies(t *testing.T) {
	up := func(instance string, v float64) metric.Family {
		return metric.Gauge("up", "1 if the target was scraped successfully, 0 otherwise.", v, labels.FromStrings("instance", instance, "job", "j"))
	}
	chunk1 := metric.Family{Name: "big", Type: model.MetricTypeGauge, Samples: []metric.Sample{sample(1, "__name__", "big", "i", "1")}}
	chunk2 := metric.Family{Name: "big", Type: model.MetricTypeGauge, Samples: []metric.Sample{sample(2, "__name__", "big", "i", "2")}}
	in := []metric.Family{up("a:1", 1), chunk1, up("b:1", 0), chunk2}
	var buf bytes.Buffer
	if err := metric.WriteText(&buf, in, false); err != nil {
		t.Fatal(err)
	}
	want := `# HELP up 1 if the target was scraped successfully, 0 otherwise.
# TYPE up gauge
up{instance="a:1",job="j"} 1
up{instance="b:1",job="j"} 0
# TYPE big gauge
big{i="1"} 1
big{i="2"} 2
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(buf.String())); err != nil {
		t.Errorf("expfmt rejects the output: %v", err)
	}
	// The caller's families are left alone.
	if len(in[0].Samples) != 1 || len(in[1].Samples) != 1 {
		t.Errorf("WriteText modified its input: %+v", in)
	}
}
