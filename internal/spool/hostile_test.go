package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The spool against a hostile or broken volume (issue 22): queue dirs it
// cannot write, symlinks, junk files by the thousand and of half a
// gigabyte.

// readOnlyDir makes dir refuse the creation and removal of its entries,
// until the test ends. chmod 0555 does that for any user but root, whom
// mode bits do not stop; for root it is the immutable attribute (chattr
// +i, ext4 and xfs). With neither, the test fails under CI and is skipped
// elsewhere.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Getuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, dirPerm) })
		return
	}
	chattr(t, "+i", dir)
}

// chattr sets a file attribute (+i immutable, +a append-only) until the
// test ends.
func chattr(t *testing.T, attr, path string) {
	t.Helper()
	out, err := exec.Command("chattr", attr, path).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("chattr %s %s: %v: %s (root needs it, and a file system with attributes, to make a dir it cannot write)", attr, path, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		off := "-" + attr[1:]
		if out, err := exec.Command("chattr", off, path).CombinedOutput(); err != nil {
			t.Errorf("chattr %s %s: %v: %s", off, path, err, out)
		}
	})
}

// spoolWithRecords makes a spool dir whose queue testDest holds n records,
// closed again; it returns the dir and the queue dir.
func spoolWithRecords(t *testing.T, n int) (dir, qdir string) {
	t.Helper()
	dir = t.TempDir()
	s := openSpool(t, dir, Options{})
	q := openQueue(t, s)
	for i := range n {
		mustAppend(t, q, i+1, 100)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, q.dir
}

func tryOpen(t *testing.T, dir string, opts Options) (*Spool, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, dir, opts)
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

// TestQueueDirNotWritable: Open checks every queue dir, not only the top
// one, and the corrupt/ dir: a record it delivered and could not remove
// would be sent again by every run.
func TestQueueDirNotWritable(t *testing.T) {
	type setup func(t *testing.T, dir, qdir string) (broken string)
	cases := []struct {
		name  string
		setup setup
	}{
		{name: "queue dir", setup: func(t *testing.T, _, qdir string) string { readOnlyDir(t, qdir); return qdir }},
		{name: "another queue dir", setup: func(t *testing.T, dir, _ string) string {
			// A tenant's queue, say, which no Queue call loads
			// before the first delivery.
			other := filepath.Join(dir, "tenant-queue")
			if err := os.Mkdir(other, dirPerm); err != nil {
				t.Fatal(err)
			}
			readOnlyDir(t, other)
			return other
		}},
		{name: "corrupt dir", setup: func(t *testing.T, dir, _ string) string {
			cdir := filepath.Join(dir, corruptDir)
			if err := os.Mkdir(cdir, dirPerm); err != nil {
				t.Fatal(err)
			}
			readOnlyDir(t, cdir)
			return cdir
		}},
	}
	if os.Getuid() == 0 {
		// Files can be created, not removed: the probe must remove too.
		cases = append(cases, struct {
			name  string
			setup setup
		}{name: "append-only queue dir", setup: func(t *testing.T, _, qdir string) string { chattr(t, "+a", qdir); return qdir }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, qdir := spoolWithRecords(t, 2)
			broken := tc.setup(t, dir, qdir)
			_, err := tryOpen(t, dir, Options{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, ErrUnusable) {
				t.Errorf("error %v does not match ErrUnusable", err)
			}
			for _, w := range []string{"spool: " + broken + " is not writable", fmt.Sprintf("make it writable for uid %d", os.Getuid()), "lsattr -d"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// No record moved or removed. (The append-only dir keeps
			// the probe's temp file, for the next Open to remove.)
			recs := 0
			for _, f := range files(t, qdir) {
				if strings.HasSuffix(f, recordSuffix) {
					recs++
				}
			}
			if recs != 2 {
				t.Errorf("queue dir holds %v, want the 2 records", files(t, qdir))
			}
		})
	}
}

// TestSymlinks: nothing inside the spool dir is followed. A queue dir, the
// corrupt/ dir or the lock that is a symlink fails Open; a record or a
// state file that is one is moved aside as a link, its target untouched.
func TestSymlinks(t *testing.T) {
	// outside holds what a link points to: a record of another spool, a
	// file of someone's, a state file.
	outside := t.TempDir()
	odir, oq := spoolWithRecords(t, 1)
	orec := filepath.Join(oq, files(t, oq)[0])
	precious := filepath.Join(outside, "precious")
	if err := os.WriteFile(precious, []byte("not liftpush's"), 0o600); err != nil {
		t.Fatal(err)
	}
	untouched := func(t *testing.T) {
		t.Helper()
		if b, err := os.ReadFile(precious); err != nil || string(b) != "not liftpush's" {
			t.Errorf("the file outside the spool: %q, %v", b, err)
		}
		if got := files(t, oq); len(got) != 1 {
			t.Errorf("the other spool's queue holds %v, want its record", got)
		}
		if _, err := os.Stat(filepath.Join(odir, corruptDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the other spool got a corrupt/ dir: %v", err)
		}
	}

	t.Run("at Open", func(t *testing.T) {
		for _, tc := range []struct{ name, link, to string }{
			{name: "queue dir", link: "remote_write-elsewhere", to: oq},
			{name: "queue dir of a configured destination", link: filepath.Base(oq), to: oq},
			{name: "corrupt dir", link: corruptDir, to: outside},
			{name: "lock", link: lockName, to: precious},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.Symlink(tc.to, filepath.Join(dir, tc.link)); err != nil {
					t.Fatal(err)
				}
				_, err := tryOpen(t, dir, Options{})
				if err == nil {
					t.Fatal("Open succeeded")
				}
				t.Log(err)
				want := fmt.Sprintf("spool: %s is a symlink (to %s); liftpush never follows a link inside its spool dir", filepath.Join(dir, tc.link), tc.to)
				if !errors.Is(err, ErrUnusable) || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error %q, want ErrUnusable starting %q", err, want)
				}
				untouched(t)
			})
		}
	})

	t.Run("a queue dir linked after Open", func(t *testing.T) {
		dir := t.TempDir()
		s := openSpool(t, dir, Options{})
		if err := os.Symlink(oq, filepath.Join(dir, filepath.Base(oq))); err != nil {
			t.Fatal(err)
		}
		_, err := s.Queue(testDest)
		if !errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), "is a symlink") {
			t.Errorf("Queue: %v, want ErrUnusable, a symlink", err)
		}
		untouched(t)
	})

	t.Run("record", func(t *testing.T) {
		dir, qdir := spoolWithRecords(t, 2)
		links := []string{
			recordName(3, 1, time.Unix(0, 3)), // a good name, to a record
			recordName(4, 1, time.Unix(0, 4)), // a good name, to junk
			"junk.rec",
		}
		for i, to := range []string{orec, precious, precious} {
			if err := os.Symlink(to, filepath.Join(qdir, links[i])); err != nil {
				t.Fatal(err)
			}
		}
		var log bytes.Buffer
		s := openSpool(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		q := openQueue(t, s)
		if diff := cmp.Diff([]uint64{1, 2}, seqs(t, q)); diff != "" {
			t.Errorf("pending (-want +got):\n%s", diff)
		}
		if got := q.Stats().Corrupt; got != len(links) {
			t.Errorf("Stats.Corrupt %d, want %d", got, len(links))
		}
		for _, l := range links {
			fi, err := os.Lstat(filepath.Join(dir, corruptDir, filepath.Base(qdir)+"-"+l))
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("%s in corrupt/: %v, %v; want the link itself", l, fi, err)
			}
			if !strings.Contains(log.String(), l) {
				t.Errorf("%s not logged:\n%s", l, log.String())
			}
		}
		if !strings.Contains(log.String(), "not a regular file (L---------), not followed") {
			t.Errorf("the log does not say why:\n%s", log.String())
		}

		// A record replaced by a link after it was listed.
		path := filepath.Join(qdir, q.entries[0].name())
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(orec, path); err != nil {
			t.Fatal(err)
		}
		_, err := q.Read(1)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "a symlink, not followed") {
			t.Errorf("Read of a linked record: %v, want ErrCorrupt, a symlink", err)
		}
		if _, err := q.Read(2); err != nil {
			t.Errorf("the queue does not go on: %v", err)
		}
		untouched(t)
	})

	t.Run("state file", func(t *testing.T) {
		dir, qdir := spoolWithRecords(t, 0)
		if err := os.Symlink(precious, filepath.Join(qdir, "series"+stateSuffix)); err != nil {
			t.Fatal(err)
		}
		q := openQueue(t, openSpool(t, dir, Options{}))
		if b, err := q.LoadState("series"); b != nil || err != nil {
			t.Errorf("LoadState = %q, %v; want none", b, err)
		}
		if got := q.Stats().Corrupt; got != 1 {
			t.Errorf("Stats.Corrupt %d, want 1", got)
		}
		untouched(t)
	})
}

