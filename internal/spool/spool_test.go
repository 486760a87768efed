package spool

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/config"
)

const (
	testFormat = "prometheus.WriteRequest"
	testDest   = "remote_write/prometheus:9090/api/v1/write"
)

func openSpool(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openQueue(t testing.TB, s *Spool) *Queue {
	t.Helper()
	q, err := s.Queue(testDest)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// payload is a body that depends on samples only, so that a reader can
// check a record's body against its header.
func payload(samples, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(samples*7 + i*31 + i>>8)
	}
	return b
}

func mustAppend(t testing.TB, q *Queue, samples, size int) uint64 {
	t.Helper()
	seq, err := q.Append(testFormat, samples, payload(samples, size))
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func recordSize(bodySize int) int64 {
	return int64(recordHeader + len(testFormat) + bodySize + recordTrailer)
}

func seqs(t testing.TB, q *Queue) []uint64 {
	t.Helper()
	es, err := q.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// files lists the file names under dir, recursively, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestQueue runs in a synctest bubble, where the records' Created times are
// known: the bubble's clock moves only when the test sleeps.
func TestQueue(t *testing.T) {
	synctest.Test(t, testQueue)
}

func testQueue(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	q := openQueue(t, s)

	var want []Entry
	records := map[uint64]Record{}
	for i, samples := range []int{10, 0, 2000, 3, 55} {
		size := 100 * (i + 1)
		seq := mustAppend(t, q, samples, size)
		if seq != uint64(i+1) {
			t.Fatalf("append %d: seq %d, want %d", i, seq, i+1)
		}
		created := time.Now()
		want = append(want, Entry{Seq: seq, Size: recordSize(size), Samples: samples, Created: created})
		records[seq] = Record{Seq: seq, Format: testFormat, Samples: samples, Created: created, Body: payload(samples, size)}
		time.Sleep(time.Second)
	}
	if again, err := s.Queue(testDest); err != nil || again != q {
		t.Errorf("Queue again = %p, %v; want the same queue %p", again, err, q)
	}

	// Pending, oldest first.
	got, err := q.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}

	// Read.
	for seq, rec := range records {
		got, err := q.Read(seq)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rec, got); diff != "" {
			t.Errorf("Read(%d) (-want +got):\n%s", seq, diff)
		}
	}

	// Remove.
	for _, seq := range []uint64{1, 3} {
		if err := q.Remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]uint64{2, 4, 5}, seqs(t, q)); diff != "" {
		t.Errorf("Pending after Remove (-want +got):\n%s", diff)
	}
	if _, err := q.Read(3); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a removed record: %v, want fs.ErrNotExist", err)
	}
	if err := q.Remove(3); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove again: %v, want fs.ErrNotExist", err)
	}
	wantStats := Stats{Records: 3, Bytes: want[1].Size + want[3].Size + want[4].Size, Oldest: want[1].Created}
	if diff := cmp.Diff(wantStats, q.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}

	// Append after Remove.
	if seq := mustAppend(t, q, 1, 1); seq != 6 {
		t.Errorf("seq after Remove %d, want 6", seq)
	}

	// Queues apart.
	other, err := s.Queue("remote_write/other")
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(t, other); len(got) != 0 {
		t.Errorf("new queue has %v", got)
	}
	if seq := mustAppend(t, other, 1, 1); seq != 1 {
		t.Errorf("first seq of a new queue %d, want 1", seq)
	}
	if _, err := os.Stat(filepath.Join(s.dir, config.DirName("remote_write/other"))); err != nil {
		t.Errorf("queue dir: %v", err)
	}
}

