package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// flatSample is one emitted sample with the metadata of its family.
type flatSample struct {
	Family, Type, Help, Unit string
	Series, Value            string
	T                        int64
}

func flattenSamples(fams []metric.Family) []flatSample {
	out := []flatSample{}
	for _, f := range fams {
		for _, s := range f.Samples {
			out = append(out, flatSample{
				Family: f.Name, Type: string(f.Type), Help: f.Help, Unit: f.Unit,
				Series: s.Labels.String(), Value: metric.FormatValue(s.Value), T: s.T,
			})
		}
	}
	return out
}

type parseResult struct {
	samples []flatSample
	stats   Stats
	err     error
}

func parseWhole(body []byte, contentType string, opts ParseOptions) parseResult {
	var fams []metric.Family
	st, err := Parse(body, contentType, opts, func(f metric.Family) error {
		fams = append(fams, f)
		return nil
	})
	return parseResult{flattenSamples(fams), st, err}
}

// parseChunked runs parseStream with tiny chunks and poisons every chunk
// after Parse returned, so that a sample pointing into the input shows.
func parseChunked(body []byte, contentType string, opts ParseOptions, chunk int) parseResult {
	var fams []metric.Family
	cfg := streamConfig{chunk: chunk, maxRecord: streamMaxRecord, poison: true}
	// OneByteReader makes every read short, as a pipe may.
	st, err := parseStream(iotest.OneByteReader(bytes.NewReader(body)), contentType, opts, cfg, func(f metric.Family) error {
		if len(f.Samples) == 0 {
			return fmt.Errorf("family %q emitted without samples", f.Name)
		}
		fams = append(fams, f)
		return nil
	})
	return parseResult{flattenSamples(fams), st, err}
}

// bigFamily is one family of n series, with metadata or without.
func bigFamily(name string, n int, meta bool) string {
	var b strings.Builder
	if meta {
		fmt.Fprintf(&b, "# HELP %s A big one.\n# TYPE %s gauge\n", name, name)
	}
	for i := range n {
		fmt.Fprintf(&b, "%s{pod=\"pod-%d\",namespace=\"ns-%d\"} %d\n", name, i, i%7, i)
	}
	return b.String()
}

