package remotewrite

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// TestWireConformance checks what a receiver sees: the four protocol
// headers, sorted labels with __name__, millisecond timestamps, metadata,
// batching at max_samples_per_send, and per-series sample order across
// batches and shards.
func TestWireConformance(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/api/v1/write", func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 7
		c.QueueConfig.MaxShards = 3
		// A user header must pass through, but cannot replace the
		// protocol's own (config validation refuses those).
		c.Headers = map[string]commoncfg.Secret{"X-Scope-OrgID": "team-a"}
	})
	cl := newTestClient(t, cfg, nil)

	const series, rounds = 20, 5
	const t0 = int64(1_700_000_000_123)
	w := cl.Open(t.Context(), push.Options{})
	for round := range rounds {
		// Each round appends one sample per series, one millisecond
		// later than the round before: the receiver must see each
		// series' samples in that order.
		f := metric.Family{Name: "wire_test_gauge", Help: "A gauge for the wire test.", Type: model.MetricTypeGauge}
		for i := range series {
			f.Samples = append(f.Samples, metric.Sample{
				// Unsorted input on purpose: labels.FromStrings sorts.
				Labels: labels.FromStrings("zone", "z", "__name__", "wire_test_gauge", "series", fmt.Sprint(i), "app", "a"),
				Value:  float64(round*100 + i),
				T:      t0 + int64(round),
			})
		}
		w.Write(&metric.Group{Families: []metric.Family{f}})
	}
	counter := metric.Family{Name: "wire_test_total", Help: "A counter.", Type: model.MetricTypeCounter, Samples: []metric.Sample{
		{Labels: labels.FromStrings("__name__", "wire_test_total"), Value: 3, T: t0},
	}}
	w.Write(&metric.Group{Families: []metric.Family{counter}})
	rep := w.Close()

	total := series*rounds + 1
	if rep.Sent != total || rep.DroppedTotal() != 0 || rep.Err != nil {
		t.Fatalf("report = %+v, want %d sent, nothing dropped", rep, total)
	}
	reqs := rc.all()
	wantHeaders := map[string]string{
		"Content-Encoding":                  "snappy",
		"Content-Type":                      "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "liftpush/test",
		"X-Scope-Orgid":                     "team-a",
	}
	got := 0
	last := map[string]int64{}
	meta := map[string]prompb.MetricMetadata{}
	for i, r := range reqs {
		for k, v := range wantHeaders {
			if g := r.header.Get(k); g != v {
				t.Errorf("request %d: header %s = %q, want %q", i, k, g, v)
			}
		}
		if r.header.Get("Retry-Attempt") != "" {
			t.Errorf("request %d: Retry-Attempt set on a first attempt", i)
		}
		n := 0
		for _, ts := range r.req.Timeseries {
			names := make([]string, len(ts.Labels))
			for j, l := range ts.Labels {
				names[j] = l.Name
			}
			if !slices.IsSorted(names) {
				t.Errorf("request %d: labels not sorted: %v", i, names)
			}
			if names[0] != "__name__" {
				t.Errorf("request %d: first label %q, want __name__", i, names[0])
			}
			key := labelString(ts.Labels)
			for _, s := range ts.Samples {
				if s.Timestamp < t0 || s.Timestamp > t0+rounds {
					t.Errorf("request %d: timestamp %d is not in ms near %d", i, s.Timestamp, t0)
				}
				if prev, ok := last[key]; ok && s.Timestamp <= prev {
					t.Errorf("series %s: sample at %d arrived after %d", key, s.Timestamp, prev)
				}
				last[key] = s.Timestamp
				n++
			}
		}
		if n > cfg.QueueConfig.MaxSamplesPerSend {
			t.Errorf("request %d carries %d samples, more than max_samples_per_send %d", i, n, cfg.QueueConfig.MaxSamplesPerSend)
		}
		got += n
		for _, m := range r.req.Metadata {
			if _, dup := meta[m.MetricFamilyName]; dup {
				t.Errorf("metadata for %s sent twice", m.MetricFamilyName)
			}
			meta[m.MetricFamilyName] = m
		}
	}
	if got != total {
		t.Errorf("receiver got %d samples, want %d", got, total)
	}
	if len(last) != series+1 {
		t.Errorf("receiver saw %d series, want %d", len(last), series+1)
	}
	wantMeta := map[string]prompb.MetricMetadata{
		"wire_test_gauge": {Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "wire_test_gauge", Help: "A gauge for the wire test."},
		"wire_test_total": {Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "wire_test_total", Help: "A counter."},
	}
	if diff := cmp.Diff(wantMeta, meta); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}

// TestWriteRelabelAndInvalid checks that write_relabel_configs apply per
// destination and that series no receiver accepts are dropped and counted.
func TestWriteRelabelAndInvalid(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfgs, err := config.Load([]byte(`
remote_write:
  - url: ` + srv.URL + `
    write_relabel_configs:
      - {source_labels: [__name__], regex: "drop_me.*", action: drop}
      - {target_label: env, replacement: prod}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgs.RemoteWrite[0]
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cl := newTestClient(t, cfg, nil)
	f := metric.Family{Name: "x", Samples: []metric.Sample{
		{Labels: labels.FromStrings("__name__", "keep_me"), Value: 1, T: 1},
		{Labels: labels.FromStrings("__name__", "drop_me_please"), Value: 2, T: 1},
		{Labels: labels.FromStrings("a", "no name"), Value: 3, T: 1},
		{Labels: labels.FromStrings("__name__", "bad_value", "v", "\xff"), Value: 4, T: 1},
	}}
	w := cl.Open(t.Context(), push.Options{})
	w.Write(&metric.Group{Families: []metric.Family{f}})
	rep := w.Close()
	if diff := cmp.Diff(map[string]int{"relabel": 1, "invalid_labels": 2}, rep.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if rep.Sent != 1 {
		t.Errorf("sent %d, want 1", rep.Sent)
	}
	var got []string
	for _, r := range rc.all() {
		for _, ts := range r.req.Timeseries {
			got = append(got, labelString(ts.Labels))
		}
	}
	want := []string{`__name__=keep_me,env=prod`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

func labelString(ls []prompb.Label) string {
	var b []byte
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.Name+"="+l.Value...)
	}
	return string(b)
}
