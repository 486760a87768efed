package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2ENativeHistogramLimits: native_histogram_bucket_limit and
// native_histogram_min_bucket_factor reduce a histogram's resolution in
// liftpush exactly as in Prometheus 3.16: the same job scraped by both
// stores the same buckets, and fewer than without the keys.
func TestE2ENativeHistogramLimits(t *testing.T) {
	srv, _ := nativeTarget(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	jobs := func(prefix string) string {
		return fmt.Sprintf(`  - job_name: %[1]s-limit
    scrape_native_histograms: true
    native_histogram_bucket_limit: 5
    static_configs: [{targets: [%[2]q]}]
  - job_name: %[1]s-factor
    scrape_native_histograms: true
    native_histogram_min_bucket_factor: 2.5
    static_configs: [{targets: [%[2]q]}]
`, prefix, host)
	}
	prom := testinfra.StartPrometheus3Scraping(t, jobs("direct")+fmt.Sprintf(`  - job_name: direct
    scrape_native_histograms: true
    static_configs: [{targets: [%q]}]
`, host))
	for _, job := range []string{"direct", "direct-limit", "direct-factor"} {
		waitQuery(t, prom, fmt.Sprintf(`histogram_count(rt_seconds{job=%q})`, job), func(s []testinfra.Sample) bool { return len(s) == 2 })
	}

	dir := t.TempDir()
	cfg := writeFile(t, dir, "liftpush.yml", "scrape_configs:\n"+jobs("viapush")+fmt.Sprintf(`remote_write:
  - url: %s
    send_native_histograms: true
`, prom.WriteURL()))
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg); res.ExitCode != 0 {
		t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	full := histogramBuckets(t, prom, `rt_seconds{job="direct"}`)
	for _, kind := range []string{"limit", "factor"} {
		want := histogramBuckets(t, prom, fmt.Sprintf(`rt_seconds{job="direct-%s"}`, kind))
		waitQuery(t, prom, fmt.Sprintf(`histogram_count(rt_seconds{job="viapush-%s"})`, kind), func(s []testinfra.Sample) bool { return len(s) == 2 })
		got := histogramBuckets(t, prom, fmt.Sprintf(`rt_seconds{job="viapush-%s"}`, kind))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: liftpush's buckets differ from Prometheus' (-prometheus +liftpush):\n%s", kind, diff)
		}
		if len(want["/api"]) >= len(full["/api"]) {
			t.Errorf("%s: /api has %d buckets, unreduced %d: the key reduced nothing", kind, len(want["/api"]), len(full["/api"]))
		}
		if kind == "limit" && len(got["/api"]) > 5 {
			t.Errorf("limit: /api has %d buckets, limit 5", len(got["/api"]))
		}
	}
}

// histogramBuckets returns the buckets of the native histograms selector
// finds, by path label, as the query API shows them ([boundary rule,
// lower, upper, count], strings).
func histogramBuckets(t *testing.T, prom *testinfra.Prometheus, selector string) map[string][][]any {
	t.Helper()
	resp, err := http.Get(prom.URL + "/api/v1/query?query=" + url.QueryEscape(selector))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric    map[string]string  `json:"metric"`
				Histogram [2]json.RawMessage `json:"histogram"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", selector, err)
	}
	out := map[string][][]any{}
	for _, r := range body.Data.Result {
		var h struct {
			Buckets [][]any `json:"buckets"`
		}
		if err := json.Unmarshal(r.Histogram[1], &h); err != nil {
			t.Fatalf("query %s: histogram %s: %v", selector, r.Histogram[1], err)
		}
		out[r.Metric["path"]] = h.Buckets
	}
	if len(out) == 0 {
		t.Fatalf("query %s: no native histogram", selector)
	}
	return out
}
