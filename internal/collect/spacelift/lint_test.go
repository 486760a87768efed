package spacelift

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricNamesLint runs promlint over the demo exposition. The only
// problems allowed are the ones promex's names have, which liftpush keeps
// on purpose so that dashboards and alerts built on promex keep working.
func TestMetricNamesLint(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		fams, err := e.collect(t)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := promlint.New(strings.NewReader(render(t, fams))).Lint()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range problems {
			got = append(got, p.Metric+": "+p.Text)
		}
		want := []string{
			// promex's name, kept for compatibility.
			`spacelift_current_avg_stack_size_by_resource_count: non-histogram and non-summary metrics should not have "_count" suffix`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("promlint (-want +got):\n%s", diff)
		}
	})
}
