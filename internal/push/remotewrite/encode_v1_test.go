package remotewrite

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// TestEncodeV1MatchesGogo holds the hand-written 1.0 encoder to the bytes
// gogo's generated Marshal writes for the same request, on the values that
// proto3 treats specially: empty strings, zero, -0, NaN and negative or
// zero timestamps.
func TestEncodeV1MatchesGogo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Lengths of one, two and three varint bytes, for labels and series.
	strs := []string{"", "a", "__name__", "ünïcode", string(bytes.Repeat([]byte("x"), 200)), string(bytes.Repeat([]byte("y"), 20000))}
	vals := []float64{0, math.Copysign(0, -1), 1, -2.5, math.NaN(), math.Inf(1), 1e300}
	stamps := []int64{0, 1, -1, 1_700_000_000_000, math.MinInt64, math.MaxInt64}
	for round := range 200 {
		b := &batch{}
		var req prompb.WriteRequest
		for range rng.IntN(20) {
			var lb labels.ScratchBuilder
			for range rng.IntN(6) {
				lb.Add(strs[rng.IntN(len(strs))], strs[rng.IntN(len(strs))])
			}
			lset := lb.Labels()
			var ls []prompb.Label
			lset.Range(func(l labels.Label) { ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value}) })
			s := prompb.Sample{Value: vals[rng.IntN(len(vals))], Timestamp: stamps[rng.IntN(len(stamps))]}
			b.add(nil, lset, s.Value, s.Timestamp, nil)
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{s}})
		}
		for range rng.IntN(3) {
			m := prompb.MetricMetadata{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: strs[rng.IntN(len(strs))], Help: strs[rng.IntN(len(strs))]}
			b.meta = append(b.meta, m)
			req.Metadata = append(req.Metadata, m)
		}
		want, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := snappy.Decode(nil, encodeV1(b))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: encodeV1 wrote\n%x\ngogo writes\n%x", round, got, want)
		}
		// Reused buffers must not leak one request into the next.
		b.reset()
		if got, _ := snappy.Decode(nil, encodeV1(b)); len(got) != 0 {
			t.Fatalf("round %d: empty batch encoded to %d bytes", round, len(got))
		}
	}
}
