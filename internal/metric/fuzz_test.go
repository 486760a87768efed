package metric_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

// FuzzWriteTextRoundTrip parses any exposition, writes it back with
// WriteText in the same format and parses that again: WriteText must
// produce what Parse reads, with the same series and values.
func FuzzWriteTextRoundTrip(f *testing.F) {
	f.Add([]byte("# HELP a A.\n# TYPE a counter\na{x=\"1\"} 1\n"), false)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"), false)
	f.Add([]byte("# TYPE c counter\n# UNIT c_seconds seconds\nc_total 1\n# EOF\n"), true)
	f.Add([]byte("{\"utf8.name\",\"a.b\"=\"x\\\"y\\n\"} NaN\n"), false)
	f.Add([]byte("a 1\nb 1\na 2\n"), false)
	f.Add([]byte("# HELP x escaped \\\\ and \\n.\nx{l=\"\\\\\"} -Inf\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool) {
		ct := "text/plain; version=0.0.4"
		if openMetrics {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		var fams []metric.Family
		if _, err := exposition.Parse(body, ct, exposition.ParseOptions{}, func(f metric.Family) error {
			fams = append(fams, f)
			return nil
		}); err != nil {
			return
		}
		var buf bytes.Buffer
		if err := metric.WriteText(&buf, fams, openMetrics); err != nil {
			t.Fatal(err)
		}
		var again []metric.Family
		if _, err := exposition.Parse(buf.Bytes(), ct, exposition.ParseOptions{}, func(f metric.Family) error {
			again = append(again, f)
			return nil
		}); err != nil {
			t.Fatalf("Parse of WriteText output: %v\ninput:\n%q\noutput:\n%s", err, body, buf.String())
		}
		// WriteText merges same-name families, so the order may change.
		want, got := sampleLines(fams), sampleLines(again)
		slices.Sort(want)
		slices.Sort(got)
		if len(want) != len(got) {
			t.Fatalf("%d samples, %d after the round trip\ninput:\n%q\noutput:\n%s", len(want), len(got), body, buf.String())
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("sample %d: %s, after the round trip %s\ninput:\n%q\noutput:\n%s", i, want[i], got[i], body, buf.String())
			}
		}
	})
}

func sampleLines(fams []metric.Family) []string {
	var out []string
	for _, f := range fams {
		for _, s := range f.Samples {
			v := fmt.Sprint(s.Value)
			if math.IsNaN(s.Value) {
				v = "NaN"
			}
			out = append(out, s.Labels.String()+" "+v)
		}
	}
	return out
}
