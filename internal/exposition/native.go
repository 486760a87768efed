package exposition

import (
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/liftpush/liftpush/internal/metric"
)

// newHistogramExtra holds a native histogram read by textparse, after the
// checks Prometheus' TSDB makes when it appends one (spans against buckets,
// counts, custom bounds): an invalid histogram fails the scrape there, and
// would make encoders walk buckets that do not exist here. The parsers may
// hand out histograms they keep (the NHCB parser caches its last one), so
// the sample gets its own copy.
func newHistogramExtra(h *histogram.Histogram, fh *histogram.FloatHistogram) (*metric.Extra, error) {
	switch {
	case h != nil:
		if err := h.Validate(); err != nil {
			return nil, err
		}
		return &metric.Extra{H: h.Copy()}, nil
	case fh != nil:
		if err := fh.Validate(); err != nil {
			return nil, err
		}
		return &metric.Extra{FH: fh.Copy()}, nil
	}
	return nil, nil
}

// readExemplars adds the exemplars textparse has for the current entry to
// x, allocating it only when there is one. As in Prometheus' scrape loop,
// an exemplar of a native histogram without a timestamp is dropped (the
// spec requires one there); a float sample's exemplar without one keeps
// HasTs false and takes the sample's time when it is sent.
//
// e is scratch space, hoisted out of the parse loop: it escapes to the heap
// through the Parser interface, and one allocation per parse beats one per
// sample.
func readExemplars(p textparse.Parser, x *metric.Extra, e *exemplar.Exemplar) *metric.Extra {
	native := x != nil && (x.H != nil || x.FH != nil)
	for p.Exemplar(e) {
		if !e.HasTs && native {
			*e = exemplar.Exemplar{}
			continue
		}
		if x == nil {
			x = &metric.Extra{}
		}
		x.Exemplars = append(x.Exemplars, *e)
		*e = exemplar.Exemplar{}
	}
	return x
}
