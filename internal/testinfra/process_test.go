package testinfra

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeEnv makes TestFakeLiftpush act as the liftpush binary, so that
// Process is tested without building liftpush (LIFTPUSH_BIN points at this
// test binary).
const fakeEnv = "LIFTPUSH_TESTINFRA_FAKE"

// TestFakeLiftpush is not a test: it is the stand-in liftpush.
//   - daemon: logs, then waits for SIGTERM, logs again and exits 3;
//   - cat: copies stdin to stdout and exits 0.
func TestFakeLiftpush(t *testing.T) {
	switch os.Getenv(fakeEnv) {
	case "":
		t.Skip("only runs as the stand-in liftpush")
	case "daemon":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "level=INFO msg=started")
		<-term
		fmt.Fprintln(os.Stderr, "level=INFO msg=\"shutting down\"")
		os.Exit(3)
	case "cat":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintln(os.Stderr, "level=INFO msg=copied")
		os.Exit(0)
	}
}

// fake makes Liftpush(t) return this test binary and returns the
// arguments that select TestFakeLiftpush.
func fake(t *testing.T) []string {
	t.Setenv("LIFTPUSH_BIN", os.Args[0])
	// A -race child otherwise sleeps a second in os.Exit (read at start
	// only, so this process is unaffected).
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return []string{"-test.run=^TestFakeLiftpush$", "-test.count=1"}
}

func TestProcessSignalAndWait(t *testing.T) {
	p := StartLiftpush(t, []string{fakeEnv + "=daemon"}, fake(t)...)
	if p.Pid() <= 0 {
		t.Fatalf("pid %d", p.Pid())
	}
	p.WaitLog("msg=started", 30*time.Second)
	p.Signal(syscall.SIGTERM)
	res := p.Wait(30 * time.Second)
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode)
	}
	if res.Stdout != "to stdout\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "shutting down") || res.Stderr != p.Stderr() {
		t.Errorf("stderr %q, Stderr() %q", res.Stderr, p.Stderr())
	}
	// Waiting again returns the same.
	if again := p.Wait(time.Second); again != res {
		t.Errorf("second Wait %+v, first %+v", again, res)
	}
}

func TestProcessKill(t *testing.T) {
	p := StartLiftpush(t, []string{fakeEnv + "=daemon"}, fake(t)...)
	p.WaitLog("msg=started", 30*time.Second)
	p.Kill()
	if res := p.Wait(30 * time.Second); res.ExitCode != -1 {
		t.Errorf("exit code %d after SIGKILL, want -1", res.ExitCode)
	}
	p.Kill() // already gone: not an error
}

func TestRunStdin(t *testing.T) {
	res := RunStdin(t, strings.NewReader("a b\nc\n"), []string{fakeEnv + "=cat"}, fake(t)...)
	if res.ExitCode != 0 || res.Stdout != "a b\nc\n" || !strings.Contains(res.Stderr, "msg=copied") {
		t.Errorf("got %+v", res)
	}
}

func TestProcessCleanupKills(t *testing.T) {
	args := fake(t)
	var pid int
	t.Run("inner", func(t *testing.T) {
		p := StartLiftpush(t, []string{fakeEnv + "=daemon"}, args...)
		p.WaitLog("msg=started", 30*time.Second)
		pid = p.Pid()
	})
	// The cleanup killed and reaped it: the pid is gone.
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("kill(%d, 0) after cleanup: %v, want ESRCH", pid, err)
	}
}

// fatalTB records the first Fatalf and ends the goroutine like t.Fatal.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// fails runs fn with a fatalTB and returns what it failed with.
func fails(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func TestProcessFailures(t *testing.T) {
	args := fake(t)
	t.Run("wait timeout kills", func(t *testing.T) {
		var p *Process
		msg := fails(t, func(tb testing.TB) {
			p = StartLiftpush(tb, []string{fakeEnv + "=daemon"}, args...)
			p.WaitLog("msg=started", 30*time.Second)
			p.Wait(100 * time.Millisecond)
		})
		if !strings.Contains(msg, "still running after 100ms; killed it") || !strings.Contains(msg, "msg=started") {
			t.Errorf("failure: %q", msg)
		}
		if p.running() {
			t.Error("still running")
		}
	})
	t.Run("log never comes", func(t *testing.T) {
		msg := fails(t, func(tb testing.TB) {
			p := StartLiftpush(tb, []string{fakeEnv + "=daemon"}, args...)
			p.WaitLog("no such line", 300*time.Millisecond)
		})
		if !strings.Contains(msg, `did not log "no such line" within 300ms`) || !strings.Contains(msg, "msg=started") {
			t.Errorf("failure: %q", msg)
		}
	})
	t.Run("exits before logging", func(t *testing.T) {
		msg := fails(t, func(tb testing.TB) {
			p := StartLiftpush(tb, []string{fakeEnv + "=cat"}, args...)
			p.WaitLog("no such line", time.Minute)
		})
		if !strings.Contains(msg, `exited (exit status 0) without logging "no such line"`) {
			t.Errorf("failure: %q", msg)
		}
	})
	t.Run("signal after exit", func(t *testing.T) {
		msg := fails(t, func(tb testing.TB) {
			p := StartLiftpush(tb, []string{fakeEnv + "=cat"}, args...)
			p.Wait(30 * time.Second)
			p.Signal(syscall.SIGTERM)
		})
		if !strings.Contains(msg, "sending terminated to liftpush") {
			t.Errorf("failure: %q", msg)
		}
	})
}
