package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  uint64
		err   bool
	}{
		{"v2 container", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "268435456\n"}, 256 << 20, false},
		{"v2 no limit", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "max\n"}, 0, false},
		{"v2 systemd unit", map[string]string{
			"proc/self/cgroup": "0::/system.slice/liftpush.service\n",
			"sys/fs/cgroup/system.slice/liftpush.service/memory.max": "1073741824\n",
			"sys/fs/cgroup/memory.max":                               "max\n",
		}, 1 << 30, false},
		{"v1", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20, false},
		{"v1 own cgroup", map[string]string{
			"proc/self/cgroup": "5:cpu,cpuacct:/\n4:memory:/kubepods/pod1/c1\n0::/\n",
			"sys/fs/cgroup/memory/kubepods/pod1/c1/memory.limit_in_bytes": "134217728\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                  "9223372036854771712\n",
		}, 128 << 20, false},
		{"v1 no limit", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"garbage", map[string]string{"sys/fs/cgroup/memory.max": "lots\n"}, 0, true},
		{"nothing", map[string]string{}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			got, err := cgroupMemoryLimit(root)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestAutoGOMEMLIMIT: the runtime's limit becomes ratio times the cgroup's,
// and an explicit GOMEMLIMIT is left alone.
func TestAutoGOMEMLIMIT(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"sys/fs/cgroup/memory.max": "1000000000\n"})
	logger := slog.New(slog.DiscardHandler)

	os.Unsetenv("GOMEMLIMIT")
	(&memLimit{enabled: true, ratio: 0.9}).apply(logger, root)
	if got := debug.SetMemoryLimit(-1); got != 900000000 {
		t.Errorf("GOMEMLIMIT %d, want 900000000", got)
	}
	debug.SetMemoryLimit(before)
	t.Setenv("GOMEMLIMIT", "2GiB")
	(&memLimit{enabled: true, ratio: 0.9}).apply(logger, root)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with $GOMEMLIMIT set, the limit changed to %d", got)
	}
	os.Unsetenv("GOMEMLIMIT")
	(&memLimit{enabled: false, ratio: 0.9}).apply(logger, root)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with --no-auto-gomemlimit, the limit changed to %d", got)
	}
}

func TestAutoGOMEMLIMITRatioFlag(t *testing.T) {
	code, stderr := runCaptured(t, "--auto-gomemlimit.ratio=1.5", "version")
	if code != exitUsage || !strings.Contains(stderr, "--auto-gomemlimit.ratio=1.5: must be greater than 0 and at most 1") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// runCaptured runs the command line in process with its standard error
// captured.
func runCaptured(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	code := run(args)
	os.Stderr = saved
	_ = w.Close()
	b, _ := io.ReadAll(r)
	return code, string(b)
}
