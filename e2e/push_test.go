package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/ksmgen"
)

// ksmFile writes a deterministic kube-state-metrics-shaped exposition of n
// samples.
func ksmFile(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), fmt.Sprintf("ksm-%d.prom", n))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := ksmgen.Write(bw, n); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestE2EPushMillionSamples pushes a 1,000,000-sample kube-state-metrics
// shaped file (about 250 MB) with the default flags into a real Prometheus:
// every series must arrive. Before, the push stopped at the cycle timeout
// with a quarter of the file dropped. Wall time and peak RSS are logged for
// the record, not asserted.
func TestE2EPushMillionSamples(t *testing.T) {
	const n = 1_000_000
	prom := testinfra.StartPrometheus(t, "")
	file := ksmFile(t, n)
	p := testinfra.StartLiftpush(t, nil, "push", "--remote-write.url="+prom.WriteURL(), file)
	res := p.Wait(10 * time.Minute)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	t.Logf("push of %d samples: %s wall, %.0f MiB peak RSS", n, res.Wall.Round(time.Millisecond), float64(res.MaxRSS)/(1<<20))
	if got := prom.Value(t, `count({__name__=~"kube_.+"})`); got != n {
		t.Errorf("Prometheus holds %g series, want %d", got, n)
	}
	if !strings.Contains(res.Stderr, fmt.Sprintf("samples=%d", n)) || !strings.Contains(res.Stderr, fmt.Sprintf(".sent=%d", n)) {
		t.Errorf("summary line does not report %d samples sent:\n%s", n, res.Stderr)
	}
}

// receiver is a remote-write 1.0 receiver with a programmable pace: the
// one fault a real Prometheus cannot be made to produce on demand.
type receiver struct {
	// answer decides for the i-th request (from 0) whether to accept it
	// (after delay) or hang until the client gives up.
	answer func(i int) (delay time.Duration, hang bool)

	requests atomic.Int64
	mu       sync.Mutex
	samples  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(rc.requests.Add(1) - 1)
	delay, hang := rc.answer(i)
	// Read the body first: only then does the server notice a client
	// that gives up and end the request's context.
	body, _ := io.ReadAll(r.Body)
	if hang {
		<-r.Context().Done()
		return
	}
	time.Sleep(delay)
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.samples += len(req.Timeseries)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) accepted() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.samples
}

var stalledLine = regexp.MustCompile(`msg="receiver stalled, gave up".* sent=(\d+) not_sent=(\d+)`)

func TestE2EPushStallAndSlowReceiver(t *testing.T) {
	const n = 2000
	file := ksmFile(t, n)
	cfg := func(url string) string {
		return writeFile(t, t.TempDir(), "liftpush.yml", `
global:
  cycle_timeout: 2s
remote_write:
  - url: `+url+`
    remote_timeout: 500ms
    queue_config: {max_samples_per_send: 100, max_shards: 2, min_backoff: 10ms, max_backoff: 100ms}
`)
	}

	t.Run("slow receiver gets everything, past cycle_timeout", func(t *testing.T) {
		// 20 requests of 300 ms on 2 shards take 3 s, longer than the
		// 2 s cycle_timeout: no overall deadline, so nothing is dropped.
		rc := &receiver{answer: func(int) (time.Duration, bool) { return 300 * time.Millisecond, false }}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		res := testinfra.StartLiftpush(t, nil, "push", "-c", cfg(srv.URL), file).Wait(time.Minute)
		if res.ExitCode != 0 {
			t.Fatalf("exit code %d, want 0", res.ExitCode)
		}
		if got := rc.accepted(); got != n {
			t.Errorf("receiver accepted %d samples, want %d", got, n)
		}
	})

	t.Run("receiver that hangs after two batches is given up on", func(t *testing.T) {
		rc := &receiver{answer: func(i int) (time.Duration, bool) { return 0, i >= 2 }}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		res := testinfra.StartLiftpush(t, nil, "push", "-c", cfg(srv.URL), file).Wait(time.Minute)
		if res.ExitCode != 1 {
			t.Fatalf("exit code %d, want 1", res.ExitCode)
		}
		m := stalledLine.FindStringSubmatch(res.Stderr)
		if m == nil {
			t.Fatalf("no stall line in the log:\n%s", res.Stderr)
		}
		sent, _ := strconv.Atoi(m[1])
		notSent, _ := strconv.Atoi(m[2])
		if got := rc.accepted(); sent != got || sent != 200 {
			t.Errorf("log says sent=%d, receiver accepted %d, want both 200 (two batches)", sent, got)
		}
		if sent+notSent != n {
			t.Errorf("sent %d + not sent %d = %d, want every one of the %d samples accounted for", sent, notSent, sent+notSent, n)
		}
		if !regexp.MustCompile(`dropped_by_reason="?stalled=` + strconv.Itoa(notSent)).MatchString(res.Stderr) {
			t.Errorf("summary line has no stalled drop reason:\n%s", res.Stderr)
		}
	})
}

// TestE2EPushFarFutureSample pushes a sample a year ahead, then a current
// one, into a real Prometheus 2.42 (issue 22, reproduction 6). Forwarded,
// the far-future sample moves Prometheus' head a year ahead, and it then
// refuses every current sample with "400 out of bounds". It must be
// dropped before sending and counted as out_of_bounds; the good sample
// must arrive.
func TestE2EPushFarFutureSample(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	dir := t.TempDir()
	future := time.Now().Add(365 * 24 * time.Hour).UnixMilli()
	bad := writeFile(t, dir, "future.prom", fmt.Sprintf("hostile_far_future 1 %d\nhostile_same_file_ok 7\n", future))
	good := writeFile(t, dir, "good.prom", "hostile_after_future 42\n")

	res := testinfra.StartLiftpush(t, nil, "push", "--remote-write.url="+prom.WriteURL(), bad).Wait(time.Minute)
	if !regexp.MustCompile(`dropped_by_reason="?out_of_bounds=1\b`).MatchString(res.Stderr) {
		t.Errorf("first push: summary does not count the far-future sample as out_of_bounds:\n%s", res.Stderr)
	}
	if !strings.Contains(res.Stderr, `msg="sample too far in the future`) {
		t.Errorf("first push: the drop is not logged:\n%s", res.Stderr)
	}
	res = testinfra.StartLiftpush(t, nil, "push", "--remote-write.url="+prom.WriteURL(), good).Wait(time.Minute)
	if res.ExitCode != 0 {
		t.Fatalf("second push: exit code %d, want 0 (Prometheus refused a current sample?):\n%s", res.ExitCode, res.Stderr)
	}
	waitQuery(t, prom, "hostile_after_future", valueIs(42))
	waitQuery(t, prom, "hostile_same_file_ok", valueIs(7))
	// The far-future sample is not in Prometheus at its own time either.
	if got := prom.Query(t, fmt.Sprintf("hostile_far_future @ %d", future/1000)); len(got) != 0 {
		t.Errorf("Prometheus holds the far-future sample: %v", got)
	}
}
