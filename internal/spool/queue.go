package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Record is one spooled request body with what the sender needs to send
// and count it.
type Record struct {
	Seq     uint64
	Format  string // the protobuf message of Body, e.g. "prometheus.WriteRequest"
	Samples int
	Created time.Time // when Append wrote it
	Body    []byte    // the encoded, compressed request body
}

// Entry is what Pending knows of a record without reading it: all but
// Size come from its file name.
type Entry struct {
	Seq     uint64
	Size    int64 // of the record file: header, format tag, body and checksum
	Samples int
	Created time.Time
}

func (e Entry) name() string { return recordName(e.Seq, e.Samples, e.Created) }

// Drop is what Trim dropped for one reason.
type Drop struct {
	Reason           string // ReasonMaxSize or ReasonMaxAge
	Records, Samples int
}

// Stats describe a queue for self-metrics.
type Stats struct {
	Records int
	Bytes   int64     // of the record files
	Oldest  time.Time // Created of the first pending record; zero when empty
	Corrupt int       // records and state files this process moved to corrupt/
}

// Queue is the FIFO of one destination. Its methods are safe for
// concurrent use by the goroutines of one process (the sender's shards);
// the lock on the spool dir keeps other processes out.
//
// Seqs grow with every Append, so the order of seqs is the order of
// appends; a record is durable before Append returns its seq. A seq is
// never given to two records pending at once: after a restart, seqs
// continue from the highest on disk, and a queue found empty starts again
// at 1.
//
// An in-memory index, loaded by Spool.Queue, answers Pending and Stats;
// Read goes to the disk, which is the truth: a record file that vanished is
// dropped from the index, and one that fails verification is moved to
// <dir>/corrupt/.
type Queue struct {
	s    *Spool
	name string // the destination's
	base string // config.DirName(name)
	dir  string

	// appendMu serializes Append from seq to rename, so that a record
	// with a higher seq is never durable before one with a lower.
	appendMu sync.Mutex

	mu      sync.Mutex
	next    uint64
	entries []Entry // by seq
	bytes   int64
	corrupt int
}

// load creates the queue dir, checks that it can be written, and indexes
// its records. What it moves to corrupt/ is made durable once at the end,
// not per file: a directory of junk costs two fsyncs, and a power cut can
// only bring a file back to be moved again.
func (q *Queue) load() error {
	if err := refuseSymlink(q.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(q.dir, dirPerm); err != nil {
		return fmt.Errorf("spool: creating queue %s: %w", q.name, err)
	}
	// The queue dir's own entry must be durable before records in it are.
	if err := syncDir(q.s.dir); err != nil {
		return fmt.Errorf("spool: creating queue %s: %w", q.name, err)
	}
	// Open checked the queue dirs it could list; this one may be new, or
	// one Open could not list.
	if err := probeDir(q.dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("spool: listing queue %s: %w", q.name, err)
	}
	moved := 0
	aside := func(name string, why error) error {
		moved++
		_, err := q.quarantine(name, why, false)
		return err
	}
	defer func() {
		if moved > 0 {
			_ = errors.Join(syncDir(filepath.Join(q.s.dir, corruptDir)), syncDir(q.dir))
		}
		q.s.clog.flush()
	}()
	for _, de := range ents {
		name := de.Name()
		if !strings.HasSuffix(name, recordSuffix) {
			continue // state files, temp files (Open removed them), strays
		}
		if !de.Type().IsRegular() {
			// A symlink or a device named as a record: moved aside as
			// it is, never followed or read.
			if err := aside(name, fmt.Errorf("not a regular file (%s), not followed", de.Type())); err != nil {
				return err
			}
			continue
		}
		seq, samples, created, ok := parseRecordName(name)
		if !ok {
			// Ours by its suffix, but no name Append gives: quarantined
			// rather than left to be listed at every start.
			if err := aside(name, errors.New("not a record name liftpush gives")); err != nil {
				return err
			}
			continue
		}
		info, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("spool: listing queue %s: %w", q.name, err)
		}
		e := Entry{Seq: seq, Size: info.Size(), Samples: samples, Created: created}
		if limit := q.s.opts.MaxSize; limit > 0 && e.Size > limit {
			// Trim would drop it, and every older record with it, to
			// get under max_size. A record Append wrote has a header
			// that says so; junk is moved aside, its header only read.
			if err := q.checkHeader(e); err != nil {
				if err := aside(name, fmt.Errorf("%d bytes, over max_size %d, and %w", e.Size, limit, err)); err != nil {
					return err
				}
				continue
			}
		}
		q.entries = append(q.entries, e)
	}
	slices.SortFunc(q.entries, func(a, b Entry) int { return cmpSeq(a.Seq, b.Seq) })
	// Two files of one seq are no state Append leaves; keep the first.
	q.entries = slices.CompactFunc(q.entries, func(a, b Entry) bool {
		if a.Seq != b.Seq {
			return false
		}
		_ = aside(b.name(), fmt.Errorf("a second record of seq %d", b.Seq))
		return true
	})
	q.next = 1
	for _, e := range q.entries {
		q.bytes += e.Size
	}
	if n := len(q.entries); n > 0 {
		q.next = q.entries[n-1].Seq + 1
	}
	return nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// find returns the index of seq in q.entries; q.mu must be held.
func (q *Queue) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(q.entries, seq, func(e Entry, seq uint64) int { return cmpSeq(e.Seq, seq) })
}

