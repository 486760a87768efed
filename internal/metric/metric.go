// Package metric is the small data model every collector produces and every
// destination consumes: metric families of samples.
//
// Classic histograms and summaries are stored flattened into their _bucket,
// _sum, _count (and quantile) series, which is what remote-write 1.0 and the
// Pushgateway text format carry. A native histogram is one sample of the
// family's own name whose Extra holds it. Keeping one sample shape makes the
// hot path (one million float samples from a file) a plain slice walk.
package metric

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Family is one metric family: its metadata and its samples. A Family is not
// safe for concurrent mutation; collectors build it, then hand it over and
// never touch it again.
type Family struct {
	// Name is the family name (for a histogram "x", its series are x_bucket,
	// x_sum and x_count).
	Name string
	Help string
	Type model.MetricType
	Unit string
	// Samples are in the order they were produced. Each sample's labels
	// carry its own __name__.
	Samples []Sample
	// Untracked series get no stale marker when they vanish: a scrape's
	// samples that carry the target's own timestamps, as Prometheus does
	// unless track_timestamps_staleness is true.
	Untracked bool
}

// Sample is one value of one series. Labels include __name__ and are sorted
// (labels.Labels keeps them so).
type Sample struct {
	Labels labels.Labels
	Value  float64
	// T is the timestamp in milliseconds since the epoch; 0 means "the time of
	// the cycle" and is filled in by the pipeline before delivery.
	T int64
	// Extra is nil for a float sample without exemplars, which is nearly
	// every sample: one pointer keeps the float path's Sample at 40 bytes
	// instead of carrying two histogram pointers and a slice in each.
	Extra *Extra
}

// Extra is what a sample carries beyond a float value. It is shared, never
// mutated, once the sample is built: relabelling copies the Sample, not it.
type Extra struct {
	// H or FH, at most one of them, makes the sample a native histogram;
	// Value is then meaningless. As in Prometheus' storage.Appender, a
	// histogram with integer counts (what client_golang exposes) stays a
	// *histogram.Histogram, so a receiver stores it exactly as its own
	// scrape of the target would (an integer histogram chunk, counts exact
	// past 2^53); float counts (gauge histograms, OTel) are FH.
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
	// Exemplars are the sample's exemplars, in exposition order.
	Exemplars []exemplar.Exemplar
}

// IsHistogram tells whether s is a native histogram sample.
func (s *Sample) IsHistogram() bool {
	return s.Extra != nil && (s.Extra.H != nil || s.Extra.FH != nil)
}

// FloatHistogram returns s's native histogram as a float histogram (a
// copy for an integer one), or nil when s is a float sample.
func (s *Sample) FloatHistogram() *histogram.FloatHistogram {
	switch {
	case s.Extra == nil:
		return nil
	case s.Extra.FH != nil:
		return s.Extra.FH
	case s.Extra.H != nil:
		return s.Extra.H.ToFloat(nil)
	}
	return nil
}

// Exemplars returns s's exemplars, nil when it has none.
func (s *Sample) Exemplars() []exemplar.Exemplar {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.Exemplars
}

// Group is what one collector produced in one cycle, together with the
// self-metrics that describe that collection. Destinations that keep state
// per source (the Pushgateway) use it as their unit; the others flatten it.
type Group struct {
	// Collector names the source, e.g. "spacelift" or "scrape/chainloop".
	// The empty name holds process-wide series such as liftpush_build_info.
	Collector string
	// Up is false when the collector failed, fully or partly.
	Up bool
	// Families is the collected data; possibly partial when Up is false.
	Families []Family
	// Self holds the liftpush_collector_* series about this collection.
	Self []Family
}

// Samples counts the samples of families.
func Samples(families []Family) int {
	n := 0
	for i := range families {
		n += len(families[i].Samples)
	}
	return n
}

// Gauge builds a single-sample gauge family; a convenience for collectors
// whose families are mostly one series.
func Gauge(name, help string, value float64, lbls labels.Labels) Family {
	return Family{Name: name, Help: help, Type: model.MetricTypeGauge, Samples: []Sample{
		{Labels: WithName(name, lbls), Value: value},
	}}
}

// WithName returns lbls with __name__ set to name.
func WithName(name string, lbls labels.Labels) labels.Labels {
	b := labels.NewBuilder(lbls)
	b.Set(model.MetricNameLabel, name)
	return b.Labels()
}
