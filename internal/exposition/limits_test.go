package exposition

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// huge is 17 MiB, over metric.MaxLabelBytes: a label value this long
// panicked in the labels library (issue 22).
var huge = strings.Repeat("v", 17<<20)

// maxErrorLen bounds the text of any error Parse or ParseStream returns
// (issue 22: "log line ≤ 1 KiB").
const maxErrorLen = 1 << 10

func protoFamily(name string, typ dto.MetricType, labelName, labelValue string) *dto.MetricFamily {
	m := &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String(labelName), Value: proto.String(labelValue)}}}
	switch typ {
	case dto.MetricType_HISTOGRAM:
		m.Histogram = &dto.Histogram{SampleCount: proto.Uint64(1), SampleSum: proto.Float64(1),
			Bucket: []*dto.Bucket{{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(1)}}}
	case dto.MetricType_COUNTER:
		m.Counter = &dto.Counter{Value: proto.Float64(1)}
	default:
		m.Gauge = &dto.Gauge{Value: proto.Float64(1)}
	}
	return &dto.MetricFamily{Name: proto.String(name), Type: typ.Enum(), Metric: []*dto.Metric{m}}
}

// TestParseLabelOverLimit: a label name or value over the limit fails the
// parse with an error naming the limit, after the families before it, in
// every format and through Parse and ParseStream alike.
func TestParseLabelOverLimit(t *testing.T) {
	good := protoFamily("good", dto.MetricType_GAUGE, "a", "b")
	exemplarLabel := []*dto.LabelPair{{Name: proto.String("trace_id"), Value: proto.String(huge)}}
	counterExemplar := protoFamily("bad", dto.MetricType_COUNTER, "a", "b")
	counterExemplar.Metric[0].Counter.Exemplar = &dto.Exemplar{Label: exemplarLabel, Value: proto.Float64(1)}
	bucketExemplar := protoFamily("bad", dto.MetricType_HISTOGRAM, "a", "b")
	bucketExemplar.Metric[0].Histogram.Bucket[0].Exemplar = &dto.Exemplar{Label: exemplarLabel, Value: proto.Float64(1)}
	nativeExemplar := protoFamily("bad", dto.MetricType_HISTOGRAM, "a", "b")
	nativeExemplar.Metric[0].Histogram.Exemplars = []*dto.Exemplar{{Label: exemplarLabel, Value: proto.Float64(1)}}
	for _, tc := range []struct {
		name, ct string
		body     []byte
		opts     ParseOptions
		// streamErr is what ParseStream says instead, where its limit on
		// one record comes first.
		want, streamErr string
		// checked is set where the body is checked before it is parsed:
		// nothing is emitted.
		checked bool
	}{
		{
			name: "text value", ct: ctText,
			body:      []byte("good 1\nbad{path=\"" + huge + "\"} 1\n"),
			want:      `label "path": value of 17825792 bytes: over the limit of 16777215 bytes`,
			streamErr: "line 2: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "text label name", ct: ctText,
			body:      []byte("good 1\nbad{" + huge + "=\"x\"} 1\n"),
			want:      `label name "vvvv`,
			streamErr: "line 2: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "text metric name", ct: ctText,
			body:      []byte("good 1\n" + huge + " 1\n"),
			want:      `label "__name__": value of 17825792 bytes: over the limit`,
			streamErr: "line 2: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "text quoted value in braces", ct: ctText,
			body:      []byte("good 1\n{\"bad\",\"" + huge + "\"=\"x\"} 1\n"),
			want:      `label name "vvvv`,
			streamErr: "line 2: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "openmetrics value", ct: ctOpenMetrics,
			body:      []byte("good 1\nbad{path=\"" + huge + "\"} 1\n# EOF\n"),
			want:      `label "path": value of 17825792 bytes: over the limit of 16777215 bytes`,
			streamErr: "line 2: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "protobuf value", ct: ctProto,
			body: expositiontest.EncodeProto(t, good, protoFamily("bad", dto.MetricType_GAUGE, "path", huge)),
			want: `label "path": value of 17825792 bytes: over the limit of 16777215 bytes`,
		},
		{
			name: "protobuf label name", ct: ctProto,
			body: expositiontest.EncodeProto(t, good, protoFamily("bad", dto.MetricType_GAUGE, huge, "x")),
			want: `label name "vvvv`,
		},
		{
			// The NHCB parser builds the labels of a histogram's buckets
			// before Parse sees the series.
			name: "text histogram to NHCB", ct: ctText, checked: true,
			opts:      ParseOptions{ConvertClassicHistogramsToNHCB: true},
			body:      []byte("good 1\n# TYPE h histogram\nh_bucket{le=\"1\",path=\"" + huge + "\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
			want:      `label "path": value of 17825792 bytes: over the limit of 16777215 bytes`,
			streamErr: "line 3: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "openmetrics exemplar", ct: ctOpenMetrics, checked: true,
			opts:      ParseOptions{Exemplars: true},
			body:      []byte("good 1\n# TYPE c counter\nc_total 1 # {trace_id=\"" + huge + "\"} 1\n# EOF\n"),
			want:      `label "trace_id": value of 17825792 bytes: over the limit of 16777215 bytes`,
			streamErr: "line 3: longer than the limit of 16777216 bytes for one record",
		},
		{
			name: "protobuf counter exemplar", ct: ctProto, opts: ParseOptions{Exemplars: true},
			body: expositiontest.EncodeProto(t, good, counterExemplar),
			want: `label "trace_id": value of 17825792 bytes: over the limit of 16777215 bytes`,
		},
		{
			name: "protobuf bucket exemplar", ct: ctProto, opts: ParseOptions{Exemplars: true},
			body: expositiontest.EncodeProto(t, good, bucketExemplar),
			want: `label "trace_id": value of 17825792 bytes: over the limit of 16777215 bytes`,
		},
		{
			name: "protobuf native histogram exemplar", ct: ctProto, opts: ParseOptions{Exemplars: true, NativeHistograms: true},
			body: expositiontest.EncodeProto(t, good, nativeExemplar),
			want: `label "trace_id": value of 17825792 bytes: over the limit of 16777215 bytes`,
		},
		{
			// The family name fits, the series name_bucket does not.
			name: "protobuf histogram name", ct: ctProto,
			body: expositiontest.EncodeProto(t, good, protoFamily(huge[:metric.MaxLabelBytes-3], dto.MetricType_HISTOGRAM, "a", "b")),
			want: `label "__name__": value of 16777219 bytes: over the limit`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, st Stats, err error, fams []string, want string) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %.300v, want it to contain %q", err, want)
				}
				if len(err.Error()) > maxErrorLen {
					t.Errorf("error text is %d bytes: %.300s", len(err.Error()), err)
				}
				// A protobuf body, or one read ahead, is checked whole
				// before it is parsed.
				if before := tc.ct != ctProto && !tc.checked; before && (len(fams) != 1 || fams[0] != "good" || st.Samples != 1) {
					t.Errorf("emitted %v (%d samples), want the good family before the error", fams, st.Samples)
				} else if !before && len(fams) != 0 {
					t.Errorf("emitted %v of a body checked before parsing", fams)
				}
			}
			var fams []string
			emit := func(f metric.Family) error { fams = append(fams, f.Name); return nil }
			st, err := Parse(tc.body, tc.ct, tc.opts, emit)
			check(t, st, err, fams, tc.want)
			if !errors.Is(err, metric.ErrLabelTooLong) {
				t.Errorf("Parse error does not wrap metric.ErrLabelTooLong: %.300v", err)
			}

			fams = nil
			st, err = ParseStream(bytes.NewReader(tc.body), tc.ct, tc.opts, emit)
			want := tc.want
			if tc.streamErr != "" {
				// The stream's record limit comes first, after the good
				// family.
				want, tc.checked = tc.streamErr, false
			}
			check(t, st, err, fams, want)
		})
	}
}