// forget drops entries[i] from the index; q.mu must be held.
func (q *Queue) forget(i int) {
	q.bytes -= q.entries[i].Size
	q.entries = slices.Delete(q.entries, i, i+1)
}

// Append writes a record and returns its seq once the record is durable:
// written to a temp file, fsynced, renamed into place, directory fsynced.
// Appends are serialized; the seq is greater than that of every record in
// the queue.
func (q *Queue) Append(format string, samples int, body []byte) (uint64, error) {
	if err := checkRecord(format, samples); err != nil {
		return 0, err
	}
	q.appendMu.Lock()
	defer q.appendMu.Unlock()
	release, err := q.s.enter()
	if err != nil {
		return 0, err
	}
	defer release()

	q.mu.Lock()
	seq := q.next
	q.next++
	q.mu.Unlock()
	// Created as a file name gives it back: no monotonic reading, local.
	created := time.Unix(0, time.Now().UnixNano())
	b, err := encodeRecord(Record{Seq: seq, Format: format, Samples: samples, Created: created, Body: body})
	if err != nil {
		return 0, err
	}
	e := Entry{Seq: seq, Size: int64(len(b)), Samples: samples, Created: created}
	renamed, err := writeFileAtomic(q.dir, e.name(), b)
	if err != nil {
		if renamed {
			// In place but maybe not durable: the caller takes it as not
			// written, so it must not come back after a restart.
			_ = os.Remove(filepath.Join(q.dir, e.name()))
		}
		return 0, fmt.Errorf("spool: appending to queue %s: %w", q.name, err)
	}
	q.mu.Lock()
	q.entries = append(q.entries, e)
	q.bytes += e.Size
	q.mu.Unlock()
	return seq, nil
}

// Pending lists the records, oldest (lowest seq) first, from the index.
func (q *Queue) Pending() ([]Entry, error) {
	release, err := q.s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) == 0 {
		return nil, nil
	}
	return slices.Clone(q.entries), nil
}

// Read reads and verifies one record: its CRC-32C over header and body,
// its lengths, and its header against its file name. A record that fails
// is moved to <dir>/corrupt/<queuedir>-<file> and out of the queue,
// counted in Stats.Corrupt, and Read returns an error wrapping ErrCorrupt;
// the caller goes on with the next. A seq not in the queue (removed,
// trimmed) gives an error wrapping fs.ErrNotExist.
func (q *Queue) Read(seq uint64) (Record, error) {
	release, err := q.s.enter()
	if err != nil {
		return Record{}, err
	}
	defer release()
	q.mu.Lock()
	i, ok := q.find(seq)
	var e Entry
	if ok {
		e = q.entries[i]
	}
	q.mu.Unlock()
	if !ok {
		return Record{}, fmt.Errorf("spool: queue %s has no record %d: %w", q.name, seq, fs.ErrNotExist)
	}

	path := filepath.Join(q.dir, e.name())
	b, err := q.readRecord(e)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed concurrently, or by hand: the disk is the truth.
		q.mu.Lock()
		if i, ok := q.find(seq); ok {
			q.forget(i)
		}
		q.mu.Unlock()
		return Record{}, fmt.Errorf("spool: queue %s has no record %d: %w", q.name, seq, fs.ErrNotExist)
	}
	var bad *badFileError
	if err != nil && !errors.As(err, &bad) {
		return Record{}, fmt.Errorf("spool: reading queue %s: %w", q.name, err)
	}
	var rec Record
	if err == nil {
		rec, err = decodeRecord(b)
	}
	if err == nil {
		err = matchName(rec, e)
	}
	if err == nil {
		return rec, nil
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	i, ok = q.find(seq)
	if !ok {
		// Removed while we read it: whatever we read is not the queue's.
		return Record{}, fmt.Errorf("spool: queue %s has no record %d: %w", q.name, seq, fs.ErrNotExist)
	}
	q.forget(i)
	dst, qerr := q.quarantine(e.name(), err, true)
	if qerr != nil {
		return Record{}, fmt.Errorf("%w: %s: %v; moving it aside failed: %v", ErrCorrupt, path, err, qerr)
	}
	return Record{}, fmt.Errorf("%w: %s: %v; moved to %s", ErrCorrupt, path, err, dst)
}

