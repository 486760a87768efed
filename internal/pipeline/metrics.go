package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// reloadState is the outcome of the last configuration load, reported under
// Prometheus' own names.
type reloadState struct {
	ok bool
	at time.Time // last successful load
}

// SetReload records the outcome of a configuration load.
func (p *Pipeline) SetReload(ok bool, at time.Time) {
	p.selfMu.Lock()
	defer p.selfMu.Unlock()
	p.reload.ok = ok
	if ok {
		p.reload.at = at
	}
}

// reloadSelf renders the reload state; nothing before the first load.
func (p *Pipeline) reloadSelf() []metric.Family {
	p.selfMu.Lock()
	r := p.reload
	p.selfMu.Unlock()
	if r.at.IsZero() {
		return nil
	}
	ok := 0.0
	if r.ok {
		ok = 1
	}
	return []metric.Family{
		metric.Gauge("liftpush_config_last_reload_successful", "Whether the last configuration reload attempt was successful.", ok, labels.EmptyLabels()),
		metric.Gauge("liftpush_config_last_reload_success_timestamp_seconds", "Timestamp of the last successful configuration reload.", float64(r.at.UnixMilli())/1000, labels.EmptyLabels()),
	}
}

// keepSelf remembers a cycle's self-metrics for /metrics.
func (p *Pipeline) keepSelf(fams []metric.Family) {
	p.selfMu.Lock()
	p.lastOut = fams
	p.selfMu.Unlock()
}

// Metrics exposes liftpush's self-metrics to a Prometheus that can scrape
// it (--web.listen-address): the last cycle's, except the reload state,
// which is current. It is an unchecked collector: the series depend on the
// configured collectors and destinations.
func (p *Pipeline) Metrics() prometheus.Collector { return selfCollector{p} }

type selfCollector struct{ p *Pipeline }

func (selfCollector) Describe(chan<- *prometheus.Desc) {}

func (c selfCollector) Collect(ch chan<- prometheus.Metric) {
	c.p.selfMu.Lock()
	fams := c.p.lastOut
	c.p.selfMu.Unlock()
	live := c.p.reloadSelf()
	skip := map[string]bool{}
	for _, f := range live {
		skip[f.Name] = true
	}
	for _, f := range live {
		emit(ch, f)
	}
	for _, f := range fams {
		if !skip[f.Name] {
			emit(ch, f)
		}
	}
}

// emit sends f's samples as constant metrics of f's type.
func emit(ch chan<- prometheus.Metric, f metric.Family) {
	vt := prometheus.UntypedValue
	switch f.Type {
	case model.MetricTypeGauge:
		vt = prometheus.GaugeValue
	case model.MetricTypeCounter:
		vt = prometheus.CounterValue
	}
	for _, s := range f.Samples {
		var names, values []string
		s.Labels.Range(func(l labels.Label) {
			if l.Name != model.MetricNameLabel {
				names = append(names, l.Name)
				values = append(values, l.Value)
			}
		})
		desc := prometheus.NewDesc(f.Name, f.Help, names, nil)
		m, err := prometheus.NewConstMetric(desc, vt, s.Value, values...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
}
