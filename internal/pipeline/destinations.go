package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// closer is a destination with work to do at graceful shutdown (the
// Pushgateway's delete_on_shutdown).
type closer interface {
	Close(ctx context.Context) error
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
	if p.destinations == nil {
		p.destinations = map[string]*destinationState{}
	}
	for _, r := range reports {
		st := p.destinations[r.Destination]
		if st == nil {
			st = &destinationState{dropped: map[string]int{}}
			p.destinations[r.Destination] = st
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
	if len(p.destinations) == 0 {
		return nil
	}
	sent := metric.Family{Name: "liftpush_destination_samples_sent", Help: "Samples the destination accepted in liftpush's previous delivery.", Type: model.MetricTypeGauge}
	dropped := metric.Family{Name: "liftpush_destination_samples_dropped", Help: "Samples liftpush's previous delivery dropped for the destination, by reason.", Type: model.MetricTypeGauge}
	last := metric.Family{Name: "liftpush_destination_last_success_timestamp_seconds", Help: "Unix time of the destination's last delivery without any failure.", Type: model.MetricTypeGauge}
	for _, name := range slices.Sorted(maps.Keys(p.destinations)) {
		st := p.destinations[name]
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

// Close lets every destination finish at graceful shutdown (for now: the
// Pushgateway's delete_on_shutdown). Call it after the last cycle, with a
// fresh context: the run's own is cancelled by then.
func (p *Pipeline) Close(ctx context.Context) error {
	var errs []error
	for _, d := range p.Destinations {
		if c, ok := d.(closer); ok {
			if err := c.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("destination %s: %w", d.Name(), err))
			}
		}
	}
	if p.spool != nil {
		if err := p.spool.Close(); err != nil {
			errs = append(errs, fmt.Errorf("spool: %w", err))
		}
	}
	return errors.Join(errs...)
}

// spoolDropPrefix marks the drop reasons of a spool's limits in reports
// ("spool_max_size"); they are also counted in
// liftpush_spool_dropped_samples_total.
const spoolDropPrefix = "spool_"

// spooler is a destination with a spool.
type spooler interface {
	SpoolState() (push.SpoolState, bool)
}

// spoolSelf renders what the destinations' spools hold now, at the start
// of a cycle: a run --once process reports the backlog it inherited.
func (p *Pipeline) spoolSelf(now time.Time) []metric.Family {
	records := metric.Family{Name: "liftpush_spool_records", Help: "Requests waiting in the destination's spool.", Type: model.MetricTypeGauge}
	size := metric.Family{Name: "liftpush_spool_bytes", Help: "Bytes of the requests waiting in the destination's spool.", Type: model.MetricTypeGauge}
	age := metric.Family{Name: "liftpush_spool_oldest_record_age_seconds", Help: "Age of the oldest request in the destination's spool; 0 when it is empty.", Type: model.MetricTypeGauge}
	dropped := metric.Family{Name: "liftpush_spool_dropped_samples_total", Help: "Samples dropped from the destination's spool by its limits, by reason, since liftpush started.", Type: model.MetricTypeCounter}
	for _, d := range p.Destinations {
		sp, ok := d.(spooler)
		if !ok {
			continue
		}
		state, ok := sp.SpoolState()
		if !ok {
			continue
		}
		name := d.Name()
		var drops map[string]int
		if st := p.destinations[name]; st != nil {
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
		for _, reason := range []string{"max_age", "max_size"} {
			dl := labels.FromStrings("destination", name, "reason", reason)
			dropped.Samples = append(dropped.Samples, metric.Sample{Labels: metric.WithName(dropped.Name, dl), Value: float64(drops[reason])})
		}
	}
	if len(records.Samples) == 0 {
		return nil
	}
	return []metric.Family{records, size, age, dropped}
}
