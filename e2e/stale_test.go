package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// The staleness tests (issue 9): a series that the last cycle delivered and
// this one lacks reads as absent in Prometheus at once, not for the
// 5-minute lookback, as after a Prometheus scrape.

// switchTarget is a scrape target whose exposition, or failure, the test
// switches.
type switchTarget struct {
	srv  *httptest.Server
	host string
	body atomic.Pointer[string]
	fail atomic.Bool // answer 500
}

func newSwitchTarget(t *testing.T, body string) *switchTarget {
	t.Helper()
	st := &switchTarget{}
	st.set(body)
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st.fail.Load() {
			http.Error(w, "exporter broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(*st.body.Load()))
	}))
	t.Cleanup(st.srv.Close)
	st.host = strings.TrimPrefix(st.srv.URL, "http://")
	return st
}

func (st *switchTarget) set(body string) { st.body.Store(&body) }

// staleConfig scrapes target (job stale) into url; spoolDir may be empty.
func staleConfig(t *testing.T, host, url, spoolDir, schedule string) string {
	t.Helper()
	spoolBlock := ""
	if spoolDir != "" {
		spoolBlock = fmt.Sprintf("spool: {dir: '%s'}\n", spoolDir)
	}
	sched := ""
	if schedule != "" {
		sched = fmt.Sprintf("  schedule: %q\n", schedule)
	}
	return tempFile(t, "liftpush.yml", fmt.Sprintf(`
global:
  cycle_timeout: 10s
%sscrape_configs:
  - {job_name: stale, scrape_timeout: 2s, static_configs: [{targets: ['%s']}]}
remote_write:
  - {name: prometheus, url: '%s'}
%s`, sched, host, url, spoolBlock))
}

const (
	staleBoth  = "# TYPE stale_a gauge\nstale_a 1\n# TYPE stale_b gauge\nstale_b 2\n"
	staleOnlyA = "# TYPE stale_a gauge\nstale_a 1\n"
)

// waitAbsent polls q until it returns nothing, for up to within, and
// returns how long that took.
func waitAbsent(t *testing.T, prom *testinfra.Prometheus, q string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		res := prom.Query(t, q)
		if len(res) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("query %q: still %v after %s, want nothing (a stale marker)", q, res, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2EStaleOnceRuns removes a series between two `run --once` processes
// sharing a spool dir: right after the second, an instant query no longer
// finds it, although the 5-minute lookback has not passed.
func TestE2EStaleOnceRuns(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	target := newSwitchTarget(t, staleBoth)
	cfg := staleConfig(t, target.host, prom.WriteURL(), t.TempDir(), "")

	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("run 1: exit code %d, want 0", res.ExitCode)
	}
	if v := prom.Value(t, `stale_b{job="stale"}`); v != 2 {
		t.Fatalf("stale_b after run 1 = %g, want 2", v)
	}

	target.set(staleOnlyA)
	first := time.Now()
	res = testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("run 2: exit code %d, want 0", res.ExitCode)
	}
	// Right after the run: no polling.
	if got := prom.Query(t, `stale_b{job="stale"}`); len(got) != 0 {
		t.Errorf("stale_b right after run 2 (%s after run 1): %v, want nothing", time.Since(first).Round(time.Millisecond), got)
	}
	if v := prom.Value(t, `stale_a{job="stale"}`); v != 1 {
		t.Errorf("stale_a after run 2 = %g, want 1", v)
	}
	// The stale marker is a sample: the series had a last value, and
	// ended at run 2.
	if v := prom.Value(t, `count_over_time(stale_b{job="stale"}[1h])`); v != 1 {
		t.Errorf("count_over_time(stale_b[1h]) = %g, want 1 (run 1's sample; the marker is not counted)", v)
	}
}

// TestE2EStaleDaemon removes a series from a running daemon's scrape: it
// reads as absent within a couple of cycles, while the other stays.
func TestE2EStaleDaemon(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	target := newSwitchTarget(t, staleBoth)
	cfg := staleConfig(t, target.host, prom.WriteURL(), "", "@every 1s")
	p := testinfra.StartLiftpush(t, nil, "run", "--config.file="+cfg)

	waitQuery(t, prom, `stale_b{job="stale"}`, valueIs(2))
	target.set(staleOnlyA)
	switched := time.Now()
	took := waitAbsent(t, prom, `stale_b{job="stale"}`, 10*time.Second)
	t.Logf("stale_b absent %s after it left the exposition", took.Round(time.Millisecond))
	waitQuery(t, prom, `timestamp(stale_a{job="stale"})`, newerThan(switched))
	if v := prom.Value(t, `stale_a{job="stale"}`); v != 1 {
		t.Errorf("stale_a = %g, want 1", v)
	}
	// It stays absent: no cycle sends it again.
	time.Sleep(1500 * time.Millisecond)
	if got := prom.Query(t, `stale_b{job="stale"}`); len(got) != 0 {
		t.Errorf("stale_b back: %v", got)
	}
	p.Signal(syscall.SIGTERM)
	if res := p.Wait(30 * time.Second); res.ExitCode != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", res.ExitCode)
	}
}

// TestE2EStaleFailingCollector makes a scrape target fail: its series read
// as absent at once, while liftpush_collector_up and up stay present at 0.
func TestE2EStaleFailingCollector(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	target := newSwitchTarget(t, staleBoth)
	cfg := staleConfig(t, target.host, prom.WriteURL(), t.TempDir(), "@every 1s")
	p := testinfra.StartLiftpush(t, nil, "run", "--config.file="+cfg)

	waitQuery(t, prom, `stale_a{job="stale"}`, valueIs(1))
	waitQuery(t, prom, `liftpush_collector_up{collector="scrape/stale"}`, valueIs(1))
	target.fail.Store(true)
	took := waitAbsent(t, prom, `{__name__=~"stale_a|stale_b",job="stale"}`, 10*time.Second)
	t.Logf("the failing target's series absent %s after it started failing", took.Round(time.Millisecond))
	if v := prom.Value(t, `liftpush_collector_up{collector="scrape/stale"}`); v != 0 {
		t.Errorf("liftpush_collector_up = %g, want 0", v)
	}
	if v := prom.Value(t, `up{job="stale"}`); v != 0 {
		t.Errorf("up{job=\"stale\"} = %g, want 0", v)
	}
	// Still so a few cycles later: self-metrics and up never go stale.
	time.Sleep(1500 * time.Millisecond)
	if v := prom.Value(t, `liftpush_collector_up{collector="scrape/stale"}`); v != 0 {
		t.Errorf("liftpush_collector_up = %g later, want 0", v)
	}
	if v := prom.Value(t, `up{job="stale"}`); v != 0 {
		t.Errorf("up{job=\"stale\"} = %g later, want 0", v)
	}
	if got := prom.Query(t, `{__name__=~"stale_a|stale_b",job="stale"}`); len(got) != 0 {
		t.Errorf("the failing target's series back: %v", got)
	}
	p.Signal(syscall.SIGTERM)
	if res := p.Wait(30 * time.Second); res.ExitCode != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", res.ExitCode)
	}
}
