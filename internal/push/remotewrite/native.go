package remotewrite

import (
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// Native histograms and exemplars on the wire. They are rare next to float
// samples, so a batch keeps them aside, by series index, and the float
// encoders only look at the next one's index.

// dropNativeHistograms is the drop reason of native histogram samples for a
// destination without send_native_histograms: Prometheus does not send them
// there either (it skips them when reading its WAL); liftpush counts them.
const dropNativeHistograms = "native_histograms_not_enabled"

// batchExtra is the Extra of the batch's series i.
type batchExtra struct {
	i int
	x *metric.Extra
}

// extraAt returns the Extra of series i, given that the batch's extras
// before e belong to series before i, and the index of the next one.
func (b *batch) extraAt(i, e int) (*metric.Extra, int) {
	if e < len(b.extra) && b.extra[e].i == i {
		return b.extra[e].x, e + 1
	}
	return nil, e
}

// Stale markers of histogram series are histograms whose sum is the stale
// NaN, integer or float as the series was: what Prometheus' TSDB turns a
// stale float into for a histogram series, and so what its remote-write
// sends.
var (
	staleHistogram      = &metric.Extra{H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}}
	staleFloatHistogram = &metric.Extra{FH: &histogram.FloatHistogram{Sum: math.Float64frombits(value.StaleNaN)}}
)

// histKind is what a tracked series was: a float series (0), an integer
// or a float native histogram.
type histKind uint8

const (
	kindFloat histKind = iota
	kindHistogram
	kindFloatHistogram
)

func kindOf(x *metric.Extra) histKind {
	switch {
	case x == nil:
		return kindFloat
	case x.H != nil:
		return kindHistogram
	case x.FH != nil:
		return kindFloatHistogram
	}
	return kindFloat
}

// staleExtra is the Extra of the stale marker of a series of kind k.
func staleExtra(k histKind) *metric.Extra {
	switch k {
	case kindHistogram:
		return staleHistogram
	case kindFloatHistogram:
		return staleFloatHistogram
	}
	return nil
}

// dropNHCBv1 is the drop reason of a native histogram with custom buckets
// for a 1.0 destination without convert_nhcb_to_classic: 1.0 cannot carry
// it, and Prometheus drops it there too.
const dropNHCBv1 = "nhcb_not_supported"

// nhcbConverted says that native turned the sample into classic series.
const nhcbConverted = "converted"

// native decides what becomes of a sample with an Extra, as Prometheus'
// queue manager does: an NHCB is turned into classic series with
// convert_nhcb_to_classic (whether or not native histograms are sent), a
// native histogram is dropped without send_native_histograms, an NHCB too
// on 1.0; exemplars go only with send_exemplars. It returns the Extra to
// send, or why there is nothing more to send.
func (w *writer) native(f *metric.Family, metaDone *bool, ls labels.Labels, t int64, x *metric.Extra, track *seriesTable) (*metric.Extra, string) {
	cfg := w.c.cfg
	if isNHCB(x) {
		if cfg.NHCBToClassic {
			w.nhcbToClassic(f, metaDone, ls, t, x, track)
			return nil, nhcbConverted
		}
		if cfg.NativeHistograms && w.c.message() == config.WriteRequestV1 {
			return nil, dropNHCBv1
		}
	}
	x, ok := forDestination(x, cfg.SendExemplars, cfg.NativeHistograms)
	if !ok {
		return nil, dropNativeHistograms
	}
	return x, ""
}

func isNHCB(x *metric.Extra) bool {
	return x.H != nil && x.H.Schema == histogram.CustomBucketsSchema || x.FH != nil && x.FH.Schema == histogram.CustomBucketsSchema
}

