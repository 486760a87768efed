package pushgateway

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra"
)

func nativeFamily() metric.Family {
	h := &histogram.Histogram{
		Count: 4, Sum: 3.5, Schema: 1, ZeroThreshold: 1e-128, ZeroCount: 1,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{2, -1},
	}
	ls := labels.FromStrings("__name__", "rt_seconds", "job", "app", "instance", "h:1", "path", "/x")
	return metric.Family{Name: "rt_seconds", Help: "Request time.", Type: model.MetricTypeHistogram, Samples: []metric.Sample{
		{Labels: ls, Extra: &metric.Extra{H: h}},
		{Labels: labels.FromStrings("__name__", "rt_seconds_bucket", "job", "app", "instance", "h:1", "path", "/x", "le", "1"), Value: 3},
		{Labels: labels.FromStrings("__name__", "rt_seconds_bucket", "job", "app", "instance", "h:1", "path", "/x", "le", "+Inf"), Value: 4},
		{Labels: labels.FromStrings("__name__", "rt_seconds_sum", "job", "app", "instance", "h:1", "path", "/x"), Value: 3.5},
		{Labels: labels.FromStrings("__name__", "rt_seconds_count", "job", "app", "instance", "h:1", "path", "/x"), Value: 4},
	}}
}

// TestE2EPushgatewayNativeHistogram pushes a native histogram (with its
// classic buckets) to the real Pushgateway through a text-format
// destination: the group goes as protobuf, and the Pushgateway exposes the
// same histogram back.
func TestE2EPushgatewayNativeHistogram(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	c, _ := newTestClient(t, pgw.URL, func(c *config.PushgatewayConfig) { c.Format = config.FormatText })
	rep := deliver(t, c, metric.Group{Collector: "scrape/app", Up: true, Families: []metric.Family{nativeFamily()}})
	if rep.Err != nil || rep.Sent != 5 {
		t.Fatalf("report %+v, want 5 samples sent", rep)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, pgw.URL+"/metrics", nil)
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
	var got *dto.MetricFamily
	r := bytes.NewReader(body)
	for {
		mf := &dto.MetricFamily{}
		if err := protodelim.UnmarshalFrom(r, mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding the Pushgateway's /metrics: %v", err)
		}
		if mf.GetName() == "rt_seconds" {
			got = mf
		}
	}
	if got == nil {
		t.Fatalf("rt_seconds not in the Pushgateway's /metrics")
	}
	if got.GetType() != dto.MetricType_HISTOGRAM || len(got.Metric) != 1 {
		t.Fatalf("rt_seconds = %v, want one histogram", got)
	}
	h := got.Metric[0].GetHistogram()
	want := &dto.Histogram{}
	setNative(want, nativeFamily().Samples[0].Extra)
	want.Bucket = []*dto.Bucket{{UpperBound: ptr(1.0), CumulativeCount: ptr[uint64](3)}, {UpperBound: ptr(posInf), CumulativeCount: ptr[uint64](4)}}
	if diff := cmp.Diff(want, h, protocmp.Transform(), protocmp.IgnoreFields(&dto.Histogram{}, "created_timestamp")); diff != "" {
		t.Errorf("histogram read back (-want +got):\n%s", diff)
	}
}

var posInf = math.Inf(1)

func ptr[T any](v T) *T { return &v }

// A group goes as protobuf only when it holds a native histogram; an NHCB
// goes as the classic buckets it stands for, the exposition having no
// custom-bucket form.
func TestNativeEncoding(t *testing.T) {
	plain := []metric.Family{gauge("g", 1, "job", "x")}
	if f := formatFor(config.FormatText, plain); f != config.FormatText {
		t.Errorf("format of a float group = %q, want text", f)
	}
	if f := formatFor(config.FormatText, []metric.Family{nativeFamily()}); f != config.FormatProtobuf {
		t.Errorf("format of a native group = %q, want protobuf", f)
	}
	nhcb := &histogram.Histogram{
		Count: 4, Sum: 2.5, Schema: histogram.CustomBucketsSchema,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 1, -1},
		CustomValues: []float64{0.5, 1},
	}
	f := metric.Family{Name: "rt", Type: model.MetricTypeHistogram, Samples: []metric.Sample{{Labels: labels.FromStrings("__name__", "rt"), Extra: &metric.Extra{H: nhcb}}}}
	got := toDTO(&f).Metric[0].GetHistogram()
	want := &dto.Histogram{SampleCount: ptr[uint64](4), SampleSum: ptr(2.5), Bucket: []*dto.Bucket{
		{UpperBound: ptr(0.5), CumulativeCount: ptr[uint64](1)},
		{UpperBound: ptr(1.0), CumulativeCount: ptr[uint64](3)},
		{UpperBound: ptr(posInf), CumulativeCount: ptr[uint64](4)},
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("NHCB as dto (-want +got):\n%s", diff)
	}
}