// TestCorruptLogged: every file moved to corrupt/ is logged, ten lines a
// minute at most; one more line counts those past the limit, and the next
// line in a later minute says how many went unlogged before it. The count
// is exact in Stats.Corrupt.
func TestCorruptLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const junk = 1000
		dir, qdir := spoolWithRecords(t, 3)
		for i := range junk {
			if err := os.WriteFile(filepath.Join(qdir, fmt.Sprintf("junk-%04d.rec", i)), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var log bytes.Buffer
		s := openSpool(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		q := openQueue(t, s)
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if len(lines) != corruptBurst+1 {
			t.Fatalf("%d log lines, want %d:\n%s", len(lines), corruptBurst+1, log.String())
		}
		for i, l := range lines[:corruptBurst] {
			name := fmt.Sprintf("junk-%04d.rec", i)
			if !strings.Contains(l, "file="+filepath.Join(qdir, name)) || !strings.Contains(l, "moved_to="+filepath.Join(dir, corruptDir)) {
				t.Errorf("line %d does not name %s and where it went: %s", i+1, name, l)
			}
		}
		if want := fmt.Sprintf("files=%d", junk-corruptBurst); !strings.Contains(lines[corruptBurst], want) {
			t.Errorf("last line %q does not count the %s unlogged", lines[corruptBurst], want)
		}
		if got := q.Stats().Corrupt; got != junk {
			t.Errorf("Stats.Corrupt %d, want %d", got, junk)
		}
		if got := len(files(t, filepath.Join(dir, corruptDir))); got != junk {
			t.Errorf("%d files in corrupt/, want %d", got, junk)
		}

		// Still in the minute: a record corrupt at Read is counted, not
		// logged; a minute later the next one is, with the count.
		damage := func(seq uint64) {
			t.Helper()
			es, _ := q.Pending()
			for _, e := range es {
				if e.Seq == seq {
					if err := os.WriteFile(filepath.Join(qdir, e.name()), make([]byte, e.Size), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := q.Read(seq); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read(%d): %v, want ErrCorrupt", seq, err)
			}
		}
		log.Reset()
		damage(1)
		if log.Len() != 0 {
			t.Errorf("logged within the limit's minute: %s", log.String())
		}
		time.Sleep(corruptEvery)
		damage(2)
		if l := log.String(); strings.Count(l, "\n") != 1 || !strings.Contains(l, "unlogged_before=1") || !strings.Contains(l, "magic") {
			t.Errorf("a minute later: %q, want one line with unlogged_before=1 and the cause", l)
		}
		if got := q.Stats().Corrupt; got != junk+2 {
			t.Errorf("Stats.Corrupt %d, want %d", got, junk+2)
		}
	})
}

// sparse writes a file of size bytes that takes no disk and reads as
// zeros: junk of any size, in no time.
func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err == nil {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// allocated returns the bytes f allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeJunkRecord: a 512 MiB junk file named as a record is moved aside
// after reading its 40-byte header, never read whole: at load when it is
// over max_size, at Read when it is not. A record whose header is sound
// but that is over max_size stays, for Trim to drop as max_size.
func TestHugeJunkRecord(t *testing.T) {
	const huge = 512 << 20
	const budget = 1 << 20 // allocated, far below huge
	junkName := recordName(2, 5, time.Unix(0, 2))

	t.Run("over max_size, at load", func(t *testing.T) {
		dir, qdir := spoolWithRecords(t, 3)
		if err := os.Remove(filepath.Join(qdir, files(t, qdir)[1])); err != nil {
			t.Fatal(err)
		}
		sparse(t, filepath.Join(qdir, junkName), huge)
		var q *Queue
		n := allocated(func() { q = openQueue(t, openSpool(t, dir, Options{MaxSize: 1 << 20})) })
		if n > budget {
			t.Errorf("loading allocated %d bytes, want under %d", n, budget)
		}
		if diff := cmp.Diff([]uint64{1, 3}, seqs(t, q)); diff != "" {
			t.Errorf("pending (-want +got):\n%s", diff)
		}
		drops, err := q.Trim()
		if err != nil || len(drops) != 0 {
			t.Errorf("Trim = %v, %v; want nothing dropped", drops, err)
		}
		fi, err := os.Stat(filepath.Join(dir, corruptDir, filepath.Base(qdir)+"-"+junkName))
		if err != nil || fi.Size() != huge {
			t.Errorf("in corrupt/: %v, %v", fi, err)
		}
		if got := q.Stats(); got.Corrupt != 1 || got.Records != 2 {
			t.Errorf("Stats %+v, want 1 corrupt, 2 records", got)
		}
	})

	t.Run("under max_size, at Read", func(t *testing.T) {
		dir, qdir := spoolWithRecords(t, 3)
		if err := os.Remove(filepath.Join(qdir, files(t, qdir)[1])); err != nil {
			t.Fatal(err)
		}
		sparse(t, filepath.Join(qdir, junkName), huge)
		q := openQueue(t, openSpool(t, dir, Options{MaxSize: 1 << 30}))
		var err error
		n := allocated(func() { _, err = q.Read(2) })
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not a record") {
			t.Errorf("Read: %v, want ErrCorrupt, not a record", err)
		}
		if n > budget {
			t.Errorf("Read allocated %d bytes, want under %d", n, budget)
		}
		if diff := cmp.Diff([]uint64{1, 3}, seqs(t, q)); diff != "" {
			t.Errorf("pending (-want +got):\n%s", diff)
		}
	})

	t.Run("a sound record over max_size", func(t *testing.T) {
		dir := t.TempDir()
		s := openSpool(t, dir, Options{})
		q := openQueue(t, s)
		mustAppend(t, q, 1, 100)
		mustAppend(t, q, 2, 4000)
		mustAppend(t, q, 3, 100)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		q = openQueue(t, openSpool(t, dir, Options{MaxSize: 2000}))
		if got := q.Stats(); got.Corrupt != 0 || got.Records != 3 {
			t.Errorf("Stats %+v, want 3 records, none corrupt", got)
		}
		drops, err := q.Trim()
		if want := []Drop{{Reason: ReasonMaxSize, Records: 2, Samples: 3}}; err != nil || !cmp.Equal(drops, want) {
			t.Errorf("Trim = %v, %v; want %v", drops, err, want)
		}
	})
}

// TestRemoveFails: a record whose file cannot be removed (here replaced by
// a non-empty directory, which unlink refuses to root too) leaves the index
// all the same, with an error that names the cause and the fix; the next
// Open moves the odd file aside rather than send it.
func TestRemoveFails(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	q := openQueue(t, s)
	mustAppend(t, q, 1, 100)
	mustAppend(t, q, 2, 100)
	path := filepath.Join(q.dir, q.entries[0].name())
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), dirPerm); err != nil {
		t.Fatal(err)
	}
	err := q.Remove(1)
	want := fmt.Sprintf("spool: removing from queue %s: remove %s: directory not empty; make %s writable for uid %d", testDest, path, q.dir, os.Getuid())
	if err == nil || err.Error() != want {
		t.Errorf("Remove: %v, want %q", err, want)
	}
	if diff := cmp.Diff([]uint64{2}, seqs(t, q)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, openSpool(t, dir, Options{}))
	if diff := cmp.Diff([]uint64{2}, seqs(t, q)); diff != "" {
		t.Errorf("pending after reopen (-want +got):\n%s", diff)
	}
	if got := q.Stats().Corrupt; got != 1 {
		t.Errorf("Stats.Corrupt %d, want 1 (the directory moved aside)", got)
	}
}