var streamCases = []struct {
	name        string
	contentType string
	body        string
}{
	{
		name:        "text families with help and type",
		contentType: ctText,
		body: `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027
http_requests_total{code="500",method="get"} 3
# HELP temperature Degrees, with \\ and \n escapes.
# TYPE temperature gauge
temperature{room="a b"} 21.5
temperature{room="c"} 19

# a plain comment
untyped_thing 7
  indented_thing 8
`,
	},
	{
		name:        "text histogram and summary",
		contentType: ctText,
		body: `# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="0.1"} 1
rpc_seconds_bucket{le="1"} 2
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 0.35
rpc_seconds_count 2
# TYPE lat summary
lat{quantile="0.5"} 0.2
lat{quantile="1"} 0.9
lat_sum 1
lat_count 4
other{le="1",quantile="1"} 5
`,
	},
	{
		name:        "text huge family without metadata",
		contentType: ctText,
		body:        bigFamily("kube_pod_info", 300, false),
	},
	{
		name:        "text huge family with metadata",
		contentType: ctText,
		body:        bigFamily("kube_pod_labels", 300, true) + bigFamily("kube_node_info", 40, true) + "after 1\n",
	},
	{
		name:        "text timestamps",
		contentType: ctText,
		body:        "# TYPE a counter\na{x=\"1\"} 1 1700000000000\na{x=\"2\"} 2 1700000000123\nb 3 5\nc 4\n",
	},
	{
		name:        "text quoted names and multi-line label values",
		contentType: ctText,
		body: `# HELP "utf8.name" Dotted.
# TYPE "utf8.name" gauge
{"utf8.name",x="y"} 1
{x="z","utf8.name"} 2
# HELP "multi
line" A name with a newline.
{"multi
line"} 3
plain{v="a\"b\\c\nd",w="raw
newline",x="} 1"} 4
plain{a="1" b="2",} 5
`,
	},
	{
		// The last TYPE (histogram) still normalizes le after a HELP started
		// another family.
		name:        "text type of an earlier family",
		contentType: ctText,
		body: "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n# HELP x X.\nx{le=\"2\"} 2\nx{le=\"3\"} 3\n" +
			"y{le=\"4\"} 4\nh_bucket{le=\"5\"} 5\nh_bucket{le=\"6\"} 6\n# HELP a A.\nb{le=\"7\"} 7\n",
	},
	{
		name:        "text NUL at a line start ends the input",
		contentType: ctText,
		body:        "a 1\n# comment with \x00 in it\nb{x=\"\x00\"} 2\n\x00 ignored\nc 3\n",
	},
	{
		name:        "openmetrics with units and EOF",
		contentType: ctOpenMetrics,
		body: `# TYPE jobs_seconds counter
# UNIT jobs_seconds seconds
# HELP jobs_seconds Time spent in jobs.
jobs_seconds_total{queue="a"} 5 1700000000.5
jobs_seconds_created{queue="a"} 1.7e+09
jobs_seconds_total{queue="b"} 6 1700000001
jobs_seconds_created{queue="b"} 1.7e+09
# TYPE build info
build_info{version="1.2"} 1
# TYPE req_bytes histogram
# UNIT req_bytes bytes
req_bytes_bucket{le="10"} 1 # {trace_id="abc"} 3 1700000000
req_bytes_bucket{le="+Inf"} 2
req_bytes_sum 12
req_bytes_count 2
# TYPE "om.quoted" gauge
{"om.quoted",a="b"} 1
# EOF
`,
	},
	{
		name:        "openmetrics huge family",
		contentType: ctOpenMetrics,
		body:        strings.ReplaceAll(bigFamily("big", 200, true), " A big one.", " Big.") + "# EOF\n",
	},
	{
		name:        "openmetrics without newline after EOF",
		contentType: ctOpenMetrics,
		body:        "# TYPE a gauge\na 1\na{x=\"1\"} 2\n# EOF",
	},
	{
		name:        "text without final newline",
		contentType: ctText,
		body:        "# TYPE a gauge\na 1\na{x=\"1\"} 2",
	},
	{
		// Parse falls back to text on a content type it cannot parse.
		name:        "malformed openmetrics content type",
		contentType: "application/openmetrics-text; version=1.0.0; x",
		body:        "# TYPE a gauge\na 1\n# EOF\n",
	},
	{
		name:        "empty text",
		contentType: ctText,
		body:        "",
	},
}

func TestParseStreamMatchesParse(t *testing.T) {
	for _, tc := range streamCases {
		for _, chunk := range []int{1, 7, 64, 4096} {
			for _, opts := range []ParseOptions{{HonorTimestamps: true}, {ChunkSamples: 3}} {
				t.Run(fmt.Sprintf("%s/chunk=%d/%+v", tc.name, chunk, opts), func(t *testing.T) {
					want := parseWhole([]byte(tc.body), tc.contentType, opts)
					if want.err != nil {
						t.Fatalf("Parse: %v", want.err)
					}
					got := parseChunked([]byte(tc.body), tc.contentType, opts, chunk)
					if got.err != nil {
						t.Fatalf("parseStream: %v", got.err)
					}
					if diff := cmp.Diff(want.samples, got.samples); diff != "" {
						t.Errorf("samples (-Parse +parseStream):\n%s", diff)
					}
					if got.stats != want.stats {
						t.Errorf("Stats = %+v, Parse's %+v", got.stats, want.stats)
					}
				})
			}
		}
	}
}

