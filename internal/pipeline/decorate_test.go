package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

func TestDecorate(t *testing.T) {
	tests := []struct {
		name     string
		d        Decorator
		in       metric.Sample
		wantLbls string
		wantT    int64
	}{
		{
			name:     "job and external labels added when missing",
			d:        Decorator{Defaults: labels.FromStrings("cluster", "edge-1", "job", "liftpush"), T: 1000},
			in:       metric.Sample{Labels: labels.FromStrings("__name__", "m")},
			wantLbls: `{__name__="m", cluster="edge-1", job="liftpush"}`,
			wantT:    1000,
		},
		{
			name:     "the series' own job wins",
			d:        Decorator{Defaults: labels.FromStrings("job", "liftpush"), T: 1000},
			in:       metric.Sample{Labels: labels.FromStrings("__name__", "m", "job", "node")},
			wantLbls: `{__name__="m", job="node"}`,
			wantT:    1000,
		},
		{
			name:     "external labels do not override the series' own",
			d:        Decorator{Defaults: labels.FromStrings("cluster", "edge-1", "job", "liftpush", "region", "eu"), T: 1000},
			in:       metric.Sample{Labels: labels.FromStrings("__name__", "m", "cluster", "mine", "job", "j")},
			wantLbls: `{__name__="m", cluster="mine", job="j", region="eu"}`,
			wantT:    1000,
		},
		{
			name:     "an existing timestamp is kept",
			d:        Decorator{Defaults: labels.FromStrings("job", "liftpush"), T: 1000},
			in:       metric.Sample{Labels: labels.FromStrings("__name__", "m"), T: 42},
			wantLbls: `{__name__="m", job="liftpush"}`,
			wantT:    42,
		},
		{
			name:     "no job configured adds none",
			d:        Decorator{T: 1000},
			in:       metric.Sample{Labels: labels.FromStrings("__name__", "m")},
			wantLbls: `{__name__="m"}`,
			wantT:    1000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := metric.Family{Name: "m", Samples: []metric.Sample{tt.in}}
			tt.d.Decorate(&f)
			got := f.Samples[0]
			if got.Labels.String() != tt.wantLbls {
				t.Errorf("labels = %s, want %s", got.Labels, tt.wantLbls)
			}
			if got.T != tt.wantT {
				t.Errorf("T = %d, want %d", got.T, tt.wantT)
			}
		})
	}
}

func TestDecorateManySamples(t *testing.T) {
	// The builder is reused across samples; no sample may see another's
	// labels.
	d := &Decorator{Defaults: labels.FromStrings("cluster", "c", "job", "liftpush"), T: 7}
	f := metric.Family{Name: "m", Samples: []metric.Sample{
		{Labels: labels.FromStrings("__name__", "m", "i", "1")},
		{Labels: labels.FromStrings("__name__", "m", "i", "2", "job", "own")},
		{Labels: labels.FromStrings("__name__", "m", "i", "3", "cluster", "x", "job", "own")},
		{Labels: labels.FromStrings("__name__", "m", "i", "4")},
	}}
	d.Decorate(&f)
	var got []string
	for _, s := range f.Samples {
		got = append(got, s.Labels.String())
	}
	want := []string{
		`{__name__="m", cluster="c", i="1", job="liftpush"}`,
		`{__name__="m", cluster="c", i="2", job="own"}`,
		`{__name__="m", cluster="x", i="3", job="own"}`,
		`{__name__="m", cluster="c", i="4", job="liftpush"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

// TestDecorateCopiesNothingComplete: series built with the defaults (the
// Kubernetes collector's, config.GlobalConfig.SeriesDefaults) pass without
// a copy; a copy of every series every cycle is what kept a watching
// daemon at 100,000 Deployments over its memory goal.
func TestDecorateCopiesNothingComplete(t *testing.T) {
	g := config.GlobalConfig{Job: "liftpush", ExternalLabels: map[string]string{"cluster": "c"}}
	d := &Decorator{Defaults: g.SeriesDefaults(), T: 7}
	b := labels.NewBuilder(labels.FromStrings("__name__", "m", "i", "1"))
	g.SeriesDefaults().Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
	f := metric.Family{Name: "m", Samples: []metric.Sample{{Labels: b.Labels()}}}
	d.Decorate(&f)
	if n := testing.AllocsPerRun(100, func() { d.Decorate(&f) }); n != 0 {
		t.Errorf("Decorate of a complete series: %.0f allocations, want 0", n)
	}
}
