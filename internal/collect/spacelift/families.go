package spacelift

import (
	"log/slog"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// secondsPerMinute: the API counts usage in minutes, the series are in
// seconds (promex multiplies the same way).
const secondsPerMinute = 60

// extraSeries are liftpush's additions to promex's series; they need fields
// that older APIs may not know.
var extraSeries = []string{
	"spacelift_public_worker_pool_schedulable_runs",
	"spacelift_worker_pool_schedulable_runs",
	"spacelift_worker_pool_workers_idle",
	"spacelift_current_billing_period_allowed_seconds",
	"spacelift_current_billing_period_allowed_seats",
	"spacelift_current_billing_period_used_private_workers",
	"spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds",
	"spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds",
}

// family is a gauge family under construction.
type family struct{ metric.Family }

func newGauge(name, help string, capacity int) *family {
	return &family{metric.Family{Name: name, Help: help, Type: model.MetricTypeGauge, Samples: make([]metric.Sample, 0, capacity)}}
}

// add appends one sample; kv are label name/value pairs (without __name__).
func (f *family) add(v float64, kv ...string) {
	f.Samples = append(f.Samples, metric.Sample{
		Labels: labels.FromStrings(append([]string{model.MetricNameLabel, f.Name}, kv...)...),
		Value:  v,
	})
}

// families turns a snapshot into metric families in a fixed order; families
// without samples are left out.
func families(s *snapshot, logger *slog.Logger) []metric.Family {
	var out []*family
	if p := s.public; p != nil {
		pending := newGauge("spacelift_public_worker_pool_runs_pending", "The number of runs in your account currently queued and waiting for a public worker", 1)
		busy := newGauge("spacelift_public_worker_pool_workers_busy", "The number of currently busy workers in the public worker pool for this account", 1)
		par := newGauge("spacelift_public_worker_pool_parallelism", "The maximum number of simultaneously executing runs on the public worker pool for this account", 1)
		sched := newGauge("spacelift_public_worker_pool_schedulable_runs", "The number of runs in your account that could be scheduled on the public worker pool now (liftpush extra)", 1)
		oldest := newGauge("spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds", "The creation time of the oldest run among the first 50 in the public worker pool's queue (liftpush extra)", 1)
		pending.add(p.pending)
		busy.add(p.busy)
		par.add(p.parallelism)
		if p.schedulable != nil {
			sched.add(*p.schedulable)
		}
		if p.oldestRun != nil {
			oldest.add(*p.oldestRun)
		}
		out = append(out, pending, busy, par, sched, oldest)
	}

	n := len(s.pools)
	pending := newGauge("spacelift_worker_pool_runs_pending", "The number of runs currently queued and waiting for a worker from a particular pool", n)
	busy := newGauge("spacelift_worker_pool_workers_busy", "The number of currently busy workers in a worker pool", n)
	workers := newGauge("spacelift_worker_pool_workers", "The number of workers in a worker pool", n)
	drained := newGauge("spacelift_worker_pool_workers_drained", "The number of workers in a worker pool that have been drained", n)
	idle := newGauge("spacelift_worker_pool_workers_idle", "The number of workers in a worker pool that are neither busy nor drained (liftpush extra)", n)
	sched := newGauge("spacelift_worker_pool_schedulable_runs", "The number of runs in a worker pool that could be scheduled now (liftpush extra)", n)
	oldest := newGauge("spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds", "The creation time of the oldest run among the first 50 in a worker pool's queue (liftpush extra)", n)
	for _, p := range s.pools {
		kv := []string{"worker_pool_id", p.id, "worker_pool_name", p.name}
		pending.add(p.pending, kv...)
		busy.add(p.busy, kv...)
		workers.add(p.total, kv...)
		drained.add(p.drained, kv...)
		if p.idle != nil {
			idle.add(*p.idle, kv...)
		}
		if p.schedulable != nil {
			sched.add(*p.schedulable, kv...)
		}
		if p.oldestRun != nil {
			oldest.add(*p.oldestRun, kv...)
		}
	}
	out = append(out, pending, busy, workers, drained, idle, sched, oldest)

	if u := s.usage; u != nil {
		start := newGauge("spacelift_current_billing_period_start_timestamp_seconds", "The timestamp of the start of the current billing period", 1)
		end := newGauge("spacelift_current_billing_period_end_timestamp_seconds", "The timestamp of the end of the current billing period", 1)
		priv := newGauge("spacelift_current_billing_period_used_private_seconds", "The amount of private worker usage in the current billing period", 1)
		pub := newGauge("spacelift_current_billing_period_used_public_seconds", "The amount of public worker usage in the current billing period", 1)
		seats := newGauge("spacelift_current_billing_period_used_seats", "The number of seats used in the current billing period", 1)
		allowedSec := newGauge("spacelift_current_billing_period_allowed_seconds", "The amount of worker usage allowed in the current billing period (liftpush extra)", 1)
		allowedSeats := newGauge("spacelift_current_billing_period_allowed_seats", "The number of seats allowed in the current billing period (liftpush extra)", 1)
		usedWorkers := newGauge("spacelift_current_billing_period_used_private_workers", "The number of private workers used in the current billing period", 1)
		start.add(u.start)
		end.add(u.end)
		priv.add(u.usedPrivateMinutes * secondsPerMinute)
		pub.add(u.usedPublicMinutes * secondsPerMinute)
		seats.add(u.usedSeats)
		if u.allowedMinutes != nil {
			allowedSec.add(*u.allowedMinutes * secondsPerMinute)
		}
		if u.allowedSeats != nil {
			allowedSeats.add(*u.allowedSeats)
		}
		if u.usedWorkers != nil {
			usedWorkers.add(*u.usedWorkers)
		}
		out = append(out, start, end, priv, pub, seats, allowedSec, allowedSeats, usedWorkers)
	}

	if m := s.metrics; m != nil {
		byState := newGauge("spacelift_current_stacks_count_by_state", "The number of stacks grouped by state", len(m.stacksByState))
		byDrift := newGauge("spacelift_current_resources_count_by_drift", "The number of drifted resources", len(m.resourcesByDrift))
		addByLabel(byState, m.stacksByState, logger)
		addByLabel(byDrift, m.resourcesByDrift, logger)
		out = append(out, byState, byDrift,
			first(newGauge("spacelift_current_avg_stack_size_by_resource_count", "The average stack size by resource count", 1), m.avgStackSize),
			// Nanoseconds over a server-side 30-day window, as the API
			// returns them and as promex exports them, despite the name.
			first(newGauge("spacelift_current_average_run_duration", "The average run duration", 1), m.avgRunDuration),
			first(newGauge("spacelift_current_median_run_duration", "The median run duration", 1), m.medianRunDuration))
	}

	if len(s.stacks) > 0 {
		// One series per stack, its current state as a label (issue 13):
		// a changed state starts a new series and ends the old one.
		st := newGauge("spacelift_stack_state", "The current state of a stack, as the state label; the value is always 1 (liftpush extra, spacelift.stacks)", len(s.stacks))
		for _, x := range s.stacks {
			st.add(1, "stack_id", x.id, "stack_name", x.name, "space", x.space, "state", x.state)
		}
		out = append(out, st)
	}

	fams := make([]metric.Family, 0, len(out)+2)
	for _, f := range out {
		if len(f.Samples) > 0 {
			fams = append(fams, f.Family)
		}
	}
	return fams
}

// addByLabel adds one series per data point, labelled state=labels[0]. A
// point without a label, or a repeated label, cannot become a distinct
// series and is skipped.
func addByLabel(f *family, points []dataPoint, logger *slog.Logger) {
	seen := make(map[string]struct{}, len(points))
	for _, p := range points {
		if len(p.labels) == 0 {
			continue
		}
		if _, dup := seen[p.labels[0]]; dup {
			logger.Warn("Spacelift returned a state twice; kept the first", "metric", f.Name, "state", p.labels[0])
			continue
		}
		seen[p.labels[0]] = struct{}{}
		f.add(p.value, "state", p.labels[0])
	}
}

// first adds a single-valued metric, which the API returns as a one-element
// list; an empty list means no data yet and gives no series rather than 0.
func first(f *family, points []dataPoint) *family {
	if len(points) > 0 {
		f.add(points[0].value)
	}
	return f
}

// buildInfo is promex's spacelift_build_info, describing liftpush. Empty
// version fields are left out rather than sent as empty labels.
func buildInfo() metric.Family {
	b := labels.NewBuilder(labels.EmptyLabels())
	b.Set("version", version.Version)
	b.Set("commit", version.Revision)
	b.Set("goversion", version.GoVersion)
	return metric.Gauge("spacelift_build_info", "Contains build information about the exporter", 1, b.Labels())
}
