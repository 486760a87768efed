package remotewrite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/spool"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// fakeWrite is a WriteClient without HTTP: it answers by mode and records
// the values of the samples it accepted, in order.
type fakeWrite struct {
	mu   sync.Mutex
	mode string // "down": 503; "no-v2": 415 to 2.0, 1.0 accepted; else accepted
	// delay holds every answer back (virtual time under synctest).
	delay time.Duration
	// log, when set, gets each accepted value as a line, synced before
	// Store returns: what a killed process had delivered survives it.
	log  *os.File
	got  []float64
	v2In int // 2.0 requests seen
}

func (f *fakeWrite) Name() string     { return "fake" }
func (f *fakeWrite) Endpoint() string { return "fake://" }

func (f *fakeWrite) Store(ctx context.Context, body []byte, message string, _ int) (Result, error) {
	f.mu.Lock()
	mode, delay := f.mode, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return Result{}, &push.RecoverableError{Err: ctx.Err()}
		}
	}
	switch {
	case mode == "down":
		return Result{}, &push.RecoverableError{Err: &push.HTTPError{Status: http.StatusServiceUnavailable}}
	case message == config.WriteRequestV2:
		f.mu.Lock()
		f.v2In++
		f.mu.Unlock()
		if mode == "no-v2" {
			return Result{}, &push.HTTPError{Status: http.StatusUnsupportedMediaType}
		}
		return Result{}, fmt.Errorf("the fake takes 1.0 only")
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return Result{}, err
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return Result{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ts := range req.Timeseries {
		for _, s := range ts.Samples {
			f.got = append(f.got, s.Value)
			if f.log != nil {
				fmt.Fprintln(f.log, s.Value)
			}
		}
	}
	if f.log != nil {
		if err := f.log.Sync(); err != nil {
			return Result{}, err
		}
	}
	return Result{Status: http.StatusNoContent}, nil
}

func (f *fakeWrite) set(mode string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.delay = mode, delay
}

func (f *fakeWrite) accepted() []float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]float64(nil), f.got...)
}

// spooledClient is a Client over wc with a spool in dir, batches of batch
// samples on four shards.
func spooledClient(t *testing.T, dir string, wc WriteClient, opts spool.Options, mod func(*config.RemoteWriteConfig)) (*Client, *spool.Spool) {
	t.Helper()
	cfg := testConfig(t, "http://fake/", func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 5
		c.QueueConfig.MaxShards = 4
		c.QueueConfig.MinBackoff = md(10 * time.Millisecond)
		c.QueueConfig.MaxBackoff = md(20 * time.Millisecond)
		if mod != nil {
			mod(c)
		}
	})
	sp, err := spool.Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sp.Queue(cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(cfg, wc, slog.New(slog.DiscardHandler))
	cl.SetSpool(q)
	return cl, sp
}

// values is a family of n series, one sample each, valued from..from+n-1:
// each value names one sample across the whole test.
func values(from, n int) []metric.Group {
	f := metric.Family{Name: "v", Type: "gauge"}
	for i := range n {
		v := from + i
		f.Samples = append(f.Samples, metric.Sample{Labels: labels.FromStrings("__name__", "v", "i", strconv.Itoa(v)), Value: float64(v), T: int64(v)})
	}
	return []metric.Group{{Families: []metric.Family{f}}}
}

// TestReplayHorizon: a delivery whose spool holds a backlog, part of it past
// max_age, while its own shards write ahead: the backlog is trimmed and
// replayed before the shards send, and every body the receiver accepts is
// accepted exactly once. A shard's record must never be replayed too.
func TestReplayHorizon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wc := &fakeWrite{mode: "down"}
		cl, sp := spooledClient(t, t.TempDir(), wc, spool.Options{MaxAge: time.Hour}, nil)
		defer sp.Close()
		deliver := func(from, n int, budget time.Duration) push.Report {
			ctx, cancel := context.WithTimeout(t.Context(), budget)
			defer cancel()
			return pushtest.Deliver(ctx, cl, push.Options{}, values(from, n))
		}
		// 200 samples kept while down, then 50 minutes later 100 more:
		// 20 minutes after that, the first 200 are past max_age.
		if rep := deliver(0, 200, time.Second); rep.Spooled != 200 {
			t.Fatalf("while down: %+v, want 200 spooled", rep)
		}
		time.Sleep(50 * time.Minute)
		if rep := deliver(1000, 100, time.Second); rep.Spooled != 100 || rep.DroppedTotal() != 0 {
			t.Fatalf("while down: %+v, want 100 spooled, none dropped", rep)
		}
		time.Sleep(20 * time.Minute)
		// Back, but slow: the replay is still sending while the shards
		// write their batches ahead.
		wc.set("up", 50*time.Millisecond)
		rep := deliver(2000, 300, time.Hour)
		if rep.Replayed != 100 || rep.Sent != 300 || rep.Spooled != 0 || rep.DroppedTotal() != 200 || rep.Dropped["spool_max_age"] != 200 {
			t.Fatalf("back: %+v, want 100 replayed, 300 sent, 200 dropped as spool_max_age", rep)
		}
		seen := map[float64]int{}
		for _, v := range wc.accepted() {
			seen[v]++
		}
		for v, n := range seen {
			if n != 1 {
				t.Errorf("sample %g accepted %d times", v, n)
			}
		}
		for _, r := range [][2]int{{1000, 100}, {2000, 300}} {
			for v := r[0]; v < r[0]+r[1]; v++ {
				if seen[float64(v)] != 1 {
					t.Errorf("sample %d accepted %d times, want once", v, seen[float64(v)])
				}
			}
		}
		if len(seen) != 400 {
			t.Errorf("%d samples accepted, want 400", len(seen))
		}
		if st := cl.Stats().Spool; st.Records != 0 {
			t.Errorf("spool holds %d records after the delivery", st.Records)
		}
	})
}

