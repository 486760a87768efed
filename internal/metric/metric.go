// Package metric is the small data model every collector produces and every
// destination consumes: metric families of float samples.
//
// Histograms and summaries are stored flattened into their _bucket, _sum,
// _count (and quantile) series, which is what remote-write 1.0 and the
// Pushgateway text format carry. Keeping one sample shape makes the hot path
// (one million samples from a file) a plain slice walk.
package metric

import (
	"github.com/prometheus/common/model"
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
}

// Sample is one value of one series. Labels include __name__ and are sorted
// (labels.Labels keeps them so).
type Sample struct {
	Labels labels.Labels
	Value  float64
	// T is the timestamp in milliseconds since the epoch; 0 means "the time of
	// the cycle" and is filled in by the pipeline before delivery.
	T int64
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
