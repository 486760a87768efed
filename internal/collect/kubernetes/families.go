package kubernetes

import (
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// familySet gathers samples into families by name while list pages stream
// in: only the samples are kept, never the objects they came from. Not safe
// for concurrent use.
type familySet struct {
	index map[string]int
	fams  []*metric.Family
	b     labels.ScratchBuilder
}

func newFamilySet() *familySet {
	return &familySet{index: map[string]int{}, b: labels.NewScratchBuilder(8)}
}

// family returns the family called name, creating it with the help text
// from help() the first time. help is a func so that the text, which costs
// an allocation, is only built once per family rather than once per sample.
func (s *familySet) family(name []byte, help func() string) *metric.Family {
	if i, ok := s.index[string(name)]; ok { // no allocation: the compiler special-cases this lookup
		return s.fams[i]
	}
	f := &metric.Family{Name: string(name), Help: help(), Type: model.MetricTypeGauge}
	s.index[f.Name] = len(s.fams)
	s.fams = append(s.fams, f)
	return f
}

// add appends one sample to f. pairs are label name/value pairs without
// __name__; empty values are left out, as Prometheus treats them as absent.
func (s *familySet) add(f *metric.Family, value float64, pairs ...string) {
	s.b.Reset()
	s.b.Add(model.MetricNameLabel, f.Name)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			s.b.Add(pairs[i], pairs[i+1])
		}
	}
	s.b.Sort()
	f.Samples = append(f.Samples, metric.Sample{Labels: s.b.Labels(), Value: value})
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