// readRecord reads the file of e, refusing what cannot be a record of e
// before reading it whole: a symlink (never followed), a file that is not
// regular, of another size than listed, or over max_size, or whose header
// disagrees with its size. A 0.5 GB junk file costs one header read. Those
// refusals are a *badFileError.
func (q *Queue) readRecord(e Entry) ([]byte, error) {
	path := filepath.Join(q.dir, e.name())
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &badFileError{errors.New("a symlink, not followed")}
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	switch limit := q.s.opts.MaxSize; {
	case !fi.Mode().IsRegular():
		return nil, &badFileError{fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
	case limit > 0 && size > limit:
		return nil, &badFileError{fmt.Errorf("%d bytes, over max_size %d", size, limit)}
	case size != e.Size:
		return nil, &badFileError{fmt.Errorf("%d bytes, listed with %d", size, e.Size)}
	}
	hdr := make([]byte, min(size, recordHeader))
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, err
	}
	if err := checkHeader(hdr, size); err != nil {
		return nil, &badFileError{err}
	}
	b := make([]byte, size)
	copy(b, hdr)
	if _, err := io.ReadFull(f, b[len(hdr):]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &badFileError{fmt.Errorf("shrank while read: %w", err)}
		}
		return nil, err
	}
	return b, nil
}

// checkHeader reads only the header of e's file and checks it against
// the file's size and name.
func (q *Queue) checkHeader(e Entry) error {
	f, err := os.OpenFile(filepath.Join(q.dir, e.name()), os.O_RDONLY|noFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, min(e.Size, recordHeader))
	if _, err := io.ReadFull(f, hdr); err != nil {
		return err
	}
	if err := checkHeader(hdr, e.Size); err != nil {
		return err
	}
	return matchName(headerFields(hdr), e)
}

// badFileError is a record file refused before it was read whole.
type badFileError struct{ err error }

func (e *badFileError) Error() string { return e.err.Error() }
func (e *badFileError) Unwrap() error { return e.err }

// matchName checks a record's header against the entry from its file name.
func matchName(rec Record, e Entry) error {
	if rec.Seq != e.Seq || rec.Samples != e.Samples || !rec.Created.Equal(e.Created) {
		return fmt.Errorf("header (seq %d, %d samples, created %d) does not match the file name", rec.Seq, rec.Samples, rec.Created.UnixNano())
	}
	return nil
}

// quarantine moves the file name of the queue dir to <dir>/corrupt/,
// counts and logs it (why is what is wrong with it); q.mu must be held or
// q not yet shared. A name taken already (a seq given again after the
// queue emptied) gets a numeric suffix. rename(2) moves a symlink itself,
// never its target. sync makes the move durable now; load syncs once for
// all it moved.
func (q *Queue) quarantine(name string, why error, sync bool) (string, error) {
	q.corrupt++
	cdir := filepath.Join(q.s.dir, corruptDir)
	if err := os.MkdirAll(cdir, dirPerm); err != nil {
		return "", err
	}
	dst := filepath.Join(cdir, q.base+"-"+name)
	for n := 2; ; n++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = filepath.Join(cdir, q.base+"-"+name+"."+strconv.Itoa(n))
	}
	if err := os.Rename(filepath.Join(q.dir, name), dst); err != nil {
		q.s.clog.failed(q.name, filepath.Join(q.dir, name), why, err)
		return "", err
	}
	q.s.clog.moved(q.name, filepath.Join(q.dir, name), dst, why)
	if !sync {
		return dst, nil
	}
	return dst, errors.Join(syncDir(cdir), syncDir(q.dir))
}

// Remove deletes a record, once the receiver has accepted it or refused it
// for good. A seq not in the queue gives an error wrapping fs.ErrNotExist.
// When the file cannot be removed (a queue dir made read-only since Open),
// the record still leaves the queue's index: it has its outcome, and this
// process must not send it again; the next Open refuses the dir.
//
// Remove does not fsync the directory: kill -9 cannot undo it, and power
// loss can only make the record come back, to be sent again; the next
// Append, Sync or Close makes it durable.
func (q *Queue) Remove(seq uint64) error {
	release, err := q.s.enter()
	if err != nil {
		return err
	}
	defer release()
	q.mu.Lock()
	defer q.mu.Unlock()
	i, ok := q.find(seq)
	if !ok {
		return fmt.Errorf("spool: queue %s has no record %d: %w", q.name, seq, fs.ErrNotExist)
	}
	err = os.Remove(filepath.Join(q.dir, q.entries[i].name()))
	q.forget(i)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: removing from queue %s: %w; make %s writable for uid %d", q.name, err, q.dir, os.Getuid())
	}
	return nil
}