// TestParseLabelEscapedWithinLimit: the limit applies to a value as
// unescaped, so a value whose text is over it but not its value is read.
func TestParseLabelEscapedWithinLimit(t *testing.T) {
	value := strings.Repeat(`\\`, 9<<20) // 18 MiB of text, 9 MiB of value
	var got []metric.Sample
	_, err := Parse([]byte("a{l=\""+value+"\"} 1\n"), ctText, ParseOptions{}, func(f metric.Family) error {
		got = append(got, f.Samples...)
		return nil
	})
	if err != nil {
		t.Fatalf("Parse: %.300v", err)
	}
	if len(got) != 1 || got[0].Labels.Get("l") != strings.Repeat(`\`, 9<<20) {
		t.Fatalf("got %d samples, want one with the unescaped value", len(got))
	}
}

// TestParseHugeLineError is issue 22's 100 MB line: textparse quotes the
// line it failed on, whole; the error says its start and its length.
func TestParseHugeLineError(t *testing.T) {
	line := "a{l=\"x\"} 1 2 " + strings.Repeat("3", 100<<20) + "\n"
	for _, tc := range []struct {
		name  string
		parse func() error
		want  string
	}{
		{"Parse", func() error {
			_, err := Parse([]byte(line), ctText, ParseOptions{}, func(metric.Family) error { return nil })
			return err
		}, "bytes)"},
		{"ParseStream", func() error {
			_, err := ParseStream(strings.NewReader(line), ctText, ParseOptions{}, func(metric.Family) error { return nil })
			return err
		}, "line 1: longer than the limit of 16777216 bytes for one record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse()
			if err == nil {
				t.Fatal("no error for a malformed 100 MB line")
			}
			if len(err.Error()) > maxErrorLen {
				t.Errorf("error text is %d bytes: %.300s", len(err.Error()), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestParseErrorsQuoteCut: every error that quotes its input quotes at most
// a few hundred bytes of it.
func TestParseErrorsQuoteCut(t *testing.T) {
	long := strings.Repeat("z", 1<<20)
	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"series without a name", ctText, "{\"\", l=\"" + long + "\"} 1\n", "has no metric name"},
		{"textparse error", ctText, "a{l=\"" + long + "\" 1\n", "parsing exposition: "},
		{"openmetrics error", ctOpenMetrics, "a{l=\"" + long + "\"} x\n# EOF\n", "parsing exposition: "},
		{"bad help", ctText, "# HELP " + long + "\\q x\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), tc.ct, ParseOptions{}, func(metric.Family) error { return nil })
			if tc.want == "" {
				// Any answer is fine, as long as an error is short.
				if err != nil && len(err.Error()) > maxErrorLen {
					t.Errorf("error text is %d bytes: %.300s", len(err.Error()), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %.300v, want %q", err, tc.want)
			}
			if len(err.Error()) > maxErrorLen {
				t.Errorf("error text is %d bytes: %.300s", len(err.Error()), err)
			}
		})
	}
}

// TestBodySizeLimit: an input over BodySizeLimit fails with an error naming
// the limit; one at the limit is read whole.
func TestBodySizeLimit(t *testing.T) {
	body := []byte("# TYPE a gauge\na 1\nb 2\nc 3\n")
	n := int64(len(body))
	protoBody := expositiontest.EncodeProto(t, expositiontest.ProtoFamilies()...)
	for _, tc := range []struct {
		name    string
		ct      string
		body    []byte
		limit   int64
		samples int // emitted by ParseStream before the error, or all
		wantErr bool
	}{
		{"text at the limit", ctText, body, n, 3, false},
		{"text over the limit", ctText, body, n - 1, 2, true},
		{"text no limit", ctText, body, 0, 3, false},
		{"protobuf at the limit", ctProto, protoBody, int64(len(protoBody)), 12, false},
		{"protobuf over the limit", ctProto, protoBody, int64(len(protoBody)) - 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, what string, st Stats, err error, samples int) {
				t.Helper()
				if !tc.wantErr {
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					if st.Samples != tc.samples {
						t.Errorf("%s: %d samples, want %d", what, st.Samples, tc.samples)
					}
					return
				}
				if !errors.Is(err, ErrBodySizeLimit) {
					t.Fatalf("%s error %v, want ErrBodySizeLimit", what, err)
				}
				if want := "more than " + strconv.FormatInt(tc.limit, 10) + " bytes"; !strings.Contains(err.Error(), want) {
					t.Errorf("%s error %q does not name the limit (%q)", what, err, want)
				}
				if samples != st.Samples {
					t.Errorf("%s: emitted %d samples, Stats say %d", what, samples, st.Samples)
				}
			}
			opts := ParseOptions{BodySizeLimit: tc.limit}
			var samples int
			emit := func(f metric.Family) error { samples += len(f.Samples); return nil }
			st, err := ParseStream(iotest.OneByteReader(bytes.NewReader(tc.body)), tc.ct, opts, emit)
			check(t, "ParseStream", st, err, samples)
			if tc.wantErr && samples != tc.samples {
				t.Errorf("ParseStream emitted %d samples before the error, want %d", samples, tc.samples)
			}
			samples = 0
			st, err = Parse(tc.body, tc.ct, opts, emit)
			if tc.wantErr && samples != 0 {
				t.Errorf("Parse emitted %d samples of a body over the limit", samples)
			}
			check(t, "Parse", st, err, samples)
		})
	}
}

// endless is a target that never stops sending samples.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	const line = "a_sample{pod=\"x\"} 1\n"
	for i := range p {
		p[i] = line[(e.n+i)%len(line)]
	}
	e.n += len(p)
	return len(p), nil
}

// TestBodySizeLimitEndless: an endless body is read up to the limit only.
func TestBodySizeLimitEndless(t *testing.T) {
	r := &endless{}
	const limit = 1 << 20
	_, err := ParseStream(r, ctText, ParseOptions{BodySizeLimit: limit}, func(metric.Family) error { return nil })
	if !errors.Is(err, ErrBodySizeLimit) {
		t.Fatalf("error %v, want ErrBodySizeLimit", err)
	}
	if r.n > limit+1<<20 {
		t.Errorf("read %d bytes with a limit of %d", r.n, limit)
	}
}
