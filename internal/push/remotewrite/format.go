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
	// written says the receiver reports what it stored in the
	// X-Prometheus-Remote-Write-*-Written headers. Only 2.0 has them: on
	// 1.0 they are ignored, since Prometheus 3.8.0 wrongly sent 0 there.
	written bool
	// encode returns the snappy-compressed body of b, reusing b's buffers;
	// the result is valid until b is reset.
	encode func(b *batch) []byte
}

var formats = map[string]format{
	config.WriteRequestV1: {contentType: "application/x-protobuf", version: "0.1.0", encode: encodeV1},
	config.WriteRequestV2: {contentType: "application/x-protobuf;proto=" + config.WriteRequestV2, version: "2.0.0", written: true, encode: encodeV2},
}

// batch is one request in the making, independent of the wire format.
// Labels and samples live in two slabs so a batch of thousands of series
// costs a handful of allocations.
type batch struct {
	labels  []prompb.Label
	ends    []int // end offset in labels of each series
	samples []prompb.Sample
	// meta holds the metadata of families first seen in this batch (1.0
	// sends it once per family and delivery).
	meta []prompb.MetricMetadata
	// fams is the metadata of every family with series in this batch and
	// fam the index into it of each series (2.0 sends metadata per series);
	// -1, or past the end of fam, for a series added without noteFamily.
	fams []prompb.MetricMetadata
	fam  []int32

	// kept is set when the batch's last send failed and its body stayed
	// in the spool for a later delivery.
	kept bool
	// onDisk says body was written ahead to the spool as seq, encoded as
	// msg, and not sent yet (writeAhead).
	onDisk bool
	seq    uint64
	msg    string
	body   []byte

	series []prompb.TimeSeries
	v2     v2Scratch
	raw    []byte
	comp   []byte
}

func (b *batch) reset() {
	b.labels, b.ends, b.samples, b.meta = b.labels[:0], b.ends[:0], b.samples[:0], b.meta[:0]
	b.fams, b.fam = b.fams[:0], b.fam[:0]
	b.kept, b.onDisk, b.body = false, false, nil
	clear(b.series)
}

// noteFamily records that the series added last belongs to f; nil (a
// stale marker) means no family and no metadata.
func (b *batch) noteFamily(f *metric.Family) {
	for len(b.fam) < len(b.ends)-1 {
		b.fam = append(b.fam, -1)
	}
	if f == nil {
		b.fam = append(b.fam, -1)
		return
	}
	if n := len(b.fams); n == 0 || b.fams[n-1].MetricFamilyName != f.Name {
		b.fams = append(b.fams, metadataOf(f))
	}
	b.fam = append(b.fam, int32(len(b.fams)-1))
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
	return b.compress(req.Size(), req.MarshalToSizedBuffer)
}

// compress marshals a request of size bytes into b.raw and snappy-compresses
// it into b.comp, reusing both buffers; every encoder ends here.
func (b *batch) compress(size int, marshal func([]byte) (int, error)) []byte {
	if cap(b.raw) < size {
		b.raw = make([]byte, size)
	}
	b.raw = b.raw[:size]
	// The buffer has exactly size bytes, so marshalling cannot fail.
	_, _ = marshal(b.raw)
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