// Sync makes the queue's removals durable: after it, a power cut cannot
// bring back a record Remove took out.
func (q *Queue) Sync() error {
	release, err := q.s.enter()
	if err != nil {
		return err
	}
	defer release()
	if err := syncDir(q.dir); err != nil {
		return fmt.Errorf("spool: syncing queue %s: %w", q.name, err)
	}
	return nil
}

// Trim drops records from the front of the queue while the first is older
// than Options.MaxAge (reason max_age) or the queue's files exceed
// Options.MaxSize (reason max_size). It returns one Drop per reason that
// dropped anything, max_age first. Call it before a replay, not during
// one: a record a shard is sending may be dropped, and its Remove then
// fails with fs.ErrNotExist. The remote-write writer trims when a delivery
// opens, before its shards start.
func (q *Queue) Trim() ([]Drop, error) {
	release, err := q.s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	age := Drop{Reason: ReasonMaxAge}
	size := Drop{Reason: ReasonMaxSize}
	drops := func() []Drop {
		var ds []Drop
		for _, d := range []Drop{age, size} {
			if d.Records > 0 {
				ds = append(ds, d)
			}
		}
		return ds
	}
	for len(q.entries) > 0 {
		e := q.entries[0]
		var d *Drop
		switch {
		case q.s.opts.MaxAge > 0 && now.Sub(e.Created) > q.s.opts.MaxAge:
			d = &age
		case q.s.opts.MaxSize > 0 && q.bytes > q.s.opts.MaxSize:
			d = &size
		default:
			return drops(), nil
		}
		if err := os.Remove(filepath.Join(q.dir, e.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return drops(), fmt.Errorf("spool: trimming queue %s: %w", q.name, err)
		}
		q.forget(0)
		d.Records++
		d.Samples += e.Samples
	}
	return drops(), nil
}

// Stats describes the queue, from the index.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := Stats{Records: len(q.entries), Bytes: q.bytes, Corrupt: q.corrupt}
	if len(q.entries) > 0 {
		st.Oldest = q.entries[0].Created
	}
	return st
}

// stateSuffix ends the name of every state file.
const stateSuffix = ".state"

// checkKey admits the state keys that are safe as file names.
func checkKey(key string) error {
	ok := key != "" && len(key) <= 64
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("spool: state key %q must be 1 to 64 of [A-Za-z0-9_-]", key)
	}
	return nil
}

// SaveState keeps data under key for this destination (the last cycle's
// series set, a remembered fallback to remote-write 1.0), replacing what
// was there atomically: temp file, fsync, rename, fsync dir. A crash
// leaves the old value or the new one, never a mix.
func (q *Queue) SaveState(key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	release, err := q.s.enter()
	if err != nil {
		return err
	}
	defer release()
	if _, err := writeFileAtomic(q.dir, key+stateSuffix, encodeState(data)); err != nil {
		return fmt.Errorf("spool: saving state %s of queue %s: %w", key, q.name, err)
	}
	return nil
}

// LoadState returns what SaveState last kept under key, or nil, nil when
// there is none. A state file that fails its checksum counts as none: it
// is moved to <dir>/corrupt/ and counted in Stats.Corrupt, and the caller
// starts afresh (no staleness markers for one cycle, say).
func (q *Queue) LoadState(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	release, err := q.s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	name := key + stateSuffix
	b, err := readFile(filepath.Join(q.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var data []byte
	var bad *badFileError
	switch {
	case errors.As(err, &bad):
	case err != nil:
		return nil, fmt.Errorf("spool: loading state %s of queue %s: %w", key, q.name, err)
	default:
		data, err = decodeState(b)
	}
	if err != nil {
		q.mu.Lock()
		defer q.mu.Unlock()
		_, _ = q.quarantine(name, err, true)
		return nil, nil
	}
	return data, nil
}

// Sub returns the queue of a part of this queue's destination, such as one
// tenant of a remote_write entry whose headers come from labels. It is a
// queue of its own, in its own directory, named after this one and key.
func (q *Queue) Sub(key string) (*Queue, error) {
	return q.s.Queue(q.name + "/" + key)
}

// maxStateSize bounds what LoadState reads: state is a series set or a
// list of tenants, far below it.
const maxStateSize = 1 << 30

// readFile reads a small file of the queue, never through a symlink.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &badFileError{errors.New("a symlink, not followed")}
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxStateSize {
		return nil, &badFileError{fmt.Errorf("not a regular file of at most %d bytes (%s, %d bytes)", maxStateSize, fi.Mode().Type(), fi.Size())}
	}
	return io.ReadAll(f)
}
