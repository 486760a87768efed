package pipeline

// liftpush's self-metrics (DESIGN.md section 4): what each collection,
// delivery, reload and spool did, pushed with the data and served on
// /metrics. Nobody scrapes a CronJob, so these are how a user sees a part
// fail.

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/shard"
)

// collectorSelf builds the self-metrics of one collection (DESIGN.md section
// 4). Nobody scrapes liftpush, so these are how a user sees a collector fail.
// The success timestamp is only present once the collector has succeeded,
// so a failed run never pretends to be fresh.
func collectorSelf(o Outcome, lastSuccess float64) []metric.Family {
	ls := labels.FromStrings("collector", o.Collector)
	up := 0.0
	if o.Err == nil {
		up = 1
	}
	fams := []metric.Family{
		metric.Gauge("liftpush_collector_up", "1 if the collector's last run succeeded, 0 if it failed or was partial.", up, ls),
		metric.Gauge("liftpush_collector_duration_seconds", "How long the collector's last run took.", o.Duration.Seconds(), ls),
		metric.Gauge("liftpush_collector_samples", "Samples the collector's last run produced.", float64(o.Samples), ls),
	}
	if lastSuccess > 0 {
		fams = append(fams, metric.Gauge("liftpush_last_success_timestamp_seconds", "Unix time of the collector's last successful run.", lastSuccess, ls))
	}
	return fams
}

// BuildInfo is liftpush_build_info, in the shape of prometheus/common's
// version collector.
func BuildInfo() metric.Family {
	return metric.Gauge("liftpush_build_info",
		"A metric with a constant '1' value labeled by version, revision, branch, and goversion from which liftpush was built.",
		1, labels.FromStrings(
			"version", version.Version,
			"revision", version.GetRevision(),
			"branch", version.Branch,
			"goversion", version.GoVersion,
		))
}

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

// destinationState is what the pipeline remembers of one destination
// between cycles, to report it in the next cycle's process group.
type destinationState struct {
	sent        int
	dropped     map[string]int // every reason ever seen, 0 when not in the last delivery
	lastSuccess float64        // Unix seconds, 0 before the first success
	spoolDrops  map[string]int // total since start, by reason
}

// recordDeliveries keeps the reports of this cycle for the self-metrics of
// the next one.
func (p *Pipeline) recordDeliveries(reports []push.Report, at time.Time) {
	if p.destStates == nil {
		p.destStates = map[string]*destinationState{}
	}
	for _, r := range reports {
		st := p.destStates[r.Destination]
		if st == nil {
			st = &destinationState{dropped: map[string]int{}}
			p.destStates[r.Destination] = st
		}
		st.sent = r.Sent
		// Reasons seen before stay, at 0, so their series do not vanish
		// (and go stale) when a delivery drops nothing.
		for reason := range st.dropped {
			st.dropped[reason] = 0
		}
		maps.Copy(st.dropped, r.Dropped)
		for reason, n := range r.Dropped {
			if strings.HasPrefix(reason, spoolDropPrefix) {
				if st.spoolDrops == nil {
					st.spoolDrops = map[string]int{}
				}
				st.spoolDrops[strings.TrimPrefix(reason, spoolDropPrefix)] += n
			}
		}
		if r.Err == nil {
			st.lastSuccess = float64(at.UnixMilli()) / 1000
		}
	}
}

// destinationSelf renders the remembered delivery results. They describe
// the previous cycle's delivery: this cycle's is not done when its data is
// sent. A first cycle (and so every "run --once") has none.
func (p *Pipeline) destinationSelf() []metric.Family {
	if len(p.destStates) == 0 {
		return nil
	}
	sent := metric.Family{Name: "liftpush_destination_samples_sent", Help: "Samples the destination accepted in liftpush's previous delivery.", Type: model.MetricTypeGauge}
	dropped := metric.Family{Name: "liftpush_destination_samples_dropped", Help: "Samples liftpush's previous delivery dropped for the destination, by reason.", Type: model.MetricTypeGauge}
	last := metric.Family{Name: "liftpush_destination_last_success_timestamp_seconds", Help: "Unix time of the destination's last delivery without any failure.", Type: model.MetricTypeGauge}
	for _, name := range slices.Sorted(maps.Keys(p.destStates)) {
		st := p.destStates[name]
		ls := labels.FromStrings("destination", name)
		sent.Samples = append(sent.Samples, metric.Sample{Labels: metric.WithName(sent.Name, ls), Value: float64(st.sent)})
		for _, reason := range slices.Sorted(maps.Keys(st.dropped)) {
			dl := labels.FromStrings("destination", name, "reason", reason)
			dropped.Samples = append(dropped.Samples, metric.Sample{Labels: metric.WithName(dropped.Name, dl), Value: float64(st.dropped[reason])})
		}
		if st.lastSuccess > 0 {
			last.Samples = append(last.Samples, metric.Sample{Labels: metric.WithName(last.Name, ls), Value: st.lastSuccess})
		}
	}
	out := []metric.Family{sent}
	if len(dropped.Samples) > 0 {
		out = append(out, dropped)
	}
	if len(last.Samples) > 0 {
		out = append(out, last)
	}
	return out
}

