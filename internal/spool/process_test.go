package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// The tests here run a second process against one spool dir: this test
// binary again, as TestHelperProcess, with helperEnv naming what to do.
const (
	helperEnv    = "LIFTPUSH_SPOOL_HELPER"
	helperDirEnv = "LIFTPUSH_SPOOL_HELPER_DIR"
)

// TestHelperProcess is no test of its own: it is the other process of
// TestLock and TestCrash.
//
//   - lock: opens the spool, prints "locked", closes it once its stdin
//     ends, prints "closed".
//   - append: opens the spool, prints "ready", then appends records of
//     random size for ever, printing each seq once Append has returned it.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("the other process of TestLock and TestCrash")
	}
	os.Exit(helperMain(mode, os.Getenv(helperDirEnv)))
}

func helperMain(mode, dir string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch mode {
	case "lock":
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("closed")
		return 0
	case "append":
		q, err := s.Queue(testDest)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("ready")
		rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
			samples := 1 + rng.IntN(2000)
			seq, err := q.Append(testFormat, samples, payload(samples, 30*samples))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			// One write(2) per line: once it returns, the line is in the
			// pipe, and kill -9 cannot take it back.
			fmt.Println(seq)
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
	return 2
}

// helper is a running TestHelperProcess.
type helper struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its stdout, closed at EOF
	stderr bytes.Buffer
	waited bool
}

func startHelper(t *testing.T, mode, dir string) *helper {
	t.Helper()
	h := &helper{t: t, lines: make(chan string, 1<<16)}
	h.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	h.cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	h.cmd.Stderr = &h.stderr
	h.cmd.SysProcAttr = testinfra.SysProcAttr()
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		if !h.waited {
			_ = h.cmd.Process.Kill()
			h.wait()
		}
	})
	return h
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// expect waits for the helper's next line, which must be want.
func (h *helper) expect(want string) {
	h.t.Helper()
	select {
	case got, ok := <-h.lines:
		if !ok {
			h.wait()
			h.t.Fatalf("helper (pid %d) exited before printing %q: %v\n%s", h.pid(), want, h.cmd.ProcessState, h.stderr.String())
		}
		if got != want {
			h.t.Fatalf("helper (pid %d) printed %q, want %q", h.pid(), got, want)
		}
	case <-time.After(30 * time.Second):
		h.t.Fatalf("helper (pid %d) did not print %q within 30s", h.pid(), want)
	}
}

// wait reads the rest of the helper's stdout and reaps it.
func (h *helper) wait() []string {
	var rest []string
	for l := range h.lines {
		rest = append(rest, l)
	}
	_ = h.cmd.Wait()
	h.waited = true
	return rest
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "lock", dir)
	h.expect("locked")

	t.Run("waits, then names the holder", func(t *testing.T) {
		const wait = 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		start := time.Now()
		s, err := Open(ctx, dir, Options{})
		if err == nil {
			_ = s.Close()
			t.Fatal("Open succeeded while another process holds the dir")
		}
		t.Log(err)
		if waited := time.Since(start); waited < wait {
			t.Errorf("gave up after %s, before ctx ended", waited)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error does not wrap context.DeadlineExceeded: %v", err)
		}
		want := fmt.Sprintf("spool dir %s is in use by another liftpush process (pid %d); gave up after ", dir, h.pid())
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q\ndoes not start %q", err, want)
		}
	})

	t.Run("succeeds once the holder closes", func(t *testing.T) {
		type result struct {
			s   *Spool
			err error
		}
		done := make(chan result, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		go func() {
			s, err := Open(ctx, dir, Options{})
			done <- result{s, err}
		}()
		time.Sleep(200 * time.Millisecond)
		select {
		case r := <-done:
			t.Fatalf("Open returned while the helper holds the dir: %v", r.err)
		default:
		}
		_ = h.stdin.Close()
		h.expect("closed")
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.s.Close()
		if rest := h.wait(); h.cmd.ProcessState.ExitCode() != 0 || len(rest) != 0 {
			t.Errorf("helper: %v, printed %q\n%s", h.cmd.ProcessState, rest, h.stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, lockName))
		if err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
			t.Errorf("lock file holds %q (%v), want our pid %d", b, err, os.Getpid())
		}

		// Within one process, a second Spool waits as well.
		ctx2, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel2()
		if s, err := Open(ctx2, dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use by another spool in this process") {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("second Open in one process: %v", err)
		}
	})

	t.Run("released by kill -9", func(t *testing.T) {
		h := startHelper(t, "lock", dir)
		h.expect("locked")
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		h.wait()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		s, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if waited := time.Since(start); waited > lockPoll {
			t.Errorf("Open took %s after the holder died", waited)
		}
	})
}