// TestParseStreamCutsAtFamilies checks that with a chunk size of a few
// families, no family is cut in two: each family is emitted once.
func TestParseStreamCutsAtFamilies(t *testing.T) {
	var body strings.Builder
	for i := range 20 {
		body.WriteString(bigFamily(fmt.Sprintf("fam_%d", i), 5, true))
	}
	var names []string
	_, err := parseStream(strings.NewReader(body.String()), ctText, ParseOptions{}, streamConfig{chunk: 1000, maxRecord: 1 << 20}, func(f metric.Family) error {
		names = append(names, f.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 20 {
		t.Errorf("emitted %d families, want 20: %q", len(names), names)
	}
}

// TestParseStreamRedeclaredMetadata shows where chunks cannot match Parse:
// a TYPE repeated after samples changes all of the family's samples that
// Parse holds, but only those of the current chunk. With ChunkSamples: 1
// Parse holds none and both agree.
func TestParseStreamRedeclaredMetadata(t *testing.T) {
	body := []byte("# TYPE x gauge\nx{a=\"1\"} 1\n# TYPE x counter\nx{a=\"2\"} 2\n")
	opts := ParseOptions{ChunkSamples: 1}
	want := parseWhole(body, ctText, opts)
	got := parseChunked(body, ctText, opts, 1)
	if want.err != nil || got.err != nil {
		t.Fatalf("errors: Parse %v, parseStream %v", want.err, got.err)
	}
	if diff := cmp.Diff(want.samples, got.samples); diff != "" {
		t.Errorf("samples (-Parse +parseStream):\n%s", diff)
	}
	if types := []string{got.samples[0].Type, got.samples[1].Type}; types[0] != "gauge" || types[1] != "counter" {
		t.Errorf("types = %q, want gauge then counter", types)
	}
}

func TestParseStreamErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		chunk       int
		wantSamples int
		wantErr     string // prefix; Parse's message follows
	}{
		{
			name:        "bad value",
			contentType: ctText,
			body:        "a 1\nb 2\n# TYPE c gauge\nc 1\nc x\nd 4\n",
			chunk:       7,
			wantSamples: 3,
			wantErr:     "line 5: parsing exposition: ",
		},
		{
			name:        "bad type line",
			contentType: ctText,
			body:        "a 1\nb 2\n\n# TYPE c nonsense\nc 1\n",
			chunk:       4096,
			wantSamples: 2,
			wantErr:     "line 4: parsing exposition: invalid metric type",
		},
		{
			name:        "bad line after a multi-line value",
			contentType: ctText,
			body:        "a{x=\"1\n2\n3\"} 1\nb\n",
			chunk:       1,
			wantSamples: 1,
			wantErr:     "line 4: parsing exposition: ",
		},
		{
			name:        "openmetrics without EOF",
			contentType: ctOpenMetrics,
			body:        "a 1\nb 2\n",
			chunk:       1,
			wantSamples: 2,
			wantErr:     "line 3: parsing exposition: data does not end with # EOF",
		},
		{
			name:        "openmetrics data after EOF",
			contentType: ctOpenMetrics,
			body:        "a 1\n# EOF\nb 2\n# EOF\n",
			chunk:       4096,
			wantSamples: 1,
			wantErr:     "line 3: parsing exposition: unexpected data after # EOF",
		},
		{
			name:        "series without name",
			contentType: ctText,
			body:        "a 1\n{x=\"y\"} 2\n",
			chunk:       1,
			wantSamples: 1,
			wantErr:     "line 2: parsing exposition: metric name not set",
		},
		{
			name:        "openmetrics series with empty name",
			contentType: ctOpenMetrics,
			body:        "a 1\n{\"\"} 0\n# EOF\n",
			chunk:       1,
			wantSamples: 1,
			wantErr:     "line 2: parsing exposition: series {__name__=\"\"} has no metric name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := parseWhole([]byte(tt.body), tt.contentType, ParseOptions{})
			got := parseChunked([]byte(tt.body), tt.contentType, ParseOptions{}, tt.chunk)
			if whole.err == nil || got.err == nil {
				t.Fatalf("want errors, Parse: %v, parseStream: %v", whole.err, got.err)
			}
			if !strings.HasPrefix(got.err.Error(), tt.wantErr) {
				t.Errorf("error %q, want prefix %q (Parse: %q)", got.err, tt.wantErr, whole.err)
			}
			if len(got.samples) != tt.wantSamples || len(whole.samples) != tt.wantSamples {
				t.Errorf("emitted %d samples before the error, Parse %d, want %d", len(got.samples), len(whole.samples), tt.wantSamples)
			}
		})
	}
}

