package exposition

import (
	"testing"

	"github.com/prometheus/common/model"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// FuzzParse feeds any bytes to Parse in each exposition format. Parse reads
// what remote targets send, so it must never panic, and every sample it
// emits must carry a metric name.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"# HELP a A.\n# TYPE a counter\na{x=\"1\"} 1 1700000000000\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
		"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
		"# TYPE c counter\n# UNIT c_seconds seconds\nc_total 1\nc_created 1\n# EOF\n",
		"a NaN\nb +Inf\nc -Inf\n",
		"{\"utf8.name\",x=\"y\"} 1\n",
		"",
		"\n\n# EOF",
	}
	for _, s := range seeds {
		for ct := range 3 {
			f.Add([]byte(s), uint8(ct), false, uint8(0))
		}
	}
	f.Add(expositiontest.EncodeProto(f, expositiontest.ProtoFamilies()...), uint8(2), true, uint8(2))
	f.Add(expositiontest.EncodeProto(f, nativeHistogram(true), nativeHistogram(false)), uint8(2), false, uint8(0))
	contentTypes := []string{ctText, ctOpenMetrics, ctProto}
	f.Fuzz(func(t *testing.T, body []byte, ct uint8, honor bool, chunk uint8) {
		opts := ParseOptions{HonorTimestamps: honor, ChunkSamples: int(chunk % 8)}
		emitted := 0
		st, _ := Parse(body, contentTypes[int(ct)%len(contentTypes)], opts, func(fam metric.Family) error {
			if len(fam.Samples) == 0 {
				t.Errorf("family %q emitted without samples", fam.Name)
			}
			for _, s := range fam.Samples {
				if s.Labels.Get(model.MetricNameLabel) == "" {
					t.Errorf("sample without __name__ in family %q: %s", fam.Name, s.Labels)
				}
				if !honor && s.T != 0 {
					t.Errorf("sample %s has T=%d without honor_timestamps", s.Labels, s.T)
				}
			}
			emitted += len(fam.Samples)
			return nil
		})
		if emitted != st.Samples {
			t.Errorf("emitted %d samples, Stats.Samples = %d", emitted, st.Samples)
		}
	})
}
