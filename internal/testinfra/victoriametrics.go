package testinfra

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VictoriaMetrics is a single-node VictoriaMetrics (the Debian package,
// 1.79): a lenient remote-write 1.0 receiver that answers 204 to a 2.0 body
// and stores nothing, like Prometheus 2.42.
type VictoriaMetrics struct {
	URL string
}

// WriteURL is the remote-write endpoint.
func (vm *VictoriaMetrics) WriteURL() string { return vm.URL + "/api/v1/write" }

// StartVictoriaMetrics starts VictoriaMetrics on a free loopback port with
// its storage in a temp dir. Queries see the newest samples at once
// (-search.latencyOffset=0s would otherwise hide the last 30 s), and any
// sample age is kept (-retentionPeriod=100y).
func StartVictoriaMetrics(t testing.TB) *VictoriaMetrics {
	t.Helper()
	bin := RequireBinary(t, "victoria-metrics", "apt-get install -y --no-install-recommends victoria-metrics")
	dir := t.TempDir()
	port := FreePort(t)
	startProcess(t, dir, bin,
		"-httpListenAddr="+addr(port),
		"-storageDataPath="+filepath.Join(dir, "data"),
		"-retentionPeriod=100y",
		"-search.latencyOffset=0s",
		"-search.disableCache",
		"-loggerLevel=WARN",
	)
	vm := &VictoriaMetrics{URL: "http://" + addr(port)}
	waitReady(t, vm.URL+"/health", 30*time.Second)
	return vm
}

// Export returns the raw samples of every series matching the series
// selector match, through /api/v1/export, after flushing what was just
// written. New series still take a second or more to become searchable:
// poll (see ExportWait).
func (vm *VictoriaMetrics) Export(t testing.TB, match string) []Series {
	t.Helper()
	if resp, err := http.Get(vm.URL + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get(vm.URL + "/api/v1/export?match[]=" + url.QueryEscape(match))
	if err != nil {
		t.Fatalf("export %q: %v", match, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export %q: %s", match, resp.Status)
	}
	var out []Series
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Values     []json.RawMessage `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export %q: %v in %s", match, err, sc.Bytes())
		}
		s := Series{Metric: line.Metric}
		for i, raw := range line.Values {
			v, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
			if err != nil {
				t.Fatalf("export %q: value %s: %v", match, raw, err)
			}
			s.Samples = append(s.Samples, Point{T: line.Timestamps[i], V: v})
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("export %q: %v", match, err)
	}
	return out
}

// ExportWait polls Export until it returns at least n series, for up to
// 20 s, and returns the last answer.
func (vm *VictoriaMetrics) ExportWait(t testing.TB, match string, n int) []Series {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := vm.Export(t, match)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Query runs an instant query through VictoriaMetrics' Prometheus query
// API and returns the vector.
func (vm *VictoriaMetrics) Query(t testing.TB, q string) []Sample {
	t.Helper()
	return (&Prometheus{URL: vm.URL}).Query(t, q)
}

// QueryWait polls Query until it returns at least n samples, for up to
// 20 s (new series take a second or more to become searchable), and
// returns the last answer.
func (vm *VictoriaMetrics) QueryWait(t testing.TB, q string, n int) []Sample {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(vm.URL + "/internal/force_flush"); err == nil {
			resp.Body.Close()
		}
		got := vm.Query(t, q)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}
