package spool

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// durable is what a file system that honours fsync keeps through a power
// cut: each directory as it was at its last fsync. Record and state files
// are fsynced before they are renamed into place and never written again,
// so their bytes at that moment are theirs for good.
type durable struct {
	mu   sync.Mutex
	dirs map[string]map[string][]byte // dir -> name -> contents; nil contents: a directory
}

// record takes dir as it is now, as fsync makes it durable.
func (d *durable) record(t *testing.T, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("power cut: listing %s: %v", dir, err)
		return
	}
	snap := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() {
			snap[e.Name()] = nil
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Errorf("power cut: reading %s: %v", e.Name(), err)
			continue
		}
		snap[e.Name()] = b
	}
	d.mu.Lock()
	d.dirs[dir] = snap
	d.mu.Unlock()
}

// restore writes, under to, the tree below root as the power cut leaves
// it: a directory never fsynced keeps nothing.
func (d *durable) restore(t *testing.T, root, to string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	var walk func(dir, dst string)
	walk = func(dir, dst string) {
		if err := os.MkdirAll(dst, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, b := range d.dirs[dir] {
			if b == nil {
				walk(filepath.Join(dir, name), filepath.Join(dst, name))
				continue
			}
			if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	walk(root, to)
}

// TestPowerCut: a run --once delivers what it appended and closes the
// spool; a power cut right after brings nothing back, so the next run sends
// nothing twice. Without Close (or Sync), the removals were not durable
// and the delivered records come back: the hole Close closes.
func TestPowerCut(t *testing.T) {
	for _, tc := range []struct {
		name        string
		end         func(*Spool, *Queue) error
		wantPending int
	}{
		{"Close", func(s *Spool, _ *Queue) error { return s.Close() }, 0},
		{"Sync", func(_ *Spool, q *Queue) error { return q.Sync() }, 0},
		{"neither", func(*Spool, *Queue) error { return nil }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &durable{dirs: map[string]map[string][]byte{}}
			synced = func(dir string) { d.record(t, dir) }
			defer func() { synced = nil }()
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			defer s.Close()
			q := openQueue(t, s)
			var seqs []uint64
			for i := range 3 {
				seqs = append(seqs, mustAppend(t, q, 10+i, 100))
			}
			for _, seq := range seqs {
				if err := q.Remove(seq); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.end(s, q); err != nil {
				t.Fatal(err)
			}
			synced = nil

			after := filepath.Join(t.TempDir(), "after-power-cut")
			d.restore(t, filepath.Clean(dir), after)
			s2 := openSpool(t, after, Options{})
			defer s2.Close()
			pending, err := openQueue(t, s2).Pending()
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != tc.wantPending {
				t.Errorf("after the power cut the queue holds %d records, want %d: %v", len(pending), tc.wantPending, pending)
			}
		})
	}
}
