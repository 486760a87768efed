package pipeline

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// Decorator adds the labels every pushed series carries and stamps samples
// that have no timestamp. It is not safe for concurrent use (it reuses a
// label builder).
type Decorator struct {
	// Defaults are set where a series lacks them, as Prometheus does for
	// external_labels: a series' own label wins. They are global.job and
	// external_labels (config.GlobalConfig.SeriesDefaults); built-in
	// collectors never set a job, scraped series always do.
	Defaults labels.Labels
	// T stamps samples whose T is 0, in ms.
	T  int64
	lb *labels.Builder
}

// Decorate rewrites the samples of f in place.
func (d *Decorator) Decorate(f *metric.Family) {
	for i := range f.Samples {
		s := &f.Samples[i]
		if s.T == 0 {
			s.T = d.T
		}
		missing := false
		d.Defaults.Range(func(l labels.Label) {
			if !s.Labels.Has(l.Name) {
				missing = true
			}
		})
		if !missing {
			continue
		}
		if d.lb == nil {
			d.lb = labels.NewBuilder(labels.EmptyLabels())
		}
		d.lb.Reset(s.Labels)
		d.Defaults.Range(func(l labels.Label) {
			if !s.Labels.Has(l.Name) {
				d.lb.Set(l.Name, l.Value)
			}
		})
		s.Labels = d.lb.Labels()
	}
}