// nhcbToClassic queues the classic series an NHCB stands for: a cumulative
// _bucket per bound and +Inf (le formatted as Prometheus' conversion does),
// _count and _sum. Each is tracked as a float series, so a vanished NHCB
// gets stale markers on exactly these.
func (w *writer) nhcbToClassic(f *metric.Family, metaDone *bool, ls labels.Labels, t int64, x *metric.Extra, track *seriesTable) {
	fh := x.FH
	if fh == nil {
		fh = x.H.ToFloat(nil)
	}
	name := ls.Get(model.MetricNameLabel)
	b := labels.NewBuilder(ls)
	counts := make([]float64, len(fh.CustomValues)+1)
	for it := fh.PositiveBucketIterator(); it.Next(); {
		bk := it.At()
		if i := int(bk.Index); i >= 0 && i < len(counts) {
			counts[i] += bk.Count
		}
	}
	cum := 0.0
	for i, c := range counts {
		cum += c
		le := math.Inf(1)
		if i < len(fh.CustomValues) {
			le = fh.CustomValues[i]
		}
		b.Set(model.MetricNameLabel, name+"_bucket")
		b.Set(model.BucketLabel, labels.FormatOpenMetricsFloat(le))
		w.put(f, metaDone, b.Labels(), cum, t, nil, track)
	}
	b.Del(model.BucketLabel)
	b.Set(model.MetricNameLabel, name+"_count")
	w.put(f, metaDone, b.Labels(), fh.Count, t, nil, track)
	b.Set(model.MetricNameLabel, name+"_sum")
	w.put(f, metaDone, b.Labels(), fh.Sum, t, nil, track)
}

// forDestination is x as this destination takes it: without exemplars
// unless send_exemplars, and ok false for a native histogram without
// send_native_histograms (the sample is then dropped).
func forDestination(x *metric.Extra, exemplars, histograms bool) (_ *metric.Extra, ok bool) {
	if x == nil {
		return nil, true
	}
	native := x.H != nil || x.FH != nil
	if native && !histograms {
		return nil, false
	}
	if len(x.Exemplars) > 0 && !exemplars {
		if !native {
			return nil, true
		}
		return &metric.Extra{H: x.H, FH: x.FH}, true
	}
	return x, true
}

// v1Histogram is x's histogram at t as remote-write 1.0 has it.
func v1Histogram(x *metric.Extra, t int64) prompb.Histogram {
	if x.H != nil {
		return prompb.FromIntHistogram(t, x.H)
	}
	return prompb.FromFloatHistogram(t, x.FH)
}

// exemplarTime is e's timestamp: an exemplar exposed without one (allowed
// on float samples) takes its sample's, as in Prometheus' scrape loop.
func exemplarTime(e *exemplar.Exemplar, t int64) int64 {
	if e.HasTs {
		return e.Ts
	}
	return t
}

// appendV1Extra appends the exemplars and the histogram of x, at t, to a
// prompb.TimeSeries being written into raw (fields 3 and 4).
func appendV1Extra(raw []byte, x *metric.Extra, t int64) []byte {
	for i := range x.Exemplars {
		e := &x.Exemplars[i]
		pe := prompb.Exemplar{Labels: prompb.FromLabels(e.Labels, nil), Value: e.Value, Timestamp: exemplarTime(e, t)}
		raw = appendMessage(raw, 3, pe.Size(), pe.MarshalToSizedBuffer)
	}
	if x.H != nil || x.FH != nil {
		h := v1Histogram(x, t)
		raw = appendMessage(raw, 4, h.Size(), h.MarshalToSizedBuffer)
	}
	return raw
}

// appendMessage appends field f holding a gogo message of size n.
func appendMessage(raw []byte, f, n int, marshal func([]byte) (int, error)) []byte {
	raw = slices.Grow(appendTag(raw, f, n), n)
	// The buffer has exactly n bytes, so marshalling cannot fail.
	_, _ = marshal(raw[len(raw) : len(raw)+n])
	return raw[:len(raw)+n]
}

// v2Extra puts the histogram and exemplars of x, at t, on series ts of a
// 2.0 request, with the exemplars' label refs in s's symbols table.
func (s *v2Scratch) v2Extra(ts *writev2.TimeSeries, x *metric.Extra, t int64) {
	switch {
	case x.H != nil:
		ts.Histograms = []writev2.Histogram{writev2.FromIntHistogram(0, t, x.H)}
		ts.Samples = nil
	case x.FH != nil:
		ts.Histograms = []writev2.Histogram{writev2.FromFloatHistogram(0, t, x.FH)}
		ts.Samples = nil
	}
	if len(x.Exemplars) == 0 {
		return
	}
	ts.Exemplars = make([]writev2.Exemplar, len(x.Exemplars))
	for i := range x.Exemplars {
		e := &x.Exemplars[i]
		refs := make([]uint32, 0, 2*e.Labels.Len())
		e.Labels.Range(func(l labels.Label) {
			refs = append(refs, s.ref(l.Name), s.ref(l.Value))
		})
		ts.Exemplars[i] = writev2.Exemplar{LabelsRefs: refs, Value: e.Value, Timestamp: exemplarTime(e, t)}
	}
}
