package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	return errors.Join(errs...)
}
