package remotewrite

import (
	"testing"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/metric"
)

// TestV2ToV1 converts a 2.0 body back: the series and samples are those the
// 1.0 encoder would have sent for the same batch.
func TestV2ToV1(t *testing.T) {
	fams := []metric.Family{
		{Name: "a_total", Help: "A counter.", Type: model.MetricTypeCounter, Samples: []metric.Sample{
			{Labels: labels.FromStrings("__name__", "a_total", "k", "v\"quoted\"", "zone", "ünïcode"), Value: 3, T: 1000},
			{Labels: labels.FromStrings("__name__", "a_total", "k", "w"), Value: 4, T: 1001},
		}},
		{Name: "b", Help: "A gauge.", Type: model.MetricTypeGauge, Unit: "seconds", Samples: []metric.Sample{
			{Labels: labels.FromStrings("__name__", "b"), Value: -1.5, T: 1002},
		}},
	}
	b := &batch{}
	for i := range fams {
		f := &fams[i]
		for _, s := range f.Samples {
			b.add(f, s.Labels, s.Value, s.T, s.Extra)
		}
	}
	v2 := append([]byte(nil), encodeV2(b)...)
	v1 := append([]byte(nil), encodeV1(b)...)
	conv, err := v2ToV1(v2)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(body []byte) prompb.WriteRequest {
		t.Helper()
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		var r prompb.WriteRequest
		if err := r.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		return r
	}
	got, want := decode(conv), decode(v1)
	if diff := cmp.Diff(want.Timeseries, got.Timeseries); diff != "" {
		t.Errorf("series (-1.0 encoder +converted):\n%s", diff)
	}
	wantMeta := []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "a_total", Help: "A counter."},
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "b", Help: "A gauge.", Unit: "seconds"},
	}
	if diff := cmp.Diff(wantMeta, got.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}

// FuzzV2ToV1: a spooled record's body is read back from disk; whatever it
// holds, converting it never panics.
func FuzzV2ToV1(f *testing.F) {
	f.Add(snappy.Encode(nil, []byte{0x0a, 0x00}))
	f.Add([]byte("not snappy"))
	f.Add(snappy.Encode(nil, []byte{0x12, 0x04, 0x0a, 0x02, 0x07, 0x09}))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = v2ToV1(body)
	})
}
