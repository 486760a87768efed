package kubernetes

import (
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// sink takes the samples the namings (flattener, ksmDeployment) make of an
// object: a familySet while listing, a rowBuilder for a watch cache.
type sink interface {
	// family returns the handle of the family called name; help is only
	// called when the family is new, since its text costs an allocation.
	family(name []byte, help func() string) int
	// add records one sample of family fam. pairs are label name/value
	// pairs without __name__; empty values are left out, as Prometheus
	// treats them as absent.
	add(fam int, value float64, pairs ...string)
}

// familySet gathers samples into families by name while list pages stream
// in: only the samples are kept, never the objects they came from. Not safe
// for concurrent use.
type familySet struct {
	index    map[string]int
	fams     []*metric.Family
	b        labels.ScratchBuilder
	defaults []labels.Label
}

func newFamilySet(defaults []labels.Label) *familySet {
	return &familySet{index: map[string]int{}, b: labels.NewScratchBuilder(8), defaults: defaults}
}

// family implements sink.
func (s *familySet) family(name []byte, help func() string) int {
	if i, ok := s.index[string(name)]; ok { // no allocation: the compiler special-cases this lookup
		return i
	}
	f := &metric.Family{Name: string(name), Help: help(), Type: model.MetricTypeGauge}
	s.index[f.Name] = len(s.fams)
	s.fams = append(s.fams, f)
	return len(s.fams) - 1
}

// add implements sink.
func (s *familySet) add(fam int, value float64, pairs ...string) {
	f := s.fams[fam]
	f.Samples = append(f.Samples, metric.Sample{Labels: seriesLabels(&s.b, f.Name, pairs, s.defaults), Value: value})
}

// addSample appends a sample whose labels are already built (a watch
// cache's row).
func (s *familySet) addSample(fam int, smp metric.Sample) {
	f := s.fams[fam]
	f.Samples = append(f.Samples, smp)
}

// grow makes room for n more samples in family fam.
func (s *familySet) grow(fam, n int) {
	f := s.fams[fam]
	f.Samples = slices.Grow(f.Samples, n)
}

// result returns the families sorted by name, for output that is stable
// from one run to the next.
func (s *familySet) result() []metric.Family {
	out := make([]metric.Family, 0, len(s.fams))
	for _, f := range s.fams {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b metric.Family) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// seriesLabels builds the labels of one series of family name from label
// pairs, leaving out empty values, and adds each of defaults (the
// pipeline's job and external labels) the pairs lack. Added here, they are
// part of the one copy of the labels; added by the pipeline, every series
// would be copied again every cycle, and a watching daemon would keep both
// copies (measured: 588 MiB against 300 at 100,000 Deployments).
func seriesLabels(b *labels.ScratchBuilder, name string, pairs []string, defaults []labels.Label) labels.Labels {
	b.Reset()
	b.Add(model.MetricNameLabel, name)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			b.Add(pairs[i], pairs[i+1])
		}
	}
	for _, l := range defaults {
		if !hasPair(pairs, l.Name) {
			b.Add(l.Name, l.Value)
		}
	}
	b.Sort()
	return b.Labels()
}

// hasPair reports whether pairs set name to a value that is not empty.
func hasPair(pairs []string, name string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == name && pairs[i+1] != "" {
			return true
		}
	}
	return false
}