func TestParseStreamEmitError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	_, err := parseStream(strings.NewReader("a 1\nb 2\nc 3\n"), ctText, ParseOptions{}, streamConfig{chunk: 1, maxRecord: 100}, func(metric.Family) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("error = %v, want emit's error as is", err)
	}
	if calls != 2 {
		t.Errorf("emit called %d times after it failed, want 2", calls)
	}
}

func TestParseStreamReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a 1\nb 2\n"), iotest.ErrReader(boom))
	var n int
	_, err := parseStream(r, ctText, ParseOptions{}, streamConfig{chunk: 4, maxRecord: 100}, func(f metric.Family) error {
		n += len(f.Samples)
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want %v", err, boom)
	}
	if n != 2 {
		t.Errorf("emitted %d samples before the read error, want 2", n)
	}
}

func TestParseStreamLongRecord(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{name: "line without newline", body: "a 1\n" + strings.Repeat("x", 100) + " 1\n", wantErr: "line 2: longer than the limit of 64 bytes for one record"},
		// An unterminated quote is cut at its first newline, where Parse
		// fails.
		{name: "stray quote", body: "a 1\nb{x=\"1} 2\n" + strings.Repeat("c 3\n", 30), wantErr: "line 2: parsing exposition: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			_, err := parseStream(strings.NewReader(tt.body), ctText, ParseOptions{}, streamConfig{chunk: 1, maxRecord: 64}, func(f metric.Family) error {
				n += len(f.Samples)
				return nil
			})
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want prefix %q", err, tt.wantErr)
			}
			if n != 1 {
				t.Errorf("emitted %d samples, want 1", n)
			}
		})
	}
}

func TestParseStreamProtobuf(t *testing.T) {
	body := expositiontest.EncodeProto(t, expositiontest.ProtoFamilies()...)
	want := parseWhole(body, ctProto, ParseOptions{HonorTimestamps: true})
	got := parseChunked(body, ctProto, ParseOptions{HonorTimestamps: true}, 1)
	if want.err != nil || got.err != nil {
		t.Fatalf("errors: Parse %v, parseStream %v", want.err, got.err)
	}
	if diff := cmp.Diff(want.samples, got.samples); diff != "" {
		t.Errorf("samples (-Parse +parseStream):\n%s", diff)
	}
}

func TestParseStreamDefaultChunk(t *testing.T) {
	body := []byte(streamCases[0].body)
	var fams []metric.Family
	st, err := ParseStream(bytes.NewReader(body), ctText, ParseOptions{}, func(f metric.Family) error {
		fams = append(fams, f)
		return nil
	})
	want := parseWhole(body, ctText, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.samples, flattenSamples(fams)); diff != "" {
		t.Errorf("samples (-Parse +ParseStream):\n%s", diff)
	}
	if st != want.stats {
		t.Errorf("Stats = %+v, want %+v", st, want.stats)
	}
}

