package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// memLimit is Prometheus 3's --auto-gomemlimit, for the same reason: the Go
// runtime does not know a container's memory limit, and lets the heap grow
// to twice its live data before collecting. A daemon whose live data is
// half its limit is then OOM-killed for garbage. With GOMEMLIMIT near the
// limit, the runtime collects harder as it gets close instead.
type memLimit struct {
	enabled bool
	ratio   float64
}

func addMemLimitFlags(app *kingpin.Application) *memLimit {
	m := &memLimit{}
	app.Flag("auto-gomemlimit", "Set the Go runtime's memory limit (GOMEMLIMIT) to auto-gomemlimit.ratio of the container's memory limit (cgroup), unless $GOMEMLIMIT is set. Nothing without a limit.").
		Default("true").BoolVar(&m.enabled)
	app.Flag("auto-gomemlimit.ratio", "Part of the container's memory limit given to the Go heap by --auto-gomemlimit; the rest is for the runtime, stacks and the binary. Greater than 0, at most 1.").
		Default("0.9").Float64Var(&m.ratio)
	return m
}

// validate is called before any work: a bad ratio is a usage error.
func (m *memLimit) validate() error {
	if m.ratio <= 0 || m.ratio > 1 {
		return fmt.Errorf("--auto-gomemlimit.ratio=%v: must be greater than 0 and at most 1, e.g. 0.9", m.ratio)
	}
	return nil
}

// apply sets the limit from the cgroup found under root ("/" but in
// tests). It never fails the process: without a readable limit the runtime
// keeps its default.
func (m *memLimit) apply(logger *slog.Logger, root string) {
	if !m.enabled {
		return
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		logger.Debug("GOMEMLIMIT is set; --auto-gomemlimit leaves it", "GOMEMLIMIT", v)
		return
	}
	limit, err := cgroupMemoryLimit(root)
	if err != nil {
		logger.Debug("no container memory limit for GOMEMLIMIT", "err", err)
		return
	}
	if limit == 0 {
		return
	}
	set := int64(float64(limit) * m.ratio)
	debug.SetMemoryLimit(set)
	logger.Debug("GOMEMLIMIT set from the container's memory limit", "limit_bytes", limit, "ratio", m.ratio, "gomemlimit_bytes", set)
}

// cgroupMemoryLimit returns the memory limit of this process' cgroup in
// bytes, 0 for none: the process' own cgroup (a systemd unit, a host
// without cgroup namespaces) or else the mount's root (a container's
// cgroup namespace), in cgroup v2's memory.max or v1's
// memory.limit_in_bytes.
func cgroupMemoryLimit(root string) (uint64, error) {
	var candidates []string
	if f, err := os.Open(filepath.Join(root, "proc/self/cgroup")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "0::/path" (v2) or "4:memory:/path" (v1).
			parts := strings.SplitN(sc.Text(), ":", 3)
			if len(parts) != 3 || parts[2] == "/" {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				candidates = append(candidates, filepath.Join(root, "sys/fs/cgroup", parts[2], "memory.max"))
			case slices.Contains(strings.Split(parts[1], ","), "memory"):
				candidates = append(candidates, filepath.Join(root, "sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes"))
			}
		}
		_ = f.Close()
	}
	candidates = append(candidates,
		filepath.Join(root, "sys/fs/cgroup/memory.max"),
		filepath.Join(root, "sys/fs/cgroup/memory/memory.limit_in_bytes"))
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, nil
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", p, err)
		}
		// cgroup v1 reports "no limit" as the largest page-aligned int64.
		if v >= 1<<62 {
			return 0, nil
		}
		return v, nil
	}
	return 0, fmt.Errorf("no cgroup memory limit file under %s", root)
}