// The fallback crash test runs this test binary again as the sender, and
// kills it with SIGKILL at one step of a record's life.
const (
	crashStepEnv = "LIFTPUSH_RW_CRASH_STEP" // step/n: the n-th time step is reached
	crashDirEnv  = "LIFTPUSH_RW_CRASH_DIR"
	crashSamples = 40
)

// TestCrashHelper is no test of its own: it is the sender of
// TestFallbackCrash. It pushes crashSamples samples as 2.0 to a receiver
// that answers 415, so the first batch is written ahead as 2.0, refused and
// replaced by a 1.0 record, and later ones are written as 1.0. Each batch
// written to the spool has its samples logged to "written" first; the
// receiver logs what it accepted to "accepted".
func TestCrashHelper(t *testing.T) {
	env := os.Getenv(crashStepEnv)
	if env == "" {
		t.Skip("the sender of TestFallbackCrash")
	}
	step, nth, _ := strings.Cut(env, "/")
	dir := os.Getenv(crashDirEnv)
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	written := open("written")
	wc := &fakeWrite{mode: "no-v2", log: open("accepted")}
	cl, sp := spooledClient(t, filepath.Join(dir, "spool"), wc, spool.Options{}, func(c *config.RemoteWriteConfig) {
		c.ProtobufMessage = config.WriteRequestV2
	})
	var mu sync.Mutex
	seen := map[string]int{}
	crashPoint = func(s string, b *batch) {
		mu.Lock()
		defer mu.Unlock()
		if s == "ahead" {
			for _, smp := range b.samples {
				fmt.Fprintln(written, smp.Value)
			}
			if err := written.Sync(); err != nil {
				panic(err)
			}
		}
		if seen[s]++; s == step && strconv.Itoa(seen[s]) == nth {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, values(0, crashSamples))
	_ = sp.Close()
	fmt.Printf("finished: %+v\n", rep)
}

// TestFallbackCrash: kill -9 at every step of the 2.0 to 1.0 fallback loses
// nothing written to the spool: each such sample was accepted before the
// kill, or is in the spool and the next process delivers it.
func TestFallbackCrash(t *testing.T) {
	for _, step := range []string{"ahead/1", "ahead/3", "refused/1", "replaced/1", "sent/1", "sent/2", "sent/4"} {
		t.Run(strings.ReplaceAll(step, "/", "#"), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
			cmd.Env = append(os.Environ(), crashStepEnv+"="+step, crashDirEnv+"="+dir)
			cmd.SysProcAttr = testinfra.SysProcAttr()
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the sender was not killed at %s: %v\n%s", step, err, out)
			}
			written := readValues(t, filepath.Join(dir, "written"))
			if len(written) == 0 {
				t.Fatal("nothing was written to the spool before the kill")
			}
			before := readValues(t, filepath.Join(dir, "accepted"))
			// The next process replays what the spool holds. The sender
			// remembered the fallback: 2.0 records go as 1.0.
			wc := &fakeWrite{mode: "no-v2"}
			cl, sp := spooledClient(t, filepath.Join(dir, "spool"), wc, spool.Options{}, func(c *config.RemoteWriteConfig) {
				c.ProtobufMessage = config.WriteRequestV2
			})
			defer sp.Close()
			if rep := pushtest.Deliver(t.Context(), cl, push.Options{}, nil); rep.Err != nil {
				t.Fatalf("replay after the crash: %+v", rep)
			}
			got := map[float64]bool{}
			for _, v := range append(before, wc.accepted()...) {
				got[v] = true
			}
			for _, v := range written {
				if !got[v] {
					t.Errorf("sample %g lost: written to the spool, but neither accepted before the kill at %s nor replayed after", v, step)
				}
			}
		})
	}
}

func readValues(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, err := strconv.ParseFloat(strings.TrimSpace(sc.Text()), 64)
		if err != nil || math.IsNaN(v) {
			t.Fatalf("%s: %q", path, sc.Text())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return out
}
