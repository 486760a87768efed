package scrape

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// histogramLimits are a job's native_histogram_min_bucket_factor and
// native_histogram_bucket_limit, applied to each native histogram as
// Prometheus applies them: the schema is first capped by the factor, then
// lowered one step at a time until the buckets fit the limit. A histogram
// that cannot fit (custom buckets, or already the coarsest schema) fails
// the scrape like any other limit.
type histogramLimits struct {
	maxSchema   int32
	bucketLimit int
}

func newHistogramLimits(cfg *config.ScrapeConfig) histogramLimits {
	return histogramLimits{maxSchema: schemaForFactor(cfg.NativeHistogramMinBucketFactor), bucketLimit: int(cfg.NativeHistogramBucketLimit)}
}

// schemaForFactor is the highest schema whose buckets grow by at least
// factor: a schema s grows by 2^(2^-s). 0 and anything up to 1 set no cap.
func schemaForFactor(factor float64) int32 {
	if factor <= 1 {
		return histogram.ExponentialSchemaMax
	}
	s := math.Floor(-math.Log2(math.Log2(factor)))
	return int32(max(min(s, float64(histogram.ExponentialSchemaMax)), float64(histogram.ExponentialSchemaMin)))
}

func (l histogramLimits) active() bool {
	return l.bucketLimit > 0 || l.maxSchema < histogram.ExponentialSchemaMax
}

// apply returns x with its histogram within the limits: x itself when it
// already is, else a new Extra with a reduced copy (an Extra is never
// changed once built).
func (l histogramLimits) apply(x *metric.Extra) (*metric.Extra, error) {
	switch {
	case x.H != nil:
		h, err := fit(x.H, l, func(h *histogram.Histogram) (int32, int) {
			return h.Schema, len(h.PositiveBuckets) + len(h.NegativeBuckets)
		}, (*histogram.Histogram).Copy, (*histogram.Histogram).ReduceResolution)
		if err != nil || h == x.H {
			return x, err
		}
		return &metric.Extra{H: h, Exemplars: x.Exemplars}, nil
	case x.FH != nil:
		fh, err := fit(x.FH, l, func(h *histogram.FloatHistogram) (int32, int) {
			return h.Schema, len(h.PositiveBuckets) + len(h.NegativeBuckets)
		}, (*histogram.FloatHistogram).Copy, (*histogram.FloatHistogram).ReduceResolution)
		if err != nil || fh == x.FH {
			return x, err
		}
		return &metric.Extra{FH: fh, Exemplars: x.Exemplars}, nil
	}
	return x, nil
}

// fit applies l to h, an integer or a float histogram, copying h before
// the first change.
func fit[H any](h H, l histogramLimits, shape func(H) (schema int32, buckets int), cp func(H) H, reduce func(H, int32) error) (H, error) {
	out, copied := h, false
	change := func(s int32) error {
		if !copied {
			out, copied = cp(h), true
		}
		return reduce(out, s)
	}
	schema, _ := shape(out)
	if histogram.IsExponentialSchemaReserved(schema) && schema > l.maxSchema {
		if err := change(l.maxSchema); err != nil {
			return h, err
		}
	}
	if l.bucketLimit <= 0 {
		return out, nil
	}
	for {
		schema, n := shape(out)
		if n <= l.bucketLimit {
			return out, nil
		}
		if !histogram.IsExponentialSchema(schema) || schema <= histogram.ExponentialSchemaMin {
			return h, fmt.Errorf("native_histogram_bucket_limit exceeded: a native histogram has %d buckets at schema %d, limit %d: %w", n, schema, l.bucketLimit, errLimit)
		}
		if err := change(schema - 1); err != nil {
			return h, err
		}
	}
}
