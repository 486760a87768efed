package testinfra

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a running liftpush binary. Its stdout and stderr are captured
// in memory; t.Cleanup kills it if it is still running and, when the test
// failed, logs the tail of its stderr.
type Process struct {
	t    testing.TB
	args []string
	cmd  *exec.Cmd

	stdout, stderr SyncBuffer

	done    chan struct{} // closed once the process has exited and its output is read
	waitErr error         // cmd.Wait's error, set before done is closed

	started, ended time.Time // ended is set before done is closed

	// quiet is for Run, which logs the whole stderr itself.
	quiet bool
}

// StartLiftpush starts the liftpush binary (see Liftpush) with args and env
// appended to the test's environment, and returns without waiting.
func StartLiftpush(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	return startLiftpush(t, nil, env, args...)
}

// StartLiftpushBinary is StartLiftpush with another build of liftpush: a
// baseline measured side by side with this one.
func StartLiftpushBinary(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	return startBinary(t, bin, nil, env, args...)
}

func startLiftpush(t testing.TB, stdin io.Reader, env []string, args ...string) *Process {
	t.Helper()
	return startBinary(t, Liftpush(t), stdin, env, args...)
}

func startBinary(t testing.TB, bin string, stdin io.Reader, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, args: args, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &p.stdout, &p.stderr
	cmd.SysProcAttr = SysProcAttr()
	// Should liftpush ever leave a child holding its stdout or stderr, Wait
	// returns this long after liftpush itself exited instead of hanging.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting liftpush %v: %v", args, err)
	}
	p.cmd = cmd
	p.started = time.Now()
	go func() {
		p.waitErr = cmd.Wait()
		p.ended = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			_ = cmd.Process.Kill()
		}
		<-p.done
		if t.Failed() && !p.quiet {
			t.Logf("liftpush %v (pid %d) stderr, last 4000 bytes:\n%s", args, p.Pid(), lastBytes([]byte(p.Stderr()), 4000))
		}
	})
	return p
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stderr returns what the process wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Stdout returns what the process wrote to stdout so far.
func (p *Process) Stdout() string { return p.stdout.String() }

func (p *Process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process; it fails the test if that fails, for
// instance because the process already exited.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("sending %v to liftpush %v (pid %d): %v\nstderr:\n%s", sig, p.args, p.Pid(), err, lastBytes([]byte(p.Stderr()), 4000))
	}
}

// Kill sends SIGKILL. A process that already exited is not an error.
func (p *Process) Kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatalf("killing liftpush %v (pid %d): %v", p.args, p.Pid(), err)
	}
}

// Wait waits for the process to exit and returns its output and exit code
// (-1 when a signal ended it). If it is still running after timeout, Wait
// kills it and fails the test.
func (p *Process) Wait(timeout time.Duration) Result {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("liftpush %v (pid %d) still running after %s; killed it. stderr, last 4000 bytes:\n%s",
			p.args, p.Pid(), timeout, lastBytes([]byte(p.Stderr()), 4000))
	}
	res := Result{Stdout: p.Stdout(), Stderr: p.Stderr(), ExitCode: p.cmd.ProcessState.ExitCode(), Wall: p.ended.Sub(p.started)}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
	}
	var exit *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exit) {
		// Not an exit status: e.g. copying stdin or the output failed, or
		// WaitDelay expired.
		p.t.Fatalf("liftpush %v: %v", p.args, p.waitErr)
	}
	return res
}

// WaitLog polls the process' stderr until it contains substr. It fails the
// test with the tail of the log when that takes longer than timeout, or
// when the process exits without having logged substr.
func (p *Process) WaitLog(substr string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Stderr(), substr) {
			return
		}
		if !p.running() {
			// It wrote everything it ever will; one last look.
			if strings.Contains(p.Stderr(), substr) {
				return
			}
			p.t.Fatalf("liftpush %v exited (%s) without logging %q; stderr, last 4000 bytes:\n%s",
				p.args, exitString(p.cmd.ProcessState), substr, lastBytes([]byte(p.Stderr()), 4000))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("liftpush %v did not log %q within %s; stderr, last 4000 bytes:\n%s",
				p.args, substr, timeout, lastBytes([]byte(p.Stderr()), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exitString(st *os.ProcessState) string {
	if st == nil {
		return "unknown status"
	}
	return st.String()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers: a
// process' output, or a logger several goroutines write to.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