func TestReopen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		appends  int
		remove   []uint64
		wantSeqs []uint64 // pending after reopen
		wantNext uint64
	}{
		{name: "continues from the highest", appends: 3, remove: []uint64{1}, wantSeqs: []uint64{2, 3}, wantNext: 4},
		{name: "a gap stays", appends: 4, remove: []uint64{2, 3}, wantSeqs: []uint64{1, 4}, wantNext: 5},
		{name: "last removed", appends: 3, remove: []uint64{3}, wantSeqs: []uint64{1, 2}, wantNext: 3},
		{name: "empty queue starts again", appends: 2, remove: []uint64{1, 2}, wantNext: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				s := openSpool(t, dir, Options{})
				q := openQueue(t, s)
				for i := range tc.appends {
					mustAppend(t, q, i, 10*i)
					time.Sleep(time.Second)
				}
				for _, seq := range tc.remove {
					if err := q.Remove(seq); err != nil {
						t.Fatal(err)
					}
				}
				before, err := q.Pending()
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}

				s = openSpool(t, dir, Options{})
				q = openQueue(t, s)
				after, err := q.Pending()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("Pending after reopen (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantSeqs, seqs(t, q)); diff != "" {
					t.Errorf("seqs (-want +got):\n%s", diff)
				}
				for _, e := range after {
					if _, err := q.Read(e.Seq); err != nil {
						t.Error(err)
					}
				}
				if seq := mustAppend(t, q, 1, 1); seq != tc.wantNext {
					t.Errorf("next seq %d, want %d", seq, tc.wantNext)
				}
			})
		})
	}
}

func TestTrim(t *testing.T) {
	const body = 1000
	size := recordSize(body)
	// Five records of 10, 11, ... 14 samples, a minute apart on the
	// clock of a synctest bubble, which stands at the last.
	for _, tc := range []struct {
		name      string
		opts      Options
		wantDrops []Drop
		wantSeqs  []uint64
	}{
		{name: "no limits", wantSeqs: []uint64{1, 2, 3, 4, 5}},
		{name: "under both", opts: Options{MaxSize: 5 * size, MaxAge: 5 * time.Minute}, wantSeqs: []uint64{1, 2, 3, 4, 5}},
		{
			name:      "max_size",
			opts:      Options{MaxSize: 5*size/2 + 1},
			wantDrops: []Drop{{Reason: ReasonMaxSize, Records: 3, Samples: 10 + 11 + 12}},
			wantSeqs:  []uint64{4, 5},
		},
		{
			name:      "max_size exactly",
			opts:      Options{MaxSize: 2 * size},
			wantDrops: []Drop{{Reason: ReasonMaxSize, Records: 3, Samples: 10 + 11 + 12}},
			wantSeqs:  []uint64{4, 5},
		},
		{
			name:      "max_size below one record",
			opts:      Options{MaxSize: 1},
			wantDrops: []Drop{{Reason: ReasonMaxSize, Records: 5, Samples: 10 + 11 + 12 + 13 + 14}},
		},
		{
			name:      "max_age",
			opts:      Options{MaxAge: 150 * time.Second},
			wantDrops: []Drop{{Reason: ReasonMaxAge, Records: 2, Samples: 10 + 11}},
			wantSeqs:  []uint64{3, 4, 5},
		},
		{
			name:     "max_age exactly is kept",
			opts:     Options{MaxAge: 4 * time.Minute},
			wantSeqs: []uint64{1, 2, 3, 4, 5},
		},
		{
			name:      "both",
			opts:      Options{MaxAge: 150 * time.Second, MaxSize: 2 * size},
			wantDrops: []Drop{{Reason: ReasonMaxAge, Records: 2, Samples: 10 + 11}, {Reason: ReasonMaxSize, Records: 1, Samples: 12}},
			wantSeqs:  []uint64{4, 5},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := openSpool(t, t.TempDir(), tc.opts)
				q := openQueue(t, s)
				for i := range 5 {
					if i > 0 {
						time.Sleep(time.Minute)
					}
					mustAppend(t, q, 10+i, body)
				}
				drops, err := q.Trim()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.wantDrops, drops); diff != "" {
					t.Errorf("drops (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantSeqs, seqs(t, q)); diff != "" {
					t.Errorf("pending (-want +got):\n%s", diff)
				}
				if st := q.Stats(); st.Bytes != int64(len(tc.wantSeqs))*size {
					t.Errorf("Stats.Bytes %d, want %d", st.Bytes, int64(len(tc.wantSeqs))*size)
				}
				// The files are gone, not only the index entries.
				var recs int
				for _, f := range files(t, s.dir) {
					if strings.HasSuffix(f, recordSuffix) {
						recs++
					}
				}
				if recs != len(tc.wantSeqs) {
					t.Errorf("%d record files on disk, want %d", recs, len(tc.wantSeqs))
				}
				if drops, err := q.Trim(); err != nil || drops != nil {
					t.Errorf("Trim again: %v, %v; want nothing", drops, err)
				}
			})
		})
	}
}

func TestCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b, next []byte) []byte // b is seq 2's file, next seq 3's
	}{
		{name: "flipped body byte", damage: func(b, _ []byte) []byte { b[len(b)-10] ^= 0xff; return b }},
		{name: "flipped header bit", damage: func(b, _ []byte) []byte { b[17] ^= 1; return b }},
		{name: "flipped checksum bit", damage: func(b, _ []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{name: "flipped magic", damage: func(b, _ []byte) []byte { b[0] = 'X'; return b }},
		{name: "huge body length", damage: func(b, _ []byte) []byte { copy(b[32:], "\xff\xff\xff\xff\xff\xff\xff\xff"); return b }},
		{name: "truncated", damage: func(b, _ []byte) []byte { return b[:len(b)-7] }},
		{name: "truncated in the header", damage: func(b, _ []byte) []byte { return b[:30] }},
		{name: "empty", damage: func(b, _ []byte) []byte { return b[:0] }},
		{name: "extended", damage: func(b, _ []byte) []byte { return append(b, 0) }},
		{name: "zeroed", damage: func(b, _ []byte) []byte { clear(b); return b }},
		{name: "another record's content", damage: func(_, next []byte) []byte { return next }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			q := openQueue(t, s)
			for i := range 3 {
				mustAppend(t, q, 1+i, 500)
			}
			es, err := q.Pending()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(q.dir, es[1].name())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			next, err := os.ReadFile(filepath.Join(q.dir, es[2].name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b, next), 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = q.Read(2)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read of the damaged record: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			moved := filepath.Join(corruptDir, filepath.Base(q.dir)+"-"+es[1].name())
			if !strings.Contains(err.Error(), moved) {
				t.Errorf("error %q does not name %s", err, moved)
			}
			if _, err := os.Stat(filepath.Join(dir, moved)); err != nil {
				t.Errorf("not moved to corrupt/: %v", err)
			}
			if diff := cmp.Diff([]uint64{1, 3}, seqs(t, q)); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
			for _, seq := range []uint64{1, 3} {
				if _, err := q.Read(seq); err != nil {
					t.Errorf("the queue does not go on: %v", err)
				}
			}
			if _, err := q.Read(2); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Read again: %v, want fs.ErrNotExist", err)
			}
			if got := q.Stats(); got.Corrupt != 1 || got.Records != 2 || got.Bytes != 2*recordSize(500) {
				t.Errorf("Stats %+v, want 1 corrupt, 2 records of %d bytes", got, recordSize(500))
			}
			if seq := mustAppend(t, q, 1, 1); seq != 4 {
				t.Errorf("next seq %d, want 4", seq)
			}

			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			q = openQueue(t, openSpool(t, dir, Options{}))
			if diff := cmp.Diff([]uint64{1, 3, 4}, seqs(t, q)); diff != "" {
				t.Errorf("pending after reopen (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStrayFiles: a .rec file of a name Append never gives is moved aside
// at load; other files are left alone.
func TestStrayFiles(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	q := openQueue(t, s)
	mustAppend(t, q, 1, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"garbage.rec", "README", "1-2-3.rec"} {
		if err := os.WriteFile(filepath.Join(q.dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q = openQueue(t, openSpool(t, dir, Options{}))
	if diff := cmp.Diff([]uint64{1}, seqs(t, q)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	if got := q.Stats().Corrupt; got != 2 {
		t.Errorf("Stats.Corrupt %d, want 2", got)
	}
	base := filepath.Base(q.dir)
	want := []string{
		filepath.Join(corruptDir, base+"-1-2-3.rec"),
		filepath.Join(corruptDir, base+"-garbage.rec"),
		filepath.Join(base, q.entries[0].name()),
		filepath.Join(base, "README"),
		lockName,
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestLeftoverTemp(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	q := openQueue(t, s)
	mustAppend(t, q, 5, 100)
	if err := q.SaveState("series", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash between write and rename leaves: a torn record, a
	// whole but unrenamed one, a state file half written.
	whole, err := encodeRecord(Record{Seq: 2, Format: testFormat, Samples: 1, Created: time.Now(), Body: []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	leftovers := map[string][]byte{
		filepath.Join(q.dir, ".00000000000000000002-1-1.rec.123"+tmpSuffix): whole[:20],
		filepath.Join(q.dir, ".00000000000000000002-1-2.rec.456"+tmpSuffix): whole,
		filepath.Join(q.dir, ".series.state.789"+tmpSuffix):                 []byte("LPST"),
		filepath.Join(dir, ".probe-1"+tmpSuffix):                            nil,
	}
	for path, b := range leftovers {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s = openSpool(t, dir, Options{})
	for path := range leftovers {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover %s still there (%v)", path, err)
		}
	}
	q = openQueue(t, s)
	if diff := cmp.Diff([]uint64{1}, seqs(t, q)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	if got, err := q.LoadState("series"); err != nil || string(got) != "old" {
		t.Errorf("LoadState = %q, %v; want the old state", got, err)
	}
	if seq := mustAppend(t, q, 1, 1); seq != 2 {
		t.Errorf("next seq %d, want 2", seq)
	}
	if st := q.Stats(); st.Corrupt != 0 {
		t.Errorf("Stats.Corrupt %d, want 0", st.Corrupt)
	}
}

func TestState(t *testing.T) {
	for _, tc := range []struct {
		name        string
		save        [][]byte // in order
		damage      func(b []byte) []byte
		want        []byte
		wantCorrupt int
	}{
		{name: "absent"},
		{name: "round trip", save: [][]byte{[]byte("series hashes")}, want: []byte("series hashes")},
		{name: "empty is not absent", save: [][]byte{{}}, want: []byte{}},
		{name: "replaced", save: [][]byte{[]byte("first"), []byte("second")}, want: []byte("second")},
		{name: "large", save: [][]byte{bytes.Repeat([]byte("0123456789abcdef"), 1<<16)}, want: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
		{name: "torn", save: [][]byte{[]byte("series hashes")}, damage: func(b []byte) []byte { return b[:len(b)-3] }, wantCorrupt: 1},
		{name: "flipped", save: [][]byte{[]byte("series hashes")}, damage: func(b []byte) []byte { b[18] ^= 4; return b }, wantCorrupt: 1},
		{name: "empty file", save: [][]byte{[]byte("series hashes")}, damage: func([]byte) []byte { return nil }, wantCorrupt: 1},
		{name: "a record", save: [][]byte{[]byte("x")}, damage: func([]byte) []byte {
			b, _ := encodeRecord(Record{Format: testFormat, Body: []byte("x")})
			return b
		}, wantCorrupt: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			q := openQueue(t, s)
			for _, data := range tc.save {
				if err := q.SaveState("series", data); err != nil {
					t.Fatal(err)
				}
			}
			if tc.damage != nil {
				path := filepath.Join(q.dir, "series"+stateSuffix)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.damage(b), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// Kept across a restart, through a new Spool.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			q = openQueue(t, openSpool(t, dir, Options{}))
			got, err := q.LoadState("series")
			if err != nil {
				t.Fatal(err)
			}
			// bytes.Equal, not cmp.Diff: the large case is 1 MiB.
			if !bytes.Equal(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Errorf("LoadState = %d bytes %.40q (nil: %t), want %d bytes %.40q (nil: %t)", len(got), got, got == nil, len(tc.want), tc.want, tc.want == nil)
			}
			if got := q.Stats().Corrupt; got != tc.wantCorrupt {
				t.Errorf("Stats.Corrupt %d, want %d", got, tc.wantCorrupt)
			}
			if tc.wantCorrupt > 0 {
				if _, err := os.Stat(filepath.Join(dir, corruptDir, filepath.Base(q.dir)+"-series"+stateSuffix)); err != nil {
					t.Errorf("not moved to corrupt/: %v", err)
				}
				// Then it is absent, counted once.
				if got, err := q.LoadState("series"); got != nil || err != nil || q.Stats().Corrupt != 1 {
					t.Errorf("LoadState again = %q, %v, %d corrupt; want nil, nil, 1", got, err, q.Stats().Corrupt)
				}
			}
			// States are per key and apart from records.
			if got, err := q.LoadState("fallback"); got != nil || err != nil {
				t.Errorf("another key: %q, %v", got, err)
			}
			if got := seqs(t, q); len(got) != 0 {
				t.Errorf("pending %v, want none", got)
			}
		})
	}
}

func TestStateKey(t *testing.T) {
	q := openQueue(t, openSpool(t, t.TempDir(), Options{}))
	for _, key := range []string{"", "../x", "a/b", ".hidden", "a.state", strings.Repeat("k", 65), "ü"} {
		t.Run(key, func(t *testing.T) {
			if err := q.SaveState(key, nil); err == nil {
				t.Error("SaveState: no error")
			}
			if _, err := q.LoadState(key); err == nil {
				t.Error("LoadState: no error")
			}
		})
	}
}

func TestAppendInvalid(t *testing.T) {
	q := openQueue(t, openSpool(t, t.TempDir(), Options{}))
	for _, tc := range []struct {
		name    string
		format  string
		samples int
	}{
		{name: "no format", samples: 1},
		{name: "long format", format: strings.Repeat("f", 256), samples: 1},
		{name: "negative samples", format: testFormat, samples: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if seq, err := q.Append(tc.format, tc.samples, nil); err == nil {
				t.Errorf("Append = %d, want an error", seq)
			}
		})
	}
	if got := seqs(t, q); len(got) != 0 {
		t.Errorf("pending %v", got)
	}
	if seq := mustAppend(t, q, 0, 0); seq != 1 {
		t.Errorf("first valid Append got seq %d", seq)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		opts Options
		want []string
	}{
		{name: "not a directory", dir: filepath.Join(file, "spool"), want: []string{"spool dir " + filepath.Join(file, "spool") + " is not writable", "set spool.dir to a writable volume"}},
		{name: "no dir", want: []string{"no dir"}},
		{name: "negative max_size", dir: t.TempDir(), opts: Options{MaxSize: -1}, want: []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dir, tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestClosed(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	q := openQueue(t, s)
	mustAppend(t, q, 1, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, op := range map[string]func() error{
		"Queue":     func() error { _, err := s.Queue("x"); return err },
		"Append":    func() error { _, err := q.Append(testFormat, 1, nil); return err },
		"Pending":   func() error { _, err := q.Pending(); return err },
		"Read":      func() error { _, err := q.Read(1); return err },
		"Remove":    func() error { return q.Remove(1) },
		"Trim":      func() error { _, err := q.Trim(); return err },
		"SaveState": func() error { return q.SaveState("k", nil) },
		"LoadState": func() error { _, err := q.LoadState("k"); return err },
	} {
		if err := op(); !errors.Is(err, errClosed) {
			t.Errorf("%s after Close: %v, want errClosed", name, err)
		}
	}
}

// TestConcurrent runs the sender's pattern under -race: shards append
// while a replayer reads and removes oldest first. Appends are serialized,
// so the replayer sees seqs strictly increasing and every one once.
func TestConcurrent(t *testing.T) {
	const shards, perShard = 4, 25
	s := openSpool(t, t.TempDir(), Options{MaxSize: 1 << 30, MaxAge: time.Hour})
	q := openQueue(t, s)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() {
			for j := range perShard {
				if _, err := q.Append(testFormat, i*100+j, payload(i*100+j, 200)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() { // self-metrics and limits, meanwhile
		for range 50 {
			_ = q.Stats()
			if _, err := q.Trim(); err != nil {
				t.Error(err)
			}
		}
	})
	var last uint64
	deadline := time.Now().Add(30 * time.Second)
	for done := 0; done < shards*perShard && time.Now().Before(deadline); {
		es, err := q.Pending()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Seq <= last {
				t.Fatalf("seq %d after %d", e.Seq, last)
			}
			last = e.Seq
			rec, err := q.Read(e.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.Body, payload(rec.Samples, 200)) {
				t.Fatalf("seq %d: body does not match its samples", e.Seq)
			}
			if err := q.Remove(e.Seq); err != nil {
				t.Fatal(err)
			}
			done++
		}
	}
	wg.Wait()
	if last != shards*perShard {
		t.Errorf("last seq %d, want %d", last, shards*perShard)
	}
	if st := q.Stats(); st != (Stats{}) {
		t.Errorf("Stats %+v, want empty", st)
	}
}