// spoolDropPrefix marks the drop reasons of a spool's limits in reports
// ("spool_max_size"); they are also counted in
// liftpush_spool_dropped_samples_total.
const spoolDropPrefix = "spool_"

// spoolSelf renders what the destinations' spools hold now, at the start
// of a cycle: a run --once process reports the backlog it inherited.
func (p *Pipeline) spoolSelf(now time.Time) []metric.Family {
	records := metric.Family{Name: "liftpush_spool_records", Help: "Requests waiting in the destination's spool.", Type: model.MetricTypeGauge}
	size := metric.Family{Name: "liftpush_spool_bytes", Help: "Bytes of the requests waiting in the destination's spool.", Type: model.MetricTypeGauge}
	age := metric.Family{Name: "liftpush_spool_oldest_record_age_seconds", Help: "Age of the oldest request in the destination's spool; 0 when it is empty.", Type: model.MetricTypeGauge}
	dropped := metric.Family{Name: "liftpush_spool_dropped_samples_total", Help: "Samples dropped from the destination's spool by its limits, by reason, since liftpush started.", Type: model.MetricTypeCounter}
	corrupt := metric.Family{Name: "liftpush_spool_corrupt_records_total", Help: "Records and state files of the destination's spool that failed verification and were moved to corrupt/, since liftpush started.", Type: model.MetricTypeCounter}
	for _, d := range p.destinations {
		state := d.Stats().Spool
		if state == nil {
			continue
		}
		name := d.Name()
		var drops map[string]int
		if st := p.destStates[name]; st != nil {
			drops = st.spoolDrops
		}
		ls := labels.FromStrings("destination", name)
		records.Samples = append(records.Samples, metric.Sample{Labels: metric.WithName(records.Name, ls), Value: float64(state.Records)})
		size.Samples = append(size.Samples, metric.Sample{Labels: metric.WithName(size.Name, ls), Value: float64(state.Bytes)})
		a := 0.0
		if !state.Oldest.IsZero() {
			a = max(now.Sub(state.Oldest).Seconds(), 0)
		}
		age.Samples = append(age.Samples, metric.Sample{Labels: metric.WithName(age.Name, ls), Value: a})
		corrupt.Samples = append(corrupt.Samples, metric.Sample{Labels: metric.WithName(corrupt.Name, ls), Value: float64(state.Corrupt)})
		for _, reason := range []string{"max_age", "max_size"} {
			dl := labels.FromStrings("destination", name, "reason", reason)
			dropped.Samples = append(dropped.Samples, metric.Sample{Labels: metric.WithName(dropped.Name, dl), Value: float64(drops[reason])})
		}
	}
	if len(records.Samples) == 0 {
		return nil
	}
	return []metric.Family{records, size, age, dropped, corrupt}
}

// withShard labels self-metrics with shard and total_shards when the work
// is sharded: N replicas report the same series otherwise, and a missing
// shard could not be told from a present one (issue 20). count by
// (total_shards) of liftpush_build_info below total_shards is that alert.
// An unsharded liftpush keeps the series it always had.
func withShard(fams []metric.Family, o shard.Owner) []metric.Family {
	if !o.Sharded() {
		return fams
	}
	shardValue, total := strconv.Itoa(o.Shard), strconv.Itoa(o.Total)
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range fams {
		for j := range fams[i].Samples {
			s := &fams[i].Samples[j]
			lb.Reset(s.Labels)
			lb.Set("shard", shardValue)
			lb.Set("total_shards", total)
			s.Labels = lb.Labels()
		}
	}
	return fams
}
