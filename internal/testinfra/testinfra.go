// Package testinfra starts the real components end-to-end tests run against
// (Prometheus, the liftpush binary) in separate processes, like
// VictoriaMetrics' apptest. Every process is stopped in t.Cleanup.
package testinfra

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// RequireBinary returns the path of a program the test needs. When it is
// missing the test fails under CI=true (CI must never silently skip) and is
// skipped elsewhere, with the command that installs it.
func RequireBinary(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (%v); install it with: %s", name, err, install)
	}
	t.Skipf("%s not found; install it with: %s", name, install)
	return ""
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Liftpush returns the path of a liftpush binary built from this tree once
// per test process (or $LIFTPUSH_BIN when set).
func Liftpush(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LIFTPUSH_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "liftpush-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "liftpush")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/liftpush")
		cmd.Dir = moduleRoot()
		cmd.SysProcAttr = SysProcAttr()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building liftpush: %v", buildErr)
	}
	return buildPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Result is a finished liftpush process.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
	// MaxRSS is the process' peak resident set size, in bytes.
	MaxRSS int64
	// Wall is how long it ran.
	Wall time.Duration
}

// Run runs the liftpush binary with args and env (added to the test's
// environment) and waits at most a minute.
func Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return RunStdin(t, nil, env, args...)
}

// RunStdin is Run with stdin as the process' standard input.
func RunStdin(t testing.TB, stdin io.Reader, env []string, args ...string) Result {
	t.Helper()
	p := startLiftpush(t, stdin, env, args...)
	p.quiet = true // logged here in full
	res := p.Wait(time.Minute)
	t.Logf("liftpush %v -> exit %d\nstderr:\n%s", args, res.ExitCode, res.Stderr)
	return res
}

// startProcess starts a long-running helper process, logs to a file in
// dir, and kills it at cleanup.
func startProcess(t testing.TB, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("%s log:\n%s", name, lastBytes(b, 4000))
			}
		}
	})
	return cmd
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
