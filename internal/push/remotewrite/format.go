package remotewrite

import (
	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// format is one remote-write protobuf message: how a batch becomes a request
// body, and the headers that say what the body is. Adding a message (2.0)
// means one encode function and one entry in formats.
type format struct {
	contentType string
	version     string
	// encode returns the snappy-compressed body of b, reusing b's buffers;
	// the result is valid until b is reset.
	encode func(b *batch) []byte
}

var formats = map[string]format{
	config.WriteRequestV1: {contentType: "application/x-protobuf", version: "0.1.0", encode: encodeV1},
}

// batch is one request in the making, independent of the wire format.
// Labels and samples live in two slabs so a batch of thousands of series
// costs a handful of allocations.
type batch struct {
	labels  []prompb.Label
	ends    []int // end offset in labels of each series
	samples []prompb.Sample
	// meta holds the metadata of families first seen in this batch.
	meta []prompb.MetricMetadata

	series []prompb.TimeSeries
	raw    []byte
	comp   []byte
}

func (b *batch) reset() {
	b.labels, b.ends, b.samples, b.meta = b.labels[:0], b.ends[:0], b.samples[:0], b.meta[:0]
	clear(b.series)
}

// encodeV1 marshals the batch into a snappy-compressed prompb.WriteRequest.
// The TimeSeries are assembled from the slabs just before encoding.
func encodeV1(b *batch) []byte {
	b.series = b.series[:0]
	start := 0
	for i, end := range b.ends {
		b.series = append(b.series, prompb.TimeSeries{Labels: b.labels[start:end], Samples: b.samples[i : i+1]})
		start = end
	}
	req := prompb.WriteRequest{Timeseries: b.series, Metadata: b.meta}
	size := req.Size()
	if cap(b.raw) < size {
		b.raw = make([]byte, size)
	}
	b.raw = b.raw[:size]
	// MarshalToSizedBuffer cannot fail for a buffer of exactly Size().
	_, _ = req.MarshalToSizedBuffer(b.raw)
	b.comp = snappy.Encode(b.comp[:cap(b.comp)], b.raw)
	return b.comp
}

// metadataTypes maps family types to remote-write metadata types; anything
// else is UNKNOWN.
var metadataTypes = map[model.MetricType]prompb.MetricMetadata_MetricType{
	model.MetricTypeCounter:        prompb.MetricMetadata_COUNTER,
	model.MetricTypeGauge:          prompb.MetricMetadata_GAUGE,
	model.MetricTypeHistogram:      prompb.MetricMetadata_HISTOGRAM,
	model.MetricTypeGaugeHistogram: prompb.MetricMetadata_GAUGEHISTOGRAM,
	model.MetricTypeSummary:        prompb.MetricMetadata_SUMMARY,
	model.MetricTypeInfo:           prompb.MetricMetadata_INFO,
	model.MetricTypeStateset:       prompb.MetricMetadata_STATESET,
}

func metadataOf(f *metric.Family) prompb.MetricMetadata {
	return prompb.MetricMetadata{Type: metadataTypes[f.Type], MetricFamilyName: f.Name, Help: f.Help, Unit: f.Unit}
}
