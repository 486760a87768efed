package remotewrite

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// v2Scratch holds a batch's 2.0 request between encodings, so a batch costs
// no allocations once its buffers have grown.
type v2Scratch struct {
	symbols []string
	refs    map[string]uint32
	labels  []uint32 // two refs per label, series after series
	ends    []int    // end offset in labels of each series
	// cur and prev are the labels of the series being encoded and of the
	// one before, whose refs start at labels[prevStart].
	cur, prev []labels.Label
	prevStart int
	samples   []writev2.Sample
	series    []writev2.TimeSeries
	metas     []writev2.Metadata
}

// encodeV2 marshals the batch into a snappy-compressed remote-write 2.0
// Request (io.prometheus.write.v2.Request): every string once in the
// symbols table, "" first as the spec requires; label refs in the order of
// the batch's labels, which labels.Labels keeps sorted by name; type, help
// and unit on every series. Start timestamps stay zero (unset): the spec
// redefined them in rc.4 and receivers disagree on their meaning.
func encodeV2(b *batch) []byte {
	s := &b.v2
	s.reset()
	for _, m := range b.fams {
		s.metas = append(s.metas, writev2.Metadata{Type: v2Types[m.Type], HelpRef: s.ref(m.Help), UnitRef: s.ref(m.Unit)})
	}
	s.labels = s.labels[:0]
	for i, ls := range b.series {
		start, k := len(s.labels), 0
		s.cur = s.cur[:0]
		ls.Range(func(l labels.Label) {
			// Neighbouring series mostly share names and many values at
			// the same position: comparing with the previous series is
			// cheaper than a map lookup.
			same := k < len(s.prev)
			if same && s.prev[k].Name == l.Name {
				s.labels = append(s.labels, s.labels[s.prevStart+2*k])
			} else {
				s.labels = append(s.labels, s.ref(l.Name))
			}
			if same && s.prev[k].Value == l.Value {
				s.labels = append(s.labels, s.labels[s.prevStart+2*k+1])
			} else {
				s.labels = append(s.labels, s.ref(l.Value))
			}
			s.cur = append(s.cur, l)
			k++
		})
		s.prev, s.cur, s.prevStart = s.cur, s.prev, start
		s.ends = append(s.ends, len(s.labels))
		s.samples = append(s.samples, writev2.Sample{Value: b.samples[i].Value, Timestamp: b.samples[i].Timestamp})
		var meta writev2.Metadata
		if i < len(b.fam) && b.fam[i] >= 0 {
			meta = s.metas[b.fam[i]]
		}
		s.series = append(s.series, writev2.TimeSeries{Metadata: meta})
	}
	// s.labels is complete only now.
	start := 0
	for i := range s.series {
		s.series[i].LabelsRefs = s.labels[start:s.ends[i]]
		s.series[i].Samples = s.samples[i : i+1]
		start = s.ends[i]
	}
	for _, e := range b.extra {
		s.v2Extra(&s.series[e.i], e.x, b.samples[e.i].Timestamp)
	}
	req := writev2.Request{Symbols: s.symbols, Timeseries: s.series}
	return b.compress(req.Size(), req.OptimizedMarshalToSizedBuffer)
}

func (s *v2Scratch) reset() {
	if s.refs == nil {
		s.refs = map[string]uint32{}
	}
	clear(s.refs)
	s.refs[""] = 0
	s.symbols = append(s.symbols[:0], "")
	s.samples, s.metas, s.ends, s.prev = s.samples[:0], s.metas[:0], s.ends[:0], s.prev[:0]
	clear(s.series) // drop references into the previous batch
	s.series = s.series[:0]
}

// ref returns str's index in the symbols table, adding it if new.
func (s *v2Scratch) ref(str string) uint32 {
	if r, ok := s.refs[str]; ok {
		return r
	}
	r := uint32(len(s.symbols))
	s.symbols = append(s.symbols, str)
	s.refs[str] = r
	return r
}

// v2Types maps 1.0 metadata types (which metadataOf fills in) to 2.0's.
var v2Types = map[prompb.MetricMetadata_MetricType]writev2.Metadata_MetricType{
	prompb.MetricMetadata_COUNTER:        writev2.Metadata_METRIC_TYPE_COUNTER,
	prompb.MetricMetadata_GAUGE:          writev2.Metadata_METRIC_TYPE_GAUGE,
	prompb.MetricMetadata_HISTOGRAM:      writev2.Metadata_METRIC_TYPE_HISTOGRAM,
	prompb.MetricMetadata_GAUGEHISTOGRAM: writev2.Metadata_METRIC_TYPE_GAUGEHISTOGRAM,
	prompb.MetricMetadata_SUMMARY:        writev2.Metadata_METRIC_TYPE_SUMMARY,
	prompb.MetricMetadata_INFO:           writev2.Metadata_METRIC_TYPE_INFO,
	prompb.MetricMetadata_STATESET:       writev2.Metadata_METRIC_TYPE_STATESET,
}