// TestCrash kills a process that appends in a loop at random instants, 20
// times over one dir: after each kill, Open, Pending and Read of every
// record succeed, nothing is corrupt, seqs strictly increase, and every
// record whose Append returned is there.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 20 processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	acked := map[uint64]bool{}
	var lastAcked uint64
	var extra int // records on disk whose Append had not returned
	for i := range 20 {
		h := startHelper(t, "append", dir)
		h.expect("ready")
		delay := 10*time.Millisecond + time.Duration(rng.Int64N(int64(190*time.Millisecond)))
		time.Sleep(delay)
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		var acks int
		for _, l := range h.wait() {
			seq, err := strconv.ParseUint(l, 10, 64)
			if err != nil {
				t.Fatalf("helper printed %q\n%s", l, h.stderr.String())
			}
			if seq <= lastAcked {
				t.Errorf("kill %d: seq %d acknowledged after %d", i, seq, lastAcked)
			}
			acked[seq], lastAcked = true, seq
			acks++
		}
		if h.stderr.Len() > 0 {
			t.Errorf("kill %d: helper wrote to stderr:\n%s", i, h.stderr.String())
		}
		var temps int
		for _, f := range files(t, dir) {
			if strings.HasSuffix(f, tmpSuffix) {
				temps++
			}
		}

		s := openSpool(t, dir, Options{})
		q := openQueue(t, s)
		es, err := q.Pending()
		if err != nil {
			t.Fatal(err)
		}
		present := map[uint64]bool{}
		extra = 0
		var prev uint64
		for _, e := range es {
			if e.Seq <= prev {
				t.Errorf("kill %d: seq %d after %d", i, e.Seq, prev)
			}
			prev = e.Seq
			present[e.Seq] = true
			rec, err := q.Read(e.Seq)
			if err != nil {
				t.Errorf("kill %d: %v", i, err)
				continue
			}
			if rec.Format != testFormat || !bytes.Equal(rec.Body, payload(rec.Samples, 30*rec.Samples)) {
				t.Errorf("kill %d: seq %d does not hold what was appended", i, e.Seq)
			}
			if !acked[e.Seq] {
				extra++
			}
		}
		for seq := range acked {
			if !present[seq] {
				t.Errorf("kill %d: seq %d was acknowledged, and is lost", i, seq)
			}
		}
		if extra > i+1 {
			t.Errorf("kill %d: %d records no Append returned, more than one per kill", i, extra)
		}
		if st := q.Stats(); st.Corrupt != 0 {
			t.Errorf("kill %d: %d corrupt", i, st.Corrupt)
		}
		for _, f := range files(t, dir) {
			if strings.HasPrefix(f, corruptDir+string(filepath.Separator)) || strings.HasSuffix(f, tmpSuffix) {
				t.Errorf("kill %d: %s left after Open", i, f)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("kill %2d after %3dms: %3d appends acknowledged, %4d records in all, %d temp files left by the kill", i, delay.Milliseconds(), acks, len(es), temps)
	}
	t.Logf("%d records acknowledged, %d more written before their Append returned", len(acked), extra)
}