// trickyInputs are corners of the two formats that chunking must get right.
var trickyInputs = []struct {
	name string
	om   bool
	body string
}{
	{name: "metadata repeated after samples", body: "# TYPE x gauge\nx 1\n# TYPE x counter\nx 2\n# HELP x X.\nx 3\n"},
	{name: "help and type apart", body: "# HELP x X.\n\n# c\n# TYPE x counter\nx_total 1\nx_created 2\n# HELP y\ty\ny 1\n"},
	{name: "foreign type before a help", body: "# TYPE a histogram\n# HELP b B.\nb{le=\"1\"} 1\nb_bucket{le=\"2\"} 2\n# HELP a A.\na{le=\"3\"} 3\n"},
	{name: "foreign type before samples", body: "# TYPE b summary\nb{quantile=\"1\"} 1\nc{quantile=\"1\"} 2\nb_sum 3\nb{quantile=\"1\"} 4\n"},
	{name: "quoted metadata names", body: "# HELP \"a\" A.\n{\"a\"} 1\n# TYPE \"a\\\"b\" gauge\n{\"a\\\"b\"} 2\n{\"a\\\"b\"} 3\n"},
	{name: "escapes in label values", body: "a{x=\"\\\\\"} 1\na{x=\"\\\"\",y=\"\\n\"} 2\n"},
	{name: "white space", body: "\t a 1\n \n\t# TYPE b gauge\n b 2\nb 3\nb { x = \"1\" , } 4\n"},
	{name: "NUL in a comment then at a line start", body: "a 1\n#\x00x\nb 1\n"},
	{name: "NUL after a hash", body: "a 1\n# \x00\nb 1\n\x00\nc 1\n"},
	// The lexers skip NUL bytes in some states: a HELP keyword, a quoted
	// name after it, an escape in a label value.
	{name: "NUL in a HELP keyword", body: "# HE\x00LP x X.\nx 1\n# TYPE y gauge\ny 1\n# TY\x00PE x counter\nx 2\n"},
	{name: "NUL before a quoted name", body: "# HELP \x00\"a\nb\" X.\n{\"a\nb\"} 1\n{\"a\nb\"} 2\n"},
	{name: "NUL after an escape", body: "a{x=\"\\\x00\"} 1\n\"} 2\nb 3\n"},
	{name: "NUL after a label value", body: "a{x=\"1\"\x00,y=\"2\"} 1\n{x=\"1\"\x00,\"b\"} 2\n"},
	{name: "openmetrics NUL in a UNIT keyword", om: true, body: "# TYPE a_s gauge\n# UN\x00IT a_s s\na_s 1\n# EOF\n"},
	{name: "openmetrics info and stateset", om: true, body: "# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n"},
	{name: "openmetrics gaugehistogram", om: true, body: "# TYPE g gaugehistogram\ng_bucket{le=\"1\"} 1\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1\ng_gsum 1\n# EOF\n"},
	{name: "openmetrics quoted name with newline", om: true, body: "# TYPE \"a\nb\" gauge\n{\"a\nb\",x=\"1\"} 1\n{\"a\nb\"} 2\n# EOF\n"},
	{name: "openmetrics unit after samples", om: true, body: "# TYPE a_seconds gauge\na_seconds 1\n# UNIT a_seconds seconds\na_seconds 2\n# EOF\n"},
}

func TestParseStreamTricky(t *testing.T) {
	for _, tc := range trickyInputs {
		t.Run(tc.name, func(t *testing.T) {
			for size := 1; size <= 64; size++ {
				checkStream(t, []byte(tc.body), tc.om, size)
			}
		})
	}
}

// FuzzParseStream checks that chunking is invisible: whatever Parse makes of
// the whole input, parseStream makes of it in chunks of any size. Some
// inputs have a byte repeated up to 1 MiB, records far longer than a chunk
// (streamMaxRecord, where the two differ on purpose, is
// TestParseLabelOverLimit's).
func FuzzParseStream(f *testing.F) {
	for _, tc := range streamCases {
		if len(tc.body) < 2000 {
			f.Add([]byte(tc.body), tc.contentType == ctOpenMetrics, uint16(7), uint16(0), uint8(0))
		}
	}
	for _, tc := range trickyInputs {
		f.Add([]byte(tc.body), tc.om, uint16(3), uint16(0), uint8(0))
	}
	f.Add([]byte("a 1\nb{x=\"1\"} 1\nc 1\n"), false, uint16(100), uint16(9), uint8(4))
	f.Add([]byte("a 1\nb{x=\"1\"} 1\nc 1\n# EOF\n"), true, uint16(100), uint16(9), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, om bool, chunk uint16, at uint16, size uint8) {
		checkStream(t, inflate(body, at, size, 1<<20), om, int(chunk)%4096+1)
	})
}

