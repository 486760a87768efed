package remotewrite

import (
	"fmt"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// BenchmarkSnappy compares github.com/golang/snappy (the default) with
// github.com/klauspost/compress/s2's snappy-compatible EncodeSnappy on real
// request bodies: ksmgen's kube-state-metrics shaped exposition, parsed by
// the scrape parser and marshalled as remote-write 1.0 WriteRequests of
// 2,000 samples (the default max_samples_per_send). It reports ns/sample,
// MB/s of protobuf in, and compressed bytes/sample (the issue 11 decision).
func BenchmarkSnappy(b *testing.B) {
	const samples, perBatch = 20_000, 2000
	fams := ksmFamilies(b, samples)
	var raws [][]byte
	req := prompb.WriteRequest{}
	flush := func() {
		raw, err := req.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		req.Timeseries = req.Timeseries[:0]
	}
	for _, f := range fams {
		for _, s := range f.Samples {
			var ls []prompb.Label
			s.Labels.Range(func(l labels.Label) { ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value}) })
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: s.Value, Timestamp: s.T}}})
			if len(req.Timeseries) == perBatch {
				flush()
			}
		}
	}
	if len(req.Timeseries) > 0 {
		flush()
	}
	rawBytes := 0
	for _, r := range raws {
		rawBytes += len(r)
	}
	for _, c := range []struct {
		name   string
		encode func(dst, src []byte) []byte
		decode func(dst, src []byte) ([]byte, error)
	}{
		{"golang-snappy", snappy.Encode, snappy.Decode},
		{"s2-EncodeSnappy", s2.EncodeSnappy, snappy.Decode},
		{"s2-EncodeSnappyBetter", s2.EncodeSnappyBetter, snappy.Decode},
	} {
		b.Run(fmt.Sprintf("codec=%s", c.name), func(b *testing.B) {
			// Every body must decode with golang/snappy, as a receiver does.
			for _, r := range raws {
				got, err := c.decode(nil, c.encode(nil, r))
				if err != nil || string(got) != string(r) {
					b.Fatalf("%s output does not round-trip through snappy.Decode: %v", c.name, err)
				}
			}
			dst := make([]byte, snappy.MaxEncodedLen(perBatch*1024))
			comp := 0
			b.SetBytes(int64(rawBytes))
			b.ReportAllocs()
			for b.Loop() {
				comp = 0
				for _, r := range raws {
					comp += len(c.encode(dst[:cap(dst)], r))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*samples), "ns/sample")
			b.ReportMetric(float64(comp)/float64(samples), "bytes/sample")
			b.ReportMetric(float64(rawBytes)/float64(comp), "ratio")
		})
	}
}
