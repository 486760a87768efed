package kubernetes

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// TestMeasureShards is P4's sharding part (issue 20; DESIGN.md section 8):
// with LIFTPUSH_KUBE_SHARDS_N Deployments (default 100,000) in a real
// kube-apiserver, it measures
//   - one unsharded `run --once` against each of 4 shards (wall, peak RSS),
//     pushing into a receiver that discards what it gets;
//   - the daemon's steady state, watching (watch caches) and listing
//     (--no-kubernetes.watch), unsharded and as shard 0 of 4: RSS after
//     its cycles, peak RSS, and the median cycle after the first.
//
// The goal: the watching daemon under 300 MiB and a cycle under 1 s. With
// LIFTPUSH_KUBE_SHARDS_BASELINE naming another liftpush binary (an older
// build), the unsharded watching daemon is measured with it too, right
// after this build's, on the same apiserver. Slow (it creates the
// Deployments), so it only runs with LIFTPUSH_KUBE_SHARDS_MEASURE=1;
// hack/bench.sh sets it.
func TestMeasureShards(t *testing.T) {
	if os.Getenv("LIFTPUSH_KUBE_SHARDS_MEASURE") != "1" {
		t.Skip("set LIFTPUSH_KUBE_SHARDS_MEASURE=1 (hack/bench.sh does)")
	}
	n := 100000
	if v := os.Getenv("LIFTPUSH_KUBE_SHARDS_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("LIFTPUSH_KUBE_SHARDS_N=%q: %v", v, err)
		}
	}
	timeBin := testinfra.RequireBinary(t, "/usr/bin/time", "apt-get install -y time")
	bin := testinfra.Liftpush(t)
	srv := kubeapi.Start(t)
	ns := fmt.Sprintf("shards-%d", n)
	start := time.Now()
	srv.CreateDeployments(t, ns, n, 32)
	t.Logf("%d Deployments created in %s", n, time.Since(start).Round(time.Second))
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	// A cycle_timeout long enough for a list of them all on a loaded
	// machine: the measurement is of the work, not of the deadline.
	cfg := filepath.Join(t.TempDir(), "liftpush.yml")
	if err := os.WriteFile(cfg, []byte("global: {schedule: \"@every 5s\", cycle_timeout: 10m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--config.file=" + cfg, "--log.level=info", "--kubernetes.enabled", "--kubernetes.kubeconfig=" + srv.Kubeconfig,
		"--kubernetes.namespace=" + ns, "--remote-write.url=" + recv.URL + "/api/v1/write"}

	// run --once, unsharded and as 4 shards one after the other (as on
	// 4 nodes: each its own cost).
	once := func(label string, extra ...string) {
		cmd := exec.Command(timeBin, append([]string{"-v", bin, "run", "--once"}, append(slices.Clone(base), extra...)...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: %v\n%s", label, err, stderr.String())
			return
		}
		wall, rss := timeOutput(t, stderr.String())
		t.Logf("run --once %-13s wall %6.2f s, peak RSS %6.1f MiB, %s", label, wall.Seconds(), float64(rss)/1024, samplesOf(stderr.String()))
	}
	once("unsharded")
	for i := range 4 {
		once(fmt.Sprintf("shard %d of 4", i), "--shard="+strconv.Itoa(i), "--total-shards=4")
	}

	// The daemon's steady state.
	daemonOf := func(bin, label string, extra ...string) {
		p := testinfra.StartLiftpushBinary(t, bin, nil, append([]string{"run"}, append(slices.Clone(base), extra...)...)...)
		const cycles = 4
		deadline := time.Now().Add(10 * time.Minute)
		for strings.Count(p.Stderr(), `msg="cycle finished"`) < cycles {
			if time.Now().After(deadline) {
				t.Errorf("%s: fewer than %d cycles in 10 minutes:\n%s", label, cycles, p.Stderr())
				p.Kill()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		rss, hwm := procStatus(t, p.Pid(), "VmRSS"), procStatus(t, p.Pid(), "VmHWM")
		durations := cycleDurations(t, p.Stderr())
		first, rest := durations[0], slices.Sorted(slices.Values(durations[1:]))
		p.Signal(os.Interrupt)
		p.Wait(time.Minute)
		t.Logf("daemon %-26s RSS after %d cycles %6.1f MiB, peak %6.1f MiB; first cycle %6.2f s, then median %6.3f s (max %6.3f s)",
			label, cycles, float64(rss)/1024, float64(hwm)/1024, first.Seconds(), rest[len(rest)/2].Seconds(), rest[len(rest)-1].Seconds())
	}
	daemon := func(label string, extra ...string) { daemonOf(bin, label, extra...) }
	daemon("watching, unsharded")
	if old := os.Getenv("LIFTPUSH_KUBE_SHARDS_BASELINE"); old != "" {
		daemonOf(old, "watching, unsharded, baseline")
	}
	daemon("watching, shard 0 of 4", "--shard=0", "--total-shards=4")
	daemon("listing, unsharded", "--no-kubernetes.watch")
	daemon("listing, shard 0 of 4", "--no-kubernetes.watch", "--shard=0", "--total-shards=4")
}

var (
	cycleRe   = regexp.MustCompile(`msg="cycle finished" ok=\w+ duration=(\S+)`)
	samplesRe = regexp.MustCompile(`collector\.kubernetes\.samples=(\d+)`)
)

// timeOutput reads wall time and peak RSS (KiB) from /usr/bin/time -v.
func timeOutput(t *testing.T, out string) (time.Duration, int) {
	t.Helper()
	m, r := elapsedRe.FindStringSubmatch(out), maxRSSRe.FindStringSubmatch(out)
	if m == nil || r == nil {
		t.Fatalf("cannot parse /usr/bin/time output:\n%s", out)
	}
	h, _ := strconv.Atoi("0" + m[1])
	mins, _ := strconv.Atoi(m[2])
	secs, _ := strconv.ParseFloat(m[3], 64)
	rss, _ := strconv.Atoi(r[1])
	return time.Duration((float64(h*3600+mins*60) + secs) * float64(time.Second)), rss
}

func samplesOf(log string) string {
	if m := samplesRe.FindStringSubmatch(log); m != nil {
		return m[1] + " samples"
	}
	return "no summary line"
}

// procStatus reads one "kB" field of /proc/<pid>/status.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %q: %v", field, line, err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// cycleDurations are the durations of the daemon's summary lines, in order.
func cycleDurations(t *testing.T, log string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, m := range cycleRe.FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("cycle duration %q: %v", m[1], err)
		}
		out = append(out, d)
	}
	if len(out) < 2 {
		t.Fatalf("%d cycles in the log", len(out))
	}
	return out
}
