package pipeline

import (
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
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
