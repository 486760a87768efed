package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The spool dir check only reads: a missing dir is fine when it could be
// created, and stays missing; otherwise the error names the key, the value
// and the fix.
func TestSpoolDirCheck(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(tmp, "existing")
	if err := os.Mkdir(existing, 0o700); err != nil {
		t.Fatal(err)
	}
	const fix = "; mount a writable volume there (the chart's spool.persistence) or set --spool.dir"
	tests := []struct {
		name, dir, err, note string
	}{
		{name: "existing", dir: existing},
		{name: "existing, trailing slash", dir: existing + "/"},
		{name: "missing", dir: filepath.Join(tmp, "spool"),
			note: "spool.dir " + filepath.Join(tmp, "spool") + " does not exist yet; liftpush will create it"},
		{name: "missing, nested", dir: filepath.Join(tmp, "a", "b", "c"),
			note: "spool.dir " + filepath.Join(tmp, "a", "b", "c") + " does not exist yet; liftpush will create it"},
		{name: "a file", dir: file,
			err: `spool.dir: "` + file + `" is not a directory` + fix},
		{name: "under a file", dir: filepath.Join(file, "spool", "x"),
			err: `spool.dir: "` + filepath.Join(file, "spool", "x") + `" cannot be created: "` + file + `" is not a directory` + fix},
		{name: "under /dev/null", dir: "/dev/null/liftpush-spool",
			err: `spool.dir: "/dev/null/liftpush-spool" cannot be created: "/dev/null" is not a directory` + fix},
	}
	if os.Geteuid() != 0 {
		// root may write anywhere access(2) is asked about.
		ro := filepath.Join(tmp, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		tests = append(tests,
			struct{ name, dir, err, note string }{name: "read-only dir", dir: ro,
				err: `spool.dir: "` + ro + `" is not writable (permission denied)` + fix},
			struct{ name, dir, err, note string }{name: "under a read-only dir", dir: filepath.Join(ro, "spool"),
				err: `spool.dir: "` + filepath.Join(ro, "spool") + `" cannot be created: "` + ro + `" is not writable (permission denied)` + fix},
		)
	}
	before := listTree(t, tmp)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultSpoolConfig
			c.Dir = tt.dir
			if got := errText(c.Validate()); got != tt.err {
				t.Errorf("Validate:\n got %s\nwant %s", got, tt.err)
			}
			if got := c.DirNote(); got != tt.note {
				t.Errorf("DirNote:\n got %q\nwant %q", got, tt.note)
			}
		})
	}
	if diff := cmp.Diff(before, listTree(t, tmp)); diff != "" {
		t.Errorf("the checks changed the disk (-before +after):\n%s", diff)
	}
}

// listTree lists every path under root.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}
