package remotewrite

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

func benchFamily(n int) metric.Family {
	f := metric.Family{Name: "bench_gauge", Help: "A generated gauge.", Type: model.MetricTypeGauge}
	for i := range n {
		f.Samples = append(f.Samples, metric.Sample{
			Labels: labels.FromStrings("__name__", "bench_gauge", "job", "bench", "shard", fmt.Sprint(i%64), "series", fmt.Sprintf("s%d", i), "zone", "eu-west-1a"),
			Value:  float64(i), T: 1_700_000_000_000,
		})
	}
	return f
}

// BenchmarkEncode is the encoding path alone (model to protobuf to snappy);
// compare with BenchmarkEncodeBaseline, which marshals prebuilt prompb
// structs (DESIGN.md section 8: within 1.3x, in ns/sample).
func BenchmarkEncode(b *testing.B) {
	f := benchFamily(2000)
	bt := &batch{}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range f.Samples {
			bt.add(&f, s.Labels, s.Value, s.T, s.Extra)
		}
		encodeV1(bt)
		bt.reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Samples)), "ns/sample")
}

func BenchmarkEncodeBaseline(b *testing.B) {
	f := benchFamily(2000)
	req := prompb.WriteRequest{}
	for _, s := range f.Samples {
		var ls []prompb.Label
		s.Labels.Range(func(l labels.Label) { ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value}) })
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: s.Value, Timestamp: s.T}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, _ := req.Marshal()
		_ = snappy.Encode(nil, raw)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Samples)), "ns/sample")
}

// BenchmarkWriter streams 100k samples through the writer into a receiver
// that only decompresses, to show liftpush's own cost per sample.
func BenchmarkWriter(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = snappy.Decode(nil, body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cl := newTestClient(&testing.T{}, testConfig(&testing.T{}, srv.URL, nil), nil)
	f := benchFamily(100_000)
	// once is a push; cycle a daemon's steady cycle, the same series each
	// time, tracked for stale markers (series.go).
	for _, mode := range []string{"once", "cycle"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			cycle := int64(0)
			for b.Loop() {
				opts := push.Options{}
				if mode == "cycle" {
					cycle++
					opts.Cycle = cycle
				}
				w := cl.Open(b.Context(), opts)
				w.Write(&metric.Group{Families: []metric.Family{f}})
				if rep := w.Close(); rep.Sent != len(f.Samples) {
					b.Fatalf("sent %d", rep.Sent)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Samples)), "ns/sample")
		})
	}
}
