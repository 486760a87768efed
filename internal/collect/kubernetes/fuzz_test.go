package kubernetes

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/util/json"
)

// FuzzFlatten feeds arbitrary JSON, as a CRD could hold, through both
// namings: they must never panic, must only produce valid metric and label
// names, and must never produce one series twice.
func FuzzFlatten(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"generation":1},"spec":{"replicas":3,"strategy":{"rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}}},"status":{"conditions":[{"type":"Available","status":"True"}]}}`,
		`{"spec":{"replicas":"NaN","strategy":{"rollingUpdate":{"maxSurge":"NaN%"}}},"status":{"x":"+Inf"}}`,
		`{"a":[[[[[[1]]]]]],"a_index":[2],"":{"":[3]}}`,
		`{"Ünïcode/key.with:colons":{"0":1e308,"-":-1e-308}}`,
		`{"spec":{"replicas":2147483648,"strategy":{"rollingUpdate":{"maxSurge":2147483648}}}}`,
		`[1,2,3]`,
		`"scalar"`,
		`{"x":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`,
		`{"big":[` + strings.Repeat(`1,`, 20000) + `1]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			obj = map[string]any{"spec": v}
		}
		out := newFamilySet(nil)
		newFlattener(out, "k8s_", "Weird.Kind/x", "example.com/v1").object(obj, "ns", "n")
		ksmDeployment(out, obj, "ns", "n")
		for _, fam := range out.result() {
			if !model.LegacyValidation.IsValidMetricName(fam.Name) {
				t.Fatalf("invalid metric name %q", fam.Name)
			}
			seen := map[string]bool{}
			for _, s := range fam.Samples {
				if s.Labels.Get(model.MetricNameLabel) != fam.Name {
					t.Fatalf("sample %s in family %s", s.Labels, fam.Name)
				}
				s.Labels.Range(func(l labels.Label) {
					if !model.LegacyValidation.IsValidLabelName(l.Name) || (l.Name != model.MetricNameLabel && strings.HasPrefix(l.Name, "__")) {
						t.Fatalf("invalid label name %q in %s", l.Name, s.Labels)
					}
				})
				if seen[s.Labels.String()] {
					t.Fatalf("duplicate series %s", s.Labels)
				}
				seen[s.Labels.String()] = true
			}
		}
	})
}
