// Package expositiontest holds helpers for tests that need exposition
// bodies, shared by the tests of exposition and of the scrapers that read
// it.
package expositiontest

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// EncodeProto encodes mfs in the delimited protobuf format a target sends.
func EncodeProto(t testing.TB, mfs ...*dto.MetricFamily) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encoding %s: %v", mf.GetName(), err)
		}
	}
	return buf.Bytes()
}

// ProtoFamilies are a counter, a gauge, a histogram and a summary family.
func ProtoFamilies() []*dto.MetricFamily {
	lp := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)} }
	return []*dto.MetricFamily{
		{
			Name: proto.String("requests_total"), Help: proto.String("Requests."), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{
				{Label: []*dto.LabelPair{lp("code", "200")}, Counter: &dto.Counter{Value: proto.Float64(10)}},
				{Label: []*dto.LabelPair{lp("code", "500")}, Counter: &dto.Counter{Value: proto.Float64(1)}},
			},
		},
		{
			Name: proto.String("queue_depth"), Help: proto.String("Depth."), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(3)}, TimestampMs: proto.Int64(1700000000000)}},
		},
		{
			Name: proto.String("rpc_seconds"), Help: proto.String("RPC latency."), Type: dto.MetricType_HISTOGRAM.Enum(),
			Metric: []*dto.Metric{{Histogram: &dto.Histogram{
				SampleCount: proto.Uint64(3), SampleSum: proto.Float64(0.6),
				Bucket: []*dto.Bucket{
					{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(1)},
					{UpperBound: proto.Float64(0.5), CumulativeCount: proto.Uint64(2)},
				},
			}}},
		},
		{
			Name: proto.String("gc_seconds"), Help: proto.String("GC pauses."), Type: dto.MetricType_SUMMARY.Enum(),
			Metric: []*dto.Metric{{Summary: &dto.Summary{
				SampleCount: proto.Uint64(4), SampleSum: proto.Float64(2),
				Quantile: []*dto.Quantile{
					{Quantile: proto.Float64(0.5), Value: proto.Float64(0.4)},
					{Quantile: proto.Float64(0.99), Value: proto.Float64(0.9)},
				},
			}}},
		},
	}
}
