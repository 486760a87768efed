package metric

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// The text formats have no native histograms: WriteText leaves those
// samples out and keeps the family's classic series.
func TestWriteTextSkipsNativeHistograms(t *testing.T) {
	f := Family{Name: "rt", Type: model.MetricTypeHistogram, Samples: []Sample{
		{Labels: labels.FromStrings("__name__", "rt"), Extra: &Extra{H: &histogram.Histogram{Count: 1, Sum: 2}}},
		{Labels: labels.FromStrings("__name__", "rt_count"), Value: 1},
	}}
	for _, om := range []bool{false, true} {
		var b strings.Builder
		if err := WriteText(&b, []Family{f}, om); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "rt 0") || !strings.Contains(b.String(), "rt_count 1") {
			t.Errorf("openMetrics=%t:\n%s", om, b.String())
		}
	}
	s := f.Samples[0]
	if !s.IsHistogram() || s.FloatHistogram().Sum != 2 || f.Samples[1].IsHistogram() || f.Samples[1].FloatHistogram() != nil {
		t.Error("IsHistogram/FloatHistogram disagree with the samples")
	}
}
