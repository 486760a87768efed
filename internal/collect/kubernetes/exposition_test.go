package kubernetes

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// exposition renders families as Prometheus text with samples sorted by
// labels, so goldens do not depend on list order.
func exposition(fams []metric.Family) string {
	var b strings.Builder
	for _, f := range fams {
		b.WriteString("# HELP " + f.Name + " " + f.Help + "\n")
		b.WriteString("# TYPE " + f.Name + " " + string(f.Type) + "\n")
		lines := make([]string, 0, len(f.Samples))
		for _, s := range f.Samples {
			lines = append(lines, seriesString(s.Labels)+" "+strconv.FormatFloat(s.Value, 'g', -1, 64))
		}
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func seriesString(ls labels.Labels) string {
	var parts []string
	ls.Range(func(l labels.Label) {
		if l.Name != model.MetricNameLabel {
			parts = append(parts, l.Name+"="+strconv.Quote(l.Value))
		}
	})
	return ls.Get(model.MetricNameLabel) + "{" + strings.Join(parts, ",") + "}"
}
