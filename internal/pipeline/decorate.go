package pipeline

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// Decorator adds the labels every pushed series carries and stamps samples
// that have no timestamp. It is not safe for concurrent use (it reuses a
// label builder).
type Decorator struct {
	// Job is set as the job label where a series has none (built-in
	// collectors never set one; scraped series always do).
	Job string
	// External labels are added where a series lacks them, as Prometheus
	// does for external_labels: a series' own label wins.
	External labels.Labels
	// T stamps samples whose T is 0, in ms.
	T  int64
	lb *labels.Builder
}

// Defaults are the labels Decorate adds where a series lacks them, for a
// parser that can put them on while it builds the series.
func (d *Decorator) Defaults() labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	b.Set(model.JobLabel, d.Job)
	d.External.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
	return b.Labels()
}

// Decorate rewrites the samples of f in place.
func (d *Decorator) Decorate(f *metric.Family) {
	if d.lb == nil {
		d.lb = labels.NewBuilder(labels.EmptyLabels())
	}
	for i := range f.Samples {
		s := &f.Samples[i]
		if s.T == 0 {
			s.T = d.T
		}
		needJob := d.Job != "" && !s.Labels.Has(model.JobLabel)
		missing := false
		d.External.Range(func(l labels.Label) {
			if !s.Labels.Has(l.Name) {
				missing = true
			}
		})
		if !needJob && !missing {
			continue
		}
		d.lb.Reset(s.Labels)
		if needJob {
			d.lb.Set(model.JobLabel, d.Job)
		}
		d.External.Range(func(l labels.Label) {
			if !s.Labels.Has(l.Name) {
				d.lb.Set(l.Name, l.Value)
			}
		})
		s.Labels = d.lb.Labels()
	}
}
