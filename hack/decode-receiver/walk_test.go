package main

import (
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

func TestWalkWriteRequest(t *testing.T) {
	req := prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{Labels: []prompb.Label{{Name: "__name__", Value: "a"}, {Name: "x", Value: "ünï"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 5}, {Value: 0}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "h"}}, Histograms: []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 3}, Schema: 1}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "empty"}}},
		},
		Metadata: []prompb.MetricMetadata{{MetricFamilyName: "a", Help: "An a."}},
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	series, samples, err := walkWriteRequest(b)
	if err != nil || series != 3 || samples != 3 {
		t.Errorf("walkWriteRequest = %d series, %d samples, %v; want 3, 3, nil", series, samples, err)
	}
	if _, _, err := walkWriteRequest(b[:len(b)-3]); err == nil {
		t.Error("a truncated request was accepted")
	}
	bad := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: []prompb.Label{{Name: "__name__", Value: "a\xff"}}}}}
	if b, _ := bad.Marshal(); b != nil {
		if _, _, err := walkWriteRequest(b); err == nil {
			t.Error("a label value that is not UTF-8 was accepted")
		}
	}
}
