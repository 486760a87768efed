package e2e

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/spool"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// The spool tests (issue 9): what liftpush collects survives a receiver
// outage, a restart and kill -9, exactly once, in order; the spool's limits
// drop the oldest; a final refusal is never retried.

// seqSource is a scrape target whose one series, spool_seq, is the number
// of the request: every cycle collects a value no other cycle has, so
// Prometheus shows which cycles arrived, and how often.
type seqSource struct {
	srv  *httptest.Server
	host string

	mu     sync.Mutex
	served []time.Time // served[i]: when value i+1 was served
}

func newSeqSource(t *testing.T) *seqSource {
	t.Helper()
	s := &seqSource{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.served = append(s.served, time.Now())
		n := len(s.served)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP spool_seq The number of this scrape.\n# TYPE spool_seq gauge\nspool_seq %d\n", n)
	}))
	t.Cleanup(s.srv.Close)
	s.host = strings.TrimPrefix(s.srv.URL, "http://")
	return s
}

// count is how many values the source has served: 1..count.
func (s *seqSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.served)
}

// servedAt is when value v was served.
func (s *seqSource) servedAt(v int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[v-1]
}

// waitServed waits until the source has served n values.
func (s *seqSource) waitServed(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the source served %d values in %s, want %d", s.count(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seqOpts shapes a liftpush config that scrapes a seqSource (job src) into
// one remote-write destination named edge.
type seqOpts struct {
	schedule     string // empty: none (run --once)
	cycleTimeout string
	url          string
	dir          string // spool dir
	maxSize      string // default 512MiB
	maxAge       string // default 2h
	maxShards    int    // 0: the default
}

func (s *seqSource) config(t *testing.T, o seqOpts) string {
	t.Helper()
	if o.maxSize == "" {
		o.maxSize = "512MiB"
	}
	if o.maxAge == "" {
		o.maxAge = "2h"
	}
	global := "  cycle_timeout: " + o.cycleTimeout + "\n"
	if o.schedule != "" {
		global += fmt.Sprintf("  schedule: %q\n", o.schedule)
	}
	queue := "min_backoff: 20ms, max_backoff: 200ms"
	if o.maxShards > 0 {
		queue += ", max_shards: " + strconv.Itoa(o.maxShards)
	}
	return tempFile(t, "liftpush.yml", fmt.Sprintf(`
global:
%sscrape_configs:
  - {job_name: src, scrape_timeout: 1s, static_configs: [{targets: ['%s']}]}
remote_write:
  - {name: edge, url: '%s', queue_config: {%s}}
spool: {dir: '%s', max_size: %s, max_age: %s}
`, global, s.host, o.url, queue, o.dir, o.maxSize, o.maxAge))
}

// seqInProm counts the samples of each spool_seq value that Prometheus
// stored in the last hour: a range-vector query returns the stored samples
// as they are, so a value delivered twice (at two timestamps) counts 2.
func seqInProm(t *testing.T, prom *testinfra.Prometheus) map[int]int {
	t.Helper()
	series := prom.RawSamples(t, `spool_seq{job="src"}`, time.Hour)
	if len(series) > 1 {
		t.Fatalf("spool_seq: %d series, want 1: %v", len(series), series)
	}
	got := map[int]int{}
	for _, s := range series {
		for i, p := range s.Samples {
			if i > 0 && p.T <= s.Samples[i-1].T {
				t.Errorf("spool_seq: samples not in time order at %d", i)
			}
			got[int(p.V)]++
		}
	}
	return got
}

// seqProblems compares what Prometheus holds with the values 1..n, each
// wanted once: it lists the missing, the duplicated and the unexpected.
func seqProblems(got map[int]int, n int) string {
	var missing, dup, extra []int
	for v := 1; v <= n; v++ {
		switch c := got[v]; {
		case c == 0:
			missing = append(missing, v)
		case c > 1:
			dup = append(dup, v)
		}
	}
	for v := range got {
		if v < 1 || v > n {
			extra = append(extra, v)
		}
	}
	slices.Sort(extra)
	if len(missing)+len(dup)+len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("missing %v, more than once %v, never served %v", missing, dup, extra)
}

// waitSeq polls Prometheus until it holds every value 1..n; it returns how
// long that took, and whether it happened within the time given.
func waitSeq(t *testing.T, prom *testinfra.Prometheus, n int, within time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		got := seqInProm(t, prom)
		all := true
		for v := 1; v <= n && all; v++ {
			all = got[v] > 0
		}
		if all {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// summaryRE finds the cycle summary lines.
const summaryMsg = `msg="cycle finished"`

// destCount reads destination.<dest>.<key>=N from a summary line; -1 when
// absent.
func destCount(line, dest, key string) int {
	m := regexp.MustCompile(`destination\.` + regexp.QuoteMeta(dest) + `\.` + key + `=(\d+)`).FindStringSubmatch(line)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// dropCount reads the samples dropped for reason from a summary line's
// dropped_by_reason; 0 when absent.
func dropCount(line, dest, reason string) int {
	m := regexp.MustCompile(`destination\.` + regexp.QuoteMeta(dest) + `\.dropped_by_reason="?([^" ]*)`).FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	for _, kv := range strings.Split(m[1], ",") {
		k, v, _ := strings.Cut(kv, "=")
		if k == reason {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// summaryLine returns the one cycle summary of a run --once log.
func summaryLine(t *testing.T, log string) string {
	t.Helper()
	lines := logLines(log, summaryMsg)
	if len(lines) != 1 {
		t.Fatalf("%d cycle summaries, want 1:\n%s", len(lines), log)
	}
	return lines[0]
}

// queueDir is the directory of destination dest's queue in spool dir.
func queueDir(dir, dest string) string { return filepath.Join(dir, config.DirName(dest)) }

// recordFiles lists the record files and the leftover temp files of a
// queue dir.
func recordFiles(t *testing.T, qdir string) (records, temps []string) {
	t.Helper()
	ents, err := os.ReadDir(qdir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case strings.HasSuffix(e.Name(), ".rec"):
			records = append(records, e.Name())
		case strings.HasSuffix(e.Name(), ".tmp"):
			temps = append(temps, e.Name())
		}
	}
	return records, temps
}

// spooledSeq reads the spool_seq values, and the samples, that the queue of
// dest holds. It reads a copy of the spool dir with the spool package, so
// that the dir stays exactly as a crash left it for the next liftpush.
func spooledSeq(t *testing.T, dir, dest string) (values map[int]bool, samples int) {
	t.Helper()
	cp := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(cp, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(cp, rel), b, 0o600)
	})
	if err != nil {
		t.Fatalf("copying the spool dir: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sp, err := spool.Open(ctx, cp, spool.Options{})
	if err != nil {
		t.Fatalf("opening a copy of the spool: %v", err)
	}
	defer sp.Close()
	q, err := sp.Queue(dest)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := q.Pending()
	if err != nil {
		t.Fatal(err)
	}
	values = map[int]bool{}
	for _, e := range pending {
		rec, err := q.Read(e.Seq)
		if err != nil {
			t.Errorf("spool record %d unreadable: %v", e.Seq, err)
			continue
		}
		samples += rec.Samples
		vals, _, err := decodeSeq(rec.Body)
		if err != nil {
			t.Errorf("spool record %d: %v", e.Seq, err)
		}
		for _, v := range vals {
			values[v] = true
		}
	}
	return values, samples
}

// decodeSeq decodes a remote-write 1.0 body and returns its spool_seq
// values, its sample count and, by series "name/reason", the values of the
// liftpush_spool_* self-metrics it carries.
func decodeSeq(body []byte) (seq []int, samples int, err error) {
	seq, samples, _, err = decodeBody(body)
	return seq, samples, err
}

func decodeBody(body []byte) (seq []int, samples int, self map[string]float64, err error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("snappy: %w", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, 0, nil, fmt.Errorf("protobuf: %w", err)
	}
	self = map[string]float64{}
	for _, ts := range req.Timeseries {
		samples += len(ts.Samples)
		var name, reason string
		for _, l := range ts.Labels {
			switch l.Name {
			case "__name__":
				name = l.Value
			case "reason":
				reason = l.Value
			}
		}
		for _, s := range ts.Samples {
			switch {
			case name == "spool_seq":
				seq = append(seq, int(s.Value))
			case strings.HasPrefix(name, "liftpush_spool_"):
				self[name+"/"+reason] = s.Value
			}
		}
	}
	return seq, samples, self, nil
}

// sinkMode is what a spoolSink answers.
type sinkMode int32

const (
	sinkAccept      sinkMode = iota // 204
	sinkUnavailable                 // 503, which liftpush retries
	sinkHang                        // no answer until the client goes away
	sinkBadRequest                  // 400, final
	sinkTooOld                      // 500 "too old sample", final
)

// sinkRequest is one request a spoolSink got.
type sinkRequest struct {
	at      time.Time
	mode    sinkMode // what it was answered
	retry   bool     // it carried Retry-Attempt
	seq     []int    // its spool_seq values
	samples int
	self    map[string]float64 // liftpush_spool_* values, by "name/reason"
}

// spoolSink is a remote-write 1.0 receiver whose answer the test switches;
// it decodes every body it gets and records it.
type spoolSink struct {
	srv  *httptest.Server
	mode atomic.Int32

	mu   sync.Mutex
	reqs []sinkRequest
}

func newSpoolSink(t *testing.T, mode sinkMode) *spoolSink {
	t.Helper()
	k := &spoolSink{}
	k.mode.Store(int32(mode))
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server notice a
		// client that gives up, and end the request's context.
		body, _ := io.ReadAll(r.Body)
		mode := sinkMode(k.mode.Load())
		seq, samples, self, err := decodeBody(body)
		k.mu.Lock()
		k.reqs = append(k.reqs, sinkRequest{at: time.Now(), mode: mode, retry: r.Header.Get("Retry-Attempt") != "", seq: seq, samples: samples, self: self})
		k.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch mode {
		case sinkAccept:
			w.WriteHeader(http.StatusNoContent)
		case sinkUnavailable:
			http.Error(w, "receiver restarting", http.StatusServiceUnavailable)
		case sinkHang:
			<-r.Context().Done()
		case sinkBadRequest:
			http.Error(w, "out of bounds", http.StatusBadRequest)
		case sinkTooOld:
			http.Error(w, "too old sample", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *spoolSink) url() string { return k.srv.URL + "/api/v1/write" }

func (k *spoolSink) set(m sinkMode) { k.mode.Store(int32(m)) }

// requests returns the requests from the i-th on.
func (k *spoolSink) requests(from int) []sinkRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	if from >= len(k.reqs) {
		return nil
	}
	return slices.Clone(k.reqs[from:])
}

// accepted counts, per spool_seq value, the bodies answered 204.
func (k *spoolSink) accepted() map[int]int {
	out := map[int]int{}
	for _, r := range k.requests(0) {
		if r.mode == sinkAccept {
			for _, v := range r.seq {
				out[v]++
			}
		}
	}
	return out
}

// TestE2ESpoolOutageDaemon stops Prometheus under a running daemon for ten
// cycles and starts it again on the same port and TSDB: every value the
// source served is in Prometheus exactly once, and the backlog is in
// within 10 s of the restart.
func TestE2ESpoolOutageDaemon(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	src := newSeqSource(t)
	dir := t.TempDir()
	cfg := src.config(t, seqOpts{schedule: "@every 1s", cycleTimeout: "2s", url: prom.WriteURL(), dir: dir})
	p := testinfra.StartLiftpush(t, nil, "run", "--config.file="+cfg)

	src.waitServed(t, 3, 15*time.Second)
	if took, ok := waitSeq(t, prom, 3, 10*time.Second); !ok {
		t.Fatalf("values 1..3 not in Prometheus after %s: %s", took, seqProblems(seqInProm(t, prom), 3))
	}

	prom.Stop(t)
	down := src.count()
	stoppedAt := time.Now()
	// Ten cycles while Prometheus is away: each gives up at its 2 s
	// cycle_timeout and keeps its data in the spool.
	src.waitServed(t, down+10, 40*time.Second)
	prom.Start(t)
	recovered := time.Now()
	backlog := src.count()
	t.Logf("Prometheus down for %s: values %d..%d collected meanwhile", recovered.Sub(stoppedAt).Round(time.Millisecond), down+1, backlog)

	took, ok := waitSeq(t, prom, backlog, 10*time.Second)
	t.Logf("recovery: values 1..%d all in Prometheus %s after it was ready again", backlog, took.Round(time.Millisecond))
	if !ok {
		t.Errorf("the backlog did not arrive within 10 s of recovery: %s", seqProblems(seqInProm(t, prom), backlog))
	}

	// Two more cycles, live: the spool self-metrics, taken at the start of
	// a cycle, then show it empty.
	src.waitServed(t, backlog+2, 15*time.Second)
	p.Signal(syscall.SIGTERM)
	res := p.Wait(30 * time.Second)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", res.ExitCode)
	}
	n := src.count()
	if _, ok := waitSeq(t, prom, n, 5*time.Second); !ok {
		t.Logf("not every value arrived after SIGTERM")
	}
	if problems := seqProblems(seqInProm(t, prom), n); problems != "" {
		t.Errorf("Prometheus does not hold each of the %d values served exactly once: %s", n, problems)
	}

	var spooled, replayed int
	for _, l := range logLines(res.Stderr, summaryMsg) {
		spooled += max(destCount(l, "edge", "spooled"), 0)
		replayed += max(destCount(l, "edge", "replayed"), 0)
	}
	t.Logf("summaries: %d samples spooled, %d replayed", spooled, replayed)
	if spooled == 0 || replayed != spooled {
		t.Errorf("summaries count %d samples spooled and %d replayed, want the same, not 0", spooled, replayed)
	}
	if strings.Contains(res.Stderr, "panic") {
		t.Errorf("panic in the log")
	}
	// The backlog shows in the self-metrics, which went through the spool
	// too; it is gone at the end.
	if v := prom.Value(t, `max_over_time(liftpush_spool_records{destination="edge"}[1h])`); v < 1 {
		t.Errorf("liftpush_spool_records never above %g during the outage", v)
	}
	if v := prom.Value(t, `last_over_time(liftpush_spool_records{destination="edge"}[1h])`); v != 0 {
		t.Errorf("liftpush_spool_records = %g at the end, want 0", v)
	}
	if recs, _ := recordFiles(t, queueDir(dir, "edge")); len(recs) != 0 {
		t.Errorf("records left in the spool: %v", recs)
	}
}

// TestE2ESpoolOutageCronJob runs 25 `run --once` processes, one a second,
// sharing a spool dir, with Prometheus down for runs 8 to 17: those exit 1
// keeping their data, the 18th replays it, and Prometheus holds 1..25 once
// each.
func TestE2ESpoolOutageCronJob(t *testing.T) {
	const runs, downFrom, downTo = 25, 8, 17
	prom := testinfra.StartPrometheus(t, "")
	src := newSeqSource(t)
	dir := t.TempDir()
	cfg := src.config(t, seqOpts{cycleTimeout: "2s", url: prom.WriteURL(), dir: dir})

	start := time.Now()
	summaries := make([]string, runs+1)
	var logs strings.Builder
	spooledDown := 0
	for i := 1; i <= runs; i++ {
		switch i {
		case downFrom:
			prom.Stop(t)
		case downTo + 1:
			prom.Start(t)
		}
		// One a second, as a CronJob would start them, but never two
		// at once (concurrencyPolicy: Forbid).
		time.Sleep(time.Until(start.Add(time.Duration(i-1) * time.Second)))
		res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
		logs.WriteString(res.Stderr)
		want := 0
		if i >= downFrom && i <= downTo {
			want = 1
		}
		if res.ExitCode != want {
			t.Errorf("run %d: exit code %d, want %d; log:\n%s", i, res.ExitCode, want, res.Stderr)
		}
		if res.Wall > 4*time.Second {
			t.Errorf("run %d took %s, want it to give up at its 2s cycle_timeout", i, res.Wall.Round(time.Millisecond))
		}
		summaries[i] = summaryLine(t, res.Stderr)
		if want == 1 {
			n := destCount(summaries[i], "edge", "spooled")
			if n <= 0 {
				t.Errorf("run %d during the outage spooled nothing:\n%s", i, summaries[i])
			}
			spooledDown += n
		}
	}
	if n := src.count(); n != runs {
		t.Fatalf("the source served %d values, want %d (one per run)", n, runs)
	}
	if got := destCount(summaries[downTo+1], "edge", "replayed"); got != spooledDown {
		t.Errorf("run %d replayed %d samples, want the %d runs %d..%d spooled:\n%s", downTo+1, got, spooledDown, downFrom, downTo, summaries[downTo+1])
	}
	if problems := seqProblems(seqInProm(t, prom), runs); problems != "" {
		t.Errorf("Prometheus does not hold each of the values 1..%d exactly once: %s", runs, problems)
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("panic in a log")
	}
	if recs, _ := recordFiles(t, queueDir(dir, "edge")); len(recs) != 0 {
		t.Errorf("records left in the spool: %v", recs)
	}
}

// killRun is one run --once process of TestE2ESpoolKill9.
type killRun struct {
	delay     time.Duration // from start to SIGKILL
	exited    int           // exit code when it ended before the kill; -1 when killed
	value     int           // the spool_seq value it collected; 0 when none
	served    time.Duration // when the source served it, from start
	firstReq  time.Duration // first request at the receiver, from start; -1: none
	ownSent   bool          // a request carried this run's value
	persisted bool          // its value is in the spool after the kill
	temps     int           // temp files the kill left
	present   bool          // in Prometheus at the end
}

// TestE2ESpoolKill9 SIGKILLs 40 `run --once` processes at random instants
// while their receiver hangs, then runs clean ones against Prometheus with
// the same spool dir and destination name: nothing panics, nothing is
// corrupt, every value that reached the spool arrives exactly once, and a
// cycle may be lost only if it was killed before it was on disk.
func TestE2ESpoolKill9(t *testing.T) {
	const runs = 40
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIFTPUSH_KILL9_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set LIFTPUSH_KILL9_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	prom := testinfra.StartPrometheus(t, "")
	src := newSeqSource(t)
	sink := newSpoolSink(t, sinkHang)
	dir := t.TempDir()
	qdir := queueDir(dir, "edge")
	// cycle_timeout 1s: a run gives up on the hanging receiver, spools
	// what it holds and exits after about a second, so the kills (150 ms
	// to 1.5 s) fall on both sides of that instant.
	hang := src.config(t, seqOpts{cycleTimeout: "1s", url: sink.url(), dir: dir})
	clean := src.config(t, seqOpts{cycleTimeout: "10s", url: prom.WriteURL(), dir: dir})

	var logs strings.Builder
	kr := make([]killRun, runs)
	for i := range kr {
		r := &kr[i]
		r.delay = 150*time.Millisecond + time.Duration(rng.Int64N(int64(1350*time.Millisecond)))
		before, reqs := src.count(), len(sink.requests(0))
		p := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+hang)
		start := time.Now()
		time.Sleep(time.Until(start.Add(r.delay)))
		p.Kill()
		res := p.Wait(10 * time.Second)
		logs.WriteString(res.Stderr)
		r.exited = res.ExitCode
		r.firstReq = -1
		for _, q := range sink.requests(reqs) {
			if r.firstReq < 0 {
				r.firstReq = q.at.Sub(start)
			}
		}
		switch after := src.count(); after - before {
		case 0:
		case 1:
			r.value = after
			r.served = src.servedAt(after).Sub(start)
		default:
			t.Fatalf("run %d: the source served %d values, want at most 1", i+1, after-before)
		}
		for _, q := range sink.requests(reqs) {
			if slices.Contains(q.seq, r.value) && r.value > 0 {
				r.ownSent = true
			}
		}
		vals, _ := spooledSeq(t, dir, "edge")
		r.persisted = r.value > 0 && vals[r.value]
		_, temps := recordFiles(t, qdir)
		r.temps = len(temps)
	}
	pendingVals, pendingSamples := spooledSeq(t, dir, "edge")

	// Clean runs: the first replays the backlog.
	const cleanRuns = 3
	var cleanReplayed int
	for i := 0; i < cleanRuns; i++ {
		res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+clean).Wait(time.Minute)
		logs.WriteString(res.Stderr)
		if res.ExitCode != 0 {
			t.Errorf("clean run %d: exit code %d, want 0; log:\n%s", i+1, res.ExitCode, res.Stderr)
		}
		if i == 0 {
			cleanReplayed = destCount(summaryLine(t, res.Stderr), "edge", "replayed")
		}
	}
	n := src.count()
	got := seqInProm(t, prom)

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "run  kill_ms  exit  value  served_ms  1st_req_ms  own_sent  on_disk  temps  present\n")
	var lost, notOnDisk, noRequest, lostAfterRequest int
	for i, r := range kr {
		r.present = r.value > 0 && got[r.value] > 0
		kr[i].present = r.present
		req := "-"
		if r.firstReq >= 0 {
			req = strconv.FormatInt(r.firstReq.Milliseconds(), 10)
		}
		served := "-"
		if r.value > 0 {
			served = strconv.FormatInt(r.served.Milliseconds(), 10)
		}
		fmt.Fprintf(&tbl, "%3d  %7d  %4d  %5d  %9s  %10s  %8v  %7v  %5d  %7v\n",
			i+1, r.delay.Milliseconds(), r.exited, r.value, served, req, r.ownSent, r.persisted, r.temps, r.present)
		if r.value == 0 {
			continue
		}
		if !r.present {
			lost++
		}
		if !r.persisted {
			notOnDisk++
		}
		// A request before the kill: write-ahead means the cycle was on
		// disk by then (the brief's criterion).
		killedBeforeRequest := r.firstReq < 0 || r.firstReq > r.delay
		if killedBeforeRequest {
			noRequest++
		} else if !r.present {
			lostAfterRequest++
		}
		if (r.persisted || r.ownSent) && !r.present {
			t.Errorf("run %d: value %d was on disk (or at the receiver) before the kill, and is not in Prometheus", i+1, r.value)
		}
	}
	t.Logf("kill -9 table (times from the process start; exit -1 = killed):\n%s", tbl.String())
	// The kill-to-persist window: up to when a kill lost the cycle, from
	// when it no longer did, for the runs that had a backlog to replay
	// first (every run after the first persisted one).
	var lastLost, firstKept, lastServed time.Duration = -1, -1, 0
	for _, r := range kr[1:] {
		if r.value == 0 {
			continue
		}
		lastServed = max(lastServed, r.served)
		if !r.persisted && r.delay > lastLost {
			lastLost = r.delay
		}
		if r.persisted && r.exited == -1 && (firstKept < 0 || r.delay < firstKept) {
			firstKept = r.delay
		}
	}
	ms := func(d time.Duration) string {
		if d < 0 {
			return "none"
		}
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	t.Logf("runs with a backlog: every value was served by %s after the start; the latest kill that lost its cycle came at %s; the earliest kill of a running process that did not, at %s",
		ms(lastServed), ms(lastLost), ms(firstKept))
	t.Logf("%d runs, %d values collected, %d lost; %d never on disk; %d killed before any request reached the receiver; %d lost although a request had",
		runs, n-cleanRuns, lost, notOnDisk, noRequest, lostAfterRequest)

	// Every value that reached the spool is there exactly once, and so
	// are the clean runs': no value twice, none that was never served.
	for v, c := range got {
		if c > 1 {
			t.Errorf("value %d is in Prometheus %d times", v, c)
		}
		if v < 1 || v > n {
			t.Errorf("value %d in Prometheus was never served", v)
		}
	}
	for v := range pendingVals {
		if got[v] != 1 {
			t.Errorf("value %d was in the spool before the clean runs; Prometheus holds it %d times", v, got[v])
		}
	}
	for v := n - cleanRuns + 1; v <= n; v++ {
		if got[v] != 1 {
			t.Errorf("clean run's value %d: in Prometheus %d times, want 1", v, got[v])
		}
	}
	if cleanReplayed != pendingSamples {
		t.Errorf("the first clean run replayed %d samples, want the %d the spool held", cleanReplayed, pendingSamples)
	}
	if lost > notOnDisk {
		t.Errorf("%d cycles lost, more than the %d that were not on disk at the kill", lost, notOnDisk)
	}
	if lost > noRequest {
		t.Errorf("%d cycles lost, but only %d runs were killed before their first request reached the receiver: "+
			"%d cycles were collected and a request was sent, yet they were not on disk when the process died", lost, noRequest, lostAfterRequest)
	}

	if strings.Contains(logs.String(), "panic") {
		t.Errorf("panic in a log")
	}
	corrupt, err := os.ReadDir(filepath.Join(dir, "corrupt"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range corrupt {
		if !strings.Contains(logs.String(), e.Name()) {
			t.Errorf("corrupt record %s was never logged", e.Name())
		} else {
			t.Logf("corrupt record %s (logged)", e.Name())
		}
	}
	if recs, temps := recordFiles(t, qdir); len(recs)+len(temps) != 0 {
		t.Errorf("left in the spool after the clean runs: records %v, temp files %v", recs, temps)
	}
}

// TestE2ESpoolLimits checks what leaves the spool without being delivered:
// the oldest records past max_size and max_age, and records the receiver
// refuses for good (400, 500 "too old sample"), which are never sent again.
func TestE2ESpoolLimits(t *testing.T) {
	t.Run("max_size drops the oldest", func(t *testing.T) {
		src := newSeqSource(t)
		sink := newSpoolSink(t, sinkUnavailable)
		dir := t.TempDir()
		// One record per cycle of about 1.3 to 1.5 KiB: 3KiB keeps two.
		cfg := src.config(t, seqOpts{schedule: "@every 1s", cycleTimeout: "1s", url: sink.url(), dir: dir, maxSize: "3KiB", maxShards: 1})
		p := testinfra.StartLiftpush(t, nil, "run", "--config.file="+cfg)
		src.waitServed(t, 6, 20*time.Second)
		sink.set(sinkAccept)
		up := src.count()
		// Two cycles delivered live after the one that caught up, so that
		// the drop counter has been reported since the last drop.
		src.waitServed(t, up+3, 20*time.Second)
		p.Signal(syscall.SIGTERM)
		res := p.Wait(30 * time.Second)
		if res.ExitCode != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0", res.ExitCode)
		}
		n := src.count()

		acc := sink.accepted()
		first := 0 // the oldest value that arrived
		for v := 1; v <= n; v++ {
			if acc[v] > 0 {
				first = v
				break
			}
		}
		t.Logf("receiver down for values 1..%d; values 1..%d dropped, %d..%d delivered", up, first-1, first, n)
		if first < 2 {
			t.Errorf("nothing was dropped (first value delivered: %d)", first)
		}
		if first > up {
			t.Errorf("no value from the outage arrived: the newest must be kept (first delivered %d, outage up to %d)", first, up)
		}
		for v := first; v <= n; v++ {
			if acc[v] != 1 {
				t.Errorf("value %d delivered %d times, want 1 (the newest arrive, once)", v, acc[v])
			}
		}
		dropped := 0
		for _, l := range logLines(res.Stderr, summaryMsg) {
			dropped += dropCount(l, "edge", "spool_max_size")
		}
		if dropped == 0 {
			t.Errorf("no summary counts spool_max_size drops:\n%s", res.Stderr)
		}
		if len(logLines(res.Stderr, "spool over its max_size")) == 0 {
			t.Errorf("the drops were not logged")
		}
		var metric float64
		for _, r := range sink.requests(0) {
			if r.mode == sinkAccept {
				metric = max(metric, r.self["liftpush_spool_dropped_samples_total/max_size"])
			}
		}
		t.Logf("%d samples dropped for spool_max_size in the summaries; liftpush_spool_dropped_samples_total{reason=max_size} reached %g", dropped, metric)
		if metric != float64(dropped) {
			t.Errorf("liftpush_spool_dropped_samples_total{reason=\"max_size\"} = %g, want the %d the summaries count", metric, dropped)
		}
	})

	t.Run("max_age drops the old", func(t *testing.T) {
		src := newSeqSource(t)
		sink := newSpoolSink(t, sinkUnavailable)
		dir := t.TempDir()
		cfg := src.config(t, seqOpts{cycleTimeout: "1s", url: sink.url(), dir: dir, maxAge: "1s"})
		res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
		if res.ExitCode != 1 {
			t.Errorf("run 1 (receiver down): exit code %d, want 1", res.ExitCode)
		}
		spooled := destCount(summaryLine(t, res.Stderr), "edge", "spooled")
		if spooled <= 0 {
			t.Fatalf("run 1 spooled nothing:\n%s", res.Stderr)
		}
		time.Sleep(2 * time.Second)
		sink.set(sinkAccept)
		res = testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
		summary := summaryLine(t, res.Stderr)
		t.Logf("run 2: exit %d: %s", res.ExitCode, summary)
		if got := dropCount(summary, "edge", "spool_max_age"); got != spooled {
			t.Errorf("run 2 dropped %d samples for spool_max_age, want the %d run 1 spooled:\n%s", got, spooled, summary)
		}
		if len(logLines(res.Stderr, "spool over its max_age")) == 0 {
			t.Errorf("the drop was not logged:\n%s", res.Stderr)
		}
		if got := destCount(summary, "edge", "replayed"); got != 0 {
			t.Errorf("run 2 replayed %d samples, want 0", got)
		}
		acc := sink.accepted()
		if acc[1] != 0 || acc[2] != 1 {
			t.Errorf("delivered: value 1 %d times (want 0, too old), value 2 %d times (want 1)", acc[1], acc[2])
		}
		if recs, _ := recordFiles(t, queueDir(dir, "edge")); len(recs) != 0 {
			t.Errorf("records left in the spool: %v", recs)
		}
	})

	for _, tc := range []struct {
		name   string
		mode   sinkMode
		reason string
	}{
		// Prometheus refuses a sample outside its head with 400 "out of bounds":
		// a too_old refusal, named so since issue 19.
		{"400 is dropped and never retried", sinkBadRequest, "too_old"},
		{"500 too old sample is dropped", sinkTooOld, "http_500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSeqSource(t)
			sink := newSpoolSink(t, sinkUnavailable)
			dir := t.TempDir()
			cfg := src.config(t, seqOpts{cycleTimeout: "1s", url: sink.url(), dir: dir})
			once := func() (testinfra.Result, string) {
				res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
				return res, summaryLine(t, res.Stderr)
			}
			// Run 1 leaves its data in the spool; run 2 meets the refusal
			// with that record (a replay) and its own; run 3 is accepted.
			res, summary := once()
			spooled := destCount(summary, "edge", "spooled")
			if res.ExitCode != 1 || spooled <= 0 {
				t.Fatalf("run 1 (receiver down): exit code %d, spooled %d; want 1 and some:\n%s", res.ExitCode, spooled, res.Stderr)
			}
			sink.set(tc.mode)
			from := len(sink.requests(0))
			res, summary = once()
			t.Logf("run 2: exit %d: %s", res.ExitCode, summary)
			refused, bodies := 0, map[int]int{}
			for _, r := range sink.requests(from) {
				refused += r.samples
				for _, v := range r.seq {
					bodies[v]++
				}
				if r.retry {
					t.Errorf("run 2 retried a refused request (Retry-Attempt set)")
				}
			}
			if bodies[1] != 1 || bodies[2] != 1 {
				t.Errorf("run 2 sent value 1 %d times (the replayed record) and value 2 %d times; want each once", bodies[1], bodies[2])
			}
			if got := dropCount(summary, "edge", tc.reason); got != refused || got <= spooled {
				t.Errorf("run 2 dropped %d samples for %s, want the %d the receiver refused (the %d replayed and its own)", got, tc.reason, refused, spooled)
			}
			if got := destCount(summary, "edge", "spooled"); got != 0 {
				t.Errorf("run 2 kept %d samples in the spool, want 0: a final refusal is not kept", got)
			}
			if !strings.Contains(res.Stderr, "reason="+tc.reason) {
				t.Errorf("the refusal was not logged with its reason")
			}
			if recs, _ := recordFiles(t, queueDir(dir, "edge")); len(recs) != 0 {
				t.Errorf("records left in the spool after the refusal: %v", recs)
			}

			sink.set(sinkAccept)
			from = len(sink.requests(0))
			res, summary = once()
			if res.ExitCode != 0 {
				t.Errorf("run 3: exit code %d, want 0:\n%s", res.ExitCode, res.Stderr)
			}
			if got := destCount(summary, "edge", "replayed"); got != 0 {
				t.Errorf("run 3 replayed %d samples, want 0", got)
			}
			var sent []int
			for _, r := range sink.requests(from) {
				sent = append(sent, r.seq...)
			}
			if !slices.Equal(sent, []int{3}) {
				t.Errorf("run 3 sent spool_seq values %v, want only its own [3]", sent)
			}
		})
	}
}

// readOnlyDir makes dir refuse the creation and removal of its entries
// until the test ends: chmod 0555 for any user but root, whom mode bits do
// not stop; for root the immutable attribute (chattr +i), which stops root
// too. Without chattr the test fails: CI runs as root or not, never skips.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Getuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i %s: %v: %s (as root, only the immutable attribute makes a dir unwritable)", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
}

// TestE2ESpoolImmutableQueue: a queue dir that cannot be written (here
// immutable, or read-only when not root) holds a backlog. Every run exits 1
// at its start, naming the dir and the fix, and sends nothing: before
// issue 22 each run resent the backlog, failed to remove it and exited 0.
// Made writable again, the next run delivers the backlog once.
func TestE2ESpoolImmutableQueue(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	src := newSeqSource(t)
	dir := t.TempDir()
	qdir := queueDir(dir, "edge")
	cfg := src.config(t, seqOpts{cycleTimeout: "2s", url: prom.WriteURL(), dir: dir})

	prom.Stop(t)
	res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
	if spooled := destCount(summaryLine(t, res.Stderr), "edge", "spooled"); res.ExitCode != 1 || spooled <= 0 {
		t.Fatalf("run 1 (receiver down): exit code %d, spooled %d; want 1 and some:\n%s", res.ExitCode, spooled, res.Stderr)
	}
	backlog, _ := recordFiles(t, qdir)
	prom.Start(t)

	// As the subtest ends, its cleanups make the dir writable again.
	t.Run("read-only", func(t *testing.T) {
		readOnlyDir(t, qdir)
		for run := 2; run <= 3; run++ {
			res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
			if res.ExitCode != 1 {
				t.Errorf("run %d (queue dir read-only): exit code %d, want 1:\n%s", run, res.ExitCode, res.Stderr)
			}
			for _, w := range []string{"spool: " + qdir + " is not writable", fmt.Sprintf("make it writable for uid %d", os.Getuid())} {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("run %d: the log does not say %q:\n%s", run, w, res.Stderr)
				}
			}
		}
	})
	if n := src.count(); n != 1 {
		t.Errorf("the source served %d values, want 1: the runs on a read-only queue must stop before collecting", n)
	}
	if got := seqInProm(t, prom); len(got) != 0 {
		t.Errorf("Prometheus holds %v from the runs on a read-only queue, want nothing", got)
	}
	if recs, _ := recordFiles(t, qdir); !slices.Equal(recs, backlog) {
		t.Errorf("the backlog changed: %v, was %v", recs, backlog)
	}

	res = testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(30 * time.Second)
	if res.ExitCode != 0 {
		t.Fatalf("run 4 (writable again): exit code %d, want 0:\n%s", res.ExitCode, res.Stderr)
	}
	if problems := seqProblems(seqInProm(t, prom), 2); problems != "" {
		t.Errorf("Prometheus does not hold the values 1 and 2 once each: %s", problems)
	}
	if recs, _ := recordFiles(t, qdir); len(recs) != 0 {
		t.Errorf("records left in the spool: %v", recs)
	}
}
