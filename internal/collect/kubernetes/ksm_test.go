package kubernetes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The rolling-update families resolve int-or-percent values against
// spec.replicas as the deployment controller does.
func TestKSMRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name                string
		replicas, surge, un any
		wantSurge, wantUn   []float64
	}{
		{"percent", int64(10), "25%", "25%", []float64{3}, []float64{2}},
		{"integers", int64(10), int64(2), int64(0), []float64{2}, []float64{0}},
		{"zero replicas", int64(0), "25%", "25%", []float64{0}, []float64{0}},
		{"invalid percent", int64(4), "lots", "1.5%", nil, nil},
		{"no replicas", nil, "25%", int64(1), nil, nil},
		{"out of int32 range", int64(4), float64(1 << 40), int64(1), nil, []float64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := map[string]any{"spec": map[string]any{
				"replicas": tc.replicas,
				"strategy": map[string]any{"rollingUpdate": map[string]any{"maxSurge": tc.surge, "maxUnavailable": tc.un}},
			}}
			collect := func(f func(map[string]any, func(float64, ...string))) []float64 {
				var got []float64
				f(d, func(v float64, _ ...string) { got = append(got, v) })
				return got
			}
			if diff := cmp.Diff(tc.wantSurge, collect(rollingUpdate("maxSurge", true))); diff != "" {
				t.Errorf("max surge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUn, collect(rollingUpdate("maxUnavailable", false))); diff != "" {
				t.Errorf("max unavailable (-want +got):\n%s", diff)
			}
		})
	}
}
