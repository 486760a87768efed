package scrape

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/liftpush/liftpush/internal/metric"
)

func TestSchemaForFactor(t *testing.T) {
	for _, tc := range []struct {
		factor float64
		want   int32
	}{{0, 8}, {1, 8}, {1.00271, 8}, {1.1, 2}, {2, 0}, {2.5, -1}, {4, -1}, {65536, -4}, {1e300, -4}} {
		if got := schemaForFactor(tc.factor); got != tc.want {
			t.Errorf("schemaForFactor(%v) = %d, want %d", tc.factor, got, tc.want)
		}
	}
}

// fineHistogram has 8 populated buckets at schema 3.
func fineHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		Schema: 3, Count: 36, Sum: 10,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 8}},
		PositiveBuckets: []int64{1, 1, 1, 1, 1, 1, 1, 1}, // deltas: 1, 2, ..., 8
	}
}

func TestHistogramLimits(t *testing.T) {
	in := fineHistogram()
	x := &metric.Extra{H: in}

	// Within the limits: the same Extra.
	if got, err := (histogramLimits{maxSchema: 8, bucketLimit: 8}).apply(x); err != nil || got != x {
		t.Errorf("within the limits: %v, %v; want the Extra unchanged", got, err)
	}

	got, err := (histogramLimits{maxSchema: 8, bucketLimit: 4}).apply(x)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.H.PositiveBuckets); n > 4 || got.H.Schema >= 3 || got.H.Count != 36 {
		t.Errorf("bucket limit 4: schema %d, %d buckets, count %d", got.H.Schema, n, got.H.Count)
	}
	if in.Schema != 3 || len(in.PositiveBuckets) != 8 {
		t.Error("the scraped histogram was changed in place")
	}

	got, err = (histogramLimits{maxSchema: 1, bucketLimit: 0}).apply(&metric.Extra{FH: fineHistogram().ToFloat(nil)})
	if err != nil || got.FH.Schema != 1 || got.FH.Count != 36 {
		t.Errorf("max schema 1: %+v, %v", got.FH, err)
	}

	custom := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 3, Sum: 1,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets: []int64{1, 0, 0},
		CustomValues:    []float64{1, 2, 3},
	}
	if _, err := (histogramLimits{maxSchema: 8, bucketLimit: 2}).apply(&metric.Extra{H: custom}); !errors.Is(err, errLimit) {
		t.Errorf("custom buckets over the limit: %v, want a limit error", err)
	}
	// Two buckets far apart at the coarsest schema cannot merge.
	wide := &histogram.Histogram{
		Schema: -4, Count: 2, Sum: 1,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 1}, {Offset: 5, Length: 1}},
		PositiveBuckets: []int64{1, 0},
	}
	if _, err := (histogramLimits{maxSchema: 8, bucketLimit: 1}).apply(&metric.Extra{H: wide}); !errors.Is(err, errLimit) {
		t.Errorf("at the coarsest schema over the limit: %v, want a limit error", err)
	}
}
