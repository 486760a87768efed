package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2ETrackTimestampsStaleness: a series the target stamps with its own
// timestamp gets no stale marker when it vanishes, unless the job sets
// track_timestamps_staleness: true; a series without one always does.
// Prometheus 3.16 scraping the same target with the same jobs is the
// reference: after the series vanish, the same names are left.
func TestE2ETrackTimestampsStaleness(t *testing.T) {
	var gone atomic.Bool
	stamp := time.Now().Add(-time.Second).UnixMilli()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if gone.Load() {
			fmt.Fprint(w, "# TYPE other_gauge gauge\nother_gauge 1\n")
			return
		}
		fmt.Fprintf(w, "# TYPE stamped_gauge gauge\nstamped_gauge 1 %d\n# TYPE plain_gauge gauge\nplain_gauge 1\n", stamp)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	jobs := func(prefix string) string {
		return fmt.Sprintf(`  - job_name: %[1]s-default
    static_configs: [{targets: [%[2]q]}]
  - job_name: %[1]s-track
    track_timestamps_staleness: true
    static_configs: [{targets: [%[2]q]}]
`, prefix, host)
	}
	prom := testinfra.StartPrometheus3Scraping(t, jobs("direct"))
	for _, job := range []string{"direct-default", "direct-track"} {
		waitQuery(t, prom, fmt.Sprintf(`stamped_gauge{job=%q}`, job), nil)
	}

	dir := t.TempDir()
	cfg := writeFile(t, dir, "liftpush.yml", "scrape_configs:\n"+jobs("viapush")+fmt.Sprintf(`remote_write:
  - url: %s
spool:
  dir: %s
`, prom.WriteURL(), dir+"/spool"))
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg); res.ExitCode != 0 {
		t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	names := func(job string) []string {
		var out []string
		for _, s := range prom.Query(t, fmt.Sprintf(`group by (__name__) ({job=%q, __name__=~"stamped_gauge|plain_gauge"})`, job)) {
			out = append(out, s.Metric["__name__"])
		}
		slices.Sort(out)
		return out
	}
	if got := names("viapush-default"); !cmp.Equal(got, []string{"plain_gauge", "stamped_gauge"}) {
		t.Fatalf("after the first run: %v", got)
	}

	gone.Store(true)
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg); res.ExitCode != 0 {
		t.Fatalf("run --once after the series vanished: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	for _, job := range []string{"direct-default", "direct-track"} {
		waitQuery(t, prom, fmt.Sprintf(`other_gauge{job=%q}`, job), nil)
	}
	for _, kind := range []string{"default", "track"} {
		want := names("direct-" + kind)
		if got := names("viapush-" + kind); !cmp.Equal(want, got) {
			t.Errorf("%s: left after the series vanished: liftpush %v, Prometheus %v", kind, got, want)
		}
	}
	// The reference itself, so that the comparison above cannot pass on
	// two wrong answers.
	if got := names("direct-default"); !cmp.Equal(got, []string{"stamped_gauge"}) {
		t.Errorf("Prometheus without track_timestamps_staleness kept %v, want [stamped_gauge]", got)
	}
	if got := names("direct-track"); len(got) != 0 {
		t.Errorf("Prometheus with track_timestamps_staleness kept %v, want none", got)
	}
}
