package pushgateway

import (
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"google.golang.org/protobuf/proto"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// Native histograms reach the Pushgateway only in protobuf: neither text
// format carries them. A group with one is pushed as
// application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited whatever the destination's format, and its native and
// classic forms share one dto.Metric, as client_golang exposes them.

// formatFor is the body format of a group: the configured one, or protobuf
// when a family holds a native histogram.
func formatFor(configured string, fams []metric.Family) string {
	if configured == config.FormatProtobuf {
		return configured
	}
	for i := range fams {
		for j := range fams[i].Samples {
			if fams[i].Samples[j].Extra != nil && fams[i].Samples[j].IsHistogram() {
				return config.FormatProtobuf
			}
		}
	}
	return configured
}

// nativeFamilyType is the wire type of a family holding native histograms.
func nativeFamilyType(f *metric.Family) model.MetricType {
	if f.Type == model.MetricTypeGaugeHistogram {
		return model.MetricTypeGaugeHistogram
	}
	return model.MetricTypeHistogram
}

// setNative fills the native fields of m from the sample's histogram. A
// histogram with custom buckets (NHCB) has no native form in the
// exposition: it becomes the classic buckets it was made from.
func setNative(m *dto.Histogram, x *metric.Extra) {
	if x.H != nil && x.H.Schema == histogram.CustomBucketsSchema || x.FH != nil && x.FH.Schema == histogram.CustomBucketsSchema {
		setCustomBuckets(m, x)
		return
	}
	if h := x.H; h != nil {
		m.SampleCount = proto.Uint64(h.Count)
		m.SampleSum = proto.Float64(h.Sum)
		m.Schema = proto.Int32(h.Schema)
		m.ZeroThreshold = proto.Float64(h.ZeroThreshold)
		m.ZeroCount = proto.Uint64(h.ZeroCount)
		m.PositiveSpan, m.NegativeSpan = dtoSpans(h.PositiveSpans), dtoSpans(h.NegativeSpans)
		m.PositiveDelta, m.NegativeDelta = h.PositiveBuckets, h.NegativeBuckets
	} else {
		fh := x.FH
		m.SampleCountFloat = proto.Float64(fh.Count)
		m.SampleSum = proto.Float64(fh.Sum)
		m.Schema = proto.Int32(fh.Schema)
		m.ZeroThreshold = proto.Float64(fh.ZeroThreshold)
		m.ZeroCountFloat = proto.Float64(fh.ZeroCount)
		m.PositiveSpan, m.NegativeSpan = dtoSpans(fh.PositiveSpans), dtoSpans(fh.NegativeSpans)
		m.PositiveCount, m.NegativeCount = fh.PositiveBuckets, fh.NegativeBuckets
	}
	if len(m.PositiveSpan) == 0 && len(m.NegativeSpan) == 0 && m.GetZeroThreshold() == 0 && m.GetZeroCount() == 0 && m.GetZeroCountFloat() == 0 {
		// An empty native histogram would read as a classic one; a
		// no-op span marks it native, as client_golang does.
		m.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
}

func setCustomBuckets(m *dto.Histogram, x *metric.Extra) {
	fh := x.FH
	if fh == nil {
		fh = x.H.ToFloat(nil)
	}
	m.SampleSum = proto.Float64(fh.Sum)
	m.SampleCount = proto.Uint64(uint64(fh.Count))
	m.Bucket = m.Bucket[:0]
	cum := 0.0
	for it := fh.PositiveBucketIterator(); it.Next(); {
		b := it.At()
		cum += b.Count
		m.Bucket = append(m.Bucket, &dto.Bucket{UpperBound: proto.Float64(b.Upper), CumulativeCount: proto.Uint64(uint64(cum))})
	}
}

func dtoSpans(spans []histogram.Span) []*dto.BucketSpan {
	if len(spans) == 0 {
		return nil
	}
	out := make([]*dto.BucketSpan, len(spans))
	for i, s := range spans {
		out[i] = &dto.BucketSpan{Offset: proto.Int32(s.Offset), Length: proto.Uint32(s.Length)}
	}
	return out
}
