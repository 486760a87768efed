package testinfra

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv turns TestPdeathsigHelper from a skipped test into the middle
// process of TestSysProcAttrKillsOrphans: "pdeathsig" starts its child with
// SysProcAttr, "plain" without.
const helperEnv = "LIFTPUSH_TESTINFRA_PDEATHSIG_HELPER"

const pidMarker = "GRANDCHILD_PID="

// TestPdeathsigHelper is not a test: run as a child process, it stands for
// a test binary that starts a long-running program and is then killed.
func TestPdeathsigHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("only runs as TestSysProcAttrKillsOrphans' child")
	}
	cmd := exec.Command("sleep", "300")
	if mode == "pdeathsig" {
		cmd.SysProcAttr = SysProcAttr()
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%d\n", pidMarker, cmd.Process.Pid)
	// Wait to be killed; the sleep outlives this anyway.
	time.Sleep(time.Minute)
	t.Fatal("not killed within a minute")
}

// TestSysProcAttrKillsOrphans kills a process that started a `sleep 300`
// and checks that the sleep dies with it when (and only when) it was
// started with SysProcAttr, as a test binary killed by `go test -timeout`
// and its Prometheus would.
func TestSysProcAttrKillsOrphans(t *testing.T) {
	t.Parallel()
	RequireBinary(t, "sleep", "apt-get install coreutils")
	t.Run("pdeathsig", func(t *testing.T) {
		t.Parallel()
		pid := startOrphan(t, "pdeathsig")
		deadline := time.Now().Add(5 * time.Second)
		for alive(t, pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("grandchild %d still running 5s after its parent was killed", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	// The control: without the attribute the orphan lives on, so it is the
	// attribute that killed it above and not, say, a hangup.
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		pid := startOrphan(t, "plain")
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		time.Sleep(500 * time.Millisecond)
		if !alive(t, pid) {
			t.Fatalf("grandchild %d died with its parent without SysProcAttr; the pdeathsig case proves nothing", pid)
		}
	})
}

// startOrphan runs TestPdeathsigHelper in a child test binary, reads the
// pid of the sleep it started, checks the sleep runs, SIGKILLs the child
// and reaps it. It returns the sleep's pid.
func startOrphan(t *testing.T, mode string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPdeathsigHelper$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = SysProcAttr() // should this test itself die
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	pidc := make(chan int, 1)
	go func() {
		defer close(pidc)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), pidMarker); ok {
				if pid, err := strconv.Atoi(s); err == nil {
					pidc <- pid
				}
				break
			}
		}
		// Keep draining so the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}()
	var pid int
	select {
	case p, ok := <-pidc:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("helper exited without printing the grandchild's pid; stderr:\n%s", stderr.String())
		}
		pid = p
	case <-time.After(30 * time.Second):
		t.Fatalf("helper printed no pid within 30s")
	}
	if !alive(t, pid) {
		t.Fatalf("grandchild %d is not running before its parent is killed", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper: %v, want killed by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	return pid
}

// alive tells whether pid is still a running sleep. Once its parent died the
// sleep belongs to init (or a subreaper), which may be slow to reap it, or
// never do: a zombie counts as dead, and so does a pid reused by another
// program.
func alive(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || len(s) < end+3 {
		t.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	if s[open+1:end] != "sleep" {
		return false
	}
	switch s[end+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}
