package pipeline

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/liftpush/liftpush/internal/metric"
)

// TestSelfMetricsLint runs promlint over every series liftpush adds about
// itself, as `promtool check metrics` would.
func TestSelfMetricsLint(t *testing.T) {
	p := newPipeline()
	at := time.Unix(1_700_000_000, 0)
	groups := p.Groups([]Outcome{
		{Collector: "scrape/node", Samples: 3, Duration: time.Second},
		{Collector: "spacelift", Err: errors.New("down")},
	}, at)
	var fams []metric.Family
	for _, g := range groups {
		fams = append(fams, g.Self...)
	}
	var buf bytes.Buffer
	if err := metric.WriteText(&buf, fams, false); err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(&buf).Lint()
	if err != nil {
		t.Fatalf("promlint: %v\n%s", err, buf.String())
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
}