// checkStream checks that parseStream emits the samples Parse does, before
// the same failure if any. Compared with ChunkSamples: 1 (each sample with
// the metadata in effect where it was read) the result must always match;
// with ChunkSamples: 0 it must match unless Parse itself gives a different
// result for ChunkSamples: 1, i.e. a family's metadata changed after some of
// its samples (see TestParseStreamRedeclaredMetadata). It also checks
// DetectContentType against ContentTypeOf.
func checkStream(t *testing.T, body []byte, om bool, size int) {
	t.Helper()
	ct := ctText
	if om {
		ct = ctOpenMetrics
	}
	exact := ParseOptions{HonorTimestamps: true, ChunkSamples: 1}
	want := parseWhole(body, ct, exact)
	compareStream(t, size, want, parseChunked(body, ct, exact, size))

	whole := parseWhole(body, ct, ParseOptions{HonorTimestamps: true})
	if cmp.Equal(whole.samples, want.samples) {
		compareStream(t, size, whole, parseChunked(body, ct, ParseOptions{HonorTimestamps: true}, size))
	}

	if got, want := DetectContentType(bytes.NewReader(body), int64(len(body))), ContentTypeOf(body); got != want {
		t.Errorf("DetectContentType = %q, ContentTypeOf %q", got, want)
	}
}

func compareStream(t *testing.T, chunk int, want, got parseResult) {
	t.Helper()
	checkErrorLen(t, want.err)
	checkErrorLen(t, got.err)
	if (want.err == nil) != (got.err == nil) {
		t.Fatalf("chunk %d: Parse error %v, parseStream error %v", chunk, want.err, got.err)
	}
	if diff := cmp.Diff(want.samples, got.samples); diff != "" {
		t.Fatalf("chunk %d: samples (-Parse +parseStream), errors %v / %v:\n%s", chunk, want.err, got.err, diff)
	}
	if want.err == nil && got.stats != want.stats {
		t.Fatalf("chunk %d: Stats = %+v, Parse's %+v", chunk, got.stats, want.stats)
	}
}

// ksmBody is a kube-state-metrics-like exposition of about n samples: a few
// dozen families of series with 8 to 10 labels.
func ksmBody(n int) []byte {
	var b bytes.Buffer
	families := []string{"kube_pod_info", "kube_pod_status_phase", "kube_pod_container_info", "kube_pod_labels",
		"kube_pod_owner", "kube_pod_container_resource_requests", "kube_pod_container_status_restarts_total",
		"kube_pod_created", "kube_pod_status_ready", "kube_pod_container_status_running"}
	per := n / len(families)
	for _, fam := range families {
		fmt.Fprintf(&b, "# HELP %s Information about the pod.\n# TYPE %s gauge\n", fam, fam)
		for i := range per {
			fmt.Fprintf(&b, `%s{namespace="team-%d",pod="api-%d-7c9f8d6b5-x%dz",uid="3f1c2a9e-%08d-4d2b-9a7e-1c2d3e4f5a6b",node="ip-10-0-%d-%d.ec2.internal",container="app",host_ip="10.0.%d.%d",pod_ip="100.64.%d.%d",created_by_kind="ReplicaSet",priority_class="default"} %d`+"\n",
				fam, i%40, i, i%10, i, i%16, i%250, i%16, i%250, i%200, i%250, i%3)
		}
	}
	return b.Bytes()
}

func BenchmarkParseStream(b *testing.B) {
	body := ksmBody(50000)
	samples := 0
	if _, err := Parse(body, ctText, ParseOptions{}, func(f metric.Family) error {
		samples += len(f.Samples)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, parse func() (Stats, error)) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			st, err := parse()
			if err != nil || st.Samples != samples {
				b.Fatalf("parsed %d samples (%v), want %d", st.Samples, err, samples)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*samples), "ns/sample")
	}
	// As push FILE parses: the job label is put on while parsing.
	opts := ParseOptions{HonorTimestamps: true, ChunkSamples: 1000, Default: labels.FromStrings("job", "liftpush")}
	discard := func(metric.Family) error { return nil }
	b.Run("stream", func(b *testing.B) {
		run(b, func() (Stats, error) { return ParseStream(bytes.NewReader(body), ctText, opts, discard) })
	})
	b.Run("whole", func(b *testing.B) {
		run(b, func() (Stats, error) { return Parse(body, ctText, opts, discard) })
	})
	// textparse alone, what Parse falls back to.
	b.Run("textparse", func(b *testing.B) {
		run(b, func() (Stats, error) { return parseTextparse(body, ctText, opts, discard) })
	})
}
