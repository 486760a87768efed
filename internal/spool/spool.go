// Package spool is liftpush's write-ahead queue on disk: every remote-write
// request body is durable here before its first send, and leaves only once
// the receiver has accepted it or refused it for good (DESIGN.md section 5,
// "Spool"; issue 9). A spool dir holds one FIFO queue per destination:
//
//	<dir>/lock                        flock(2)ed by the one process using dir; holds its pid
//	<dir>/<DirName(destination)>/     a queue (config.DirName: never "lock" or "corrupt")
//	    <seq>-<samples>-<created>.rec one record per file, see record.go
//	    <key>.state                   small per-destination state (SaveState)
//	    .*.tmp                        a write not yet renamed into place; removed at Open
//	<dir>/corrupt/<queuedir>-<file>   what failed its checksum, kept for a human
//
// # Guarantee
//
// kill -9 at any instant corrupts nothing and loses nothing Append returned
// for (TestCrash). Append writes a temp file, fsyncs it, renames it into
// place and fsyncs the directory before it returns: a crash before the
// rename leaves a temp file, which was never acknowledged and is removed at
// Open; the rename is atomic, so a record file is whole or absent. There is
// no shared metadata to tear: the directory listing is the index. The same
// holds for power loss on a file system that honours fsync (ext4, xfs),
// except that an unsynced Remove may be undone until the next Append, Sync or
// Close syncs the directory: the record may then be sent twice, which a
// receiver takes as duplicate samples.
//
// # A hostile volume
//
// Open refuses a spool dir in which it could not do its work: a queue dir
// (or corrupt/) it cannot write, since a record it delivered and could not
// remove would be sent again by every run, and any symlink, since
// following one reads, sends or moves files outside the spool. A record
// file is opened without following links, and is refused after reading its
// header alone when it cannot be a record (junk of any size), or is over
// max_size. What is moved to corrupt/ is logged, ten lines a minute at
// most, and counted (Stats.Corrupt). (Issue 22.)
//
// # Why a directory of files
//
// Chosen by crash safety, then simplicity, then speed. nsqio/go-diskqueue
// syncs data and its metadata file (read and write positions) only every
// syncEvery writes or syncTimeout, so a Put that returned can be lost, and
// vmagent's queue of that shape wipes itself when its metainfo is torn.
// Prometheus' tsdb/wlog has a CRC-32C per page fragment and repairs a torn
// tail, but deletes whole segments: acking one record needs a side index,
// metadata to keep crash-safe again. tidwall/wal has no checksum, fails Open
// on a torn tail and truncates only from the front, in order. A file per
// record has no metadata to tear, loses one record to a bad checksum, acks by
// one unlink, and pays two fsyncs per request body, not per sample.
package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftpush/liftpush/internal/config"
)

// ErrCorrupt is wrapped by the error of a Read whose record failed
// verification; the record is then out of the queue, in <dir>/corrupt/.
var ErrCorrupt = errors.New("spool record corrupt")

// The reasons Trim drops records for: the label values of
// liftpush_spool_dropped_samples_total.
const (
	ReasonMaxSize = "max_size"
	ReasonMaxAge  = "max_age"
)

const (
	lockName   = "lock"
	corruptDir = "corrupt"
	tmpSuffix  = ".tmp"
	dirPerm    = 0o700
	filePerm   = 0o600
	// lockPoll is how often a waiting Open tries the lock again.
	lockPoll = 50 * time.Millisecond
)

// Options bound every queue of a Spool.
type Options struct {
	MaxSize int64         // bytes over all record files of a queue; 0: no limit
	MaxAge  time.Duration // 0: no limit
	// Logger gets a line for each file moved to corrupt/, rate-limited;
	// nil: none.
	Logger *slog.Logger
}

// Spool is an open spool dir, held exclusively by this process until
// Close. Its methods, and those of its queues, are safe for concurrent use;
// after Close they fail, since another process may own the dir by then.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	// mu is held for reading by every operation on the dir, for writing by
	// Close: Close waits for them, and none starts after it.
	mu     sync.RWMutex
	closed bool

	qmu    sync.Mutex
	queues map[string]*Queue // by directory name

	clog corruptLog
}

// Open creates dir if needed (mode 0700), checks that it is writable, takes
// an exclusive lock on <dir>/lock and removes the temp files a crash left.
//
// While another process (or another Spool in this one) holds the lock, Open
// waits, until ctx ends; its error then names the holder's pid. Two
// processes never use one dir at once, so neither can send a record the
// other is sending.
func Open(ctx context.Context, dir string, opts Options) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("spool: no dir given")
	}
	if opts.MaxSize < 0 || opts.MaxAge < 0 {
		return nil, fmt.Errorf("spool: negative limit: max_size %d, max_age %s", opts.MaxSize, opts.MaxAge)
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, notWritable(dir, err)
	}
	lock := filepath.Join(dir, lockName)
	if err := refuseSymlink(lock); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE|noFollow, filePerm)
	if err != nil {
		return nil, notWritable(dir, err)
	}
	if err := waitLock(ctx, dir, f); err != nil {
		_ = f.Close()
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Spool{dir: dir, opts: opts, lock: f, queues: map[string]*Queue{}, clog: corruptLog{logger: opts.Logger}}
	if err := s.init(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return s, nil
}

// init runs once the lock is ours: it records our pid for the next
// process to name, proves the dir writable and removes leftover temp files.
func (s *Spool) init() error {
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := s.lock.Truncate(0); err != nil {
		return notWritable(s.dir, err)
	}
	if _, err := s.lock.WriteAt(pid, 0); err != nil {
		return notWritable(s.dir, err)
	}
	// The lock file may have been writable while the dir is not (its mode
	// changed since, say): a file created here is what Append needs.
	probe, err := os.CreateTemp(s.dir, ".probe-*"+tmpSuffix)
	if err != nil {
		return notWritable(s.dir, err)
	}
	_ = probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return notWritable(s.dir, err)
	}
	return scan(s.dir)
}

// scan checks what Open finds in the spool dir, so that a queue that cannot
// work fails the start instead of a delivery: a queue dir this process
// cannot write would have its records sent again by every run, since a
// delivered record could not be removed (issue 22). Every entry that is a
// symlink is refused: following one would read, send and move files
// outside the spool. Leftover temp files go: each is a write a crash
// interrupted before its rename, so it was never acknowledged.
func scan(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: listing %s: %w", dir, err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			return symlinkError(p)
		case e.IsDir():
			if err := checkQueueDir(p, e.Name() != corruptDir); err != nil {
				return err
			}
		case e.Type().IsRegular() && strings.HasSuffix(e.Name(), tmpSuffix):
			if err := removeTemp(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkQueueDir removes the temp files of a queue dir (when temps) and
// proves that a file can be created and removed there, which is all a
// queue does. The corrupt/ dir gets the same check: a record that cannot
// be moved aside would fail every replay.
func checkQueueDir(dir string, temps bool) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrPermission) {
		// Not a queue of ours: an ext4 volume's root-owned lost+found,
		// say. Queues are created by this process; Spool.Queue checks
		// the one it loads again.
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: listing %s: %w", dir, err)
	}
	for _, e := range ents {
		if temps && e.Type().IsRegular() && strings.HasSuffix(e.Name(), tmpSuffix) {
			if err := removeTemp(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return probeDir(dir)
}

// probeDir creates and removes a file in dir. An append-only directory
// (chattr +a) passes the creation and fails the removal, so both are tried.
func probeDir(dir string) error {
	probe, err := os.CreateTemp(dir, ".probe-*"+tmpSuffix)
	if err != nil {
		return queueNotWritable(dir, err)
	}
	_ = probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return queueNotWritable(dir, err)
	}
	return nil
}

func removeTemp(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		if errors.Is(err, fs.ErrPermission) {
			return queueNotWritable(filepath.Dir(path), err)
		}
		return fmt.Errorf("spool: removing a leftover temp file: %w", err)
	}
	return nil
}

func notWritable(dir string, err error) error {
	return fmt.Errorf("spool dir %s is not writable (%w): make it writable for uid %d, or set spool.dir to a writable volume", dir, err, os.Getuid())
}

// ErrUnusable is matched by the error of an Open or Queue that found a
// directory inside the spool dir that it cannot use: one it cannot write,
// or a symlink. The volume is at fault, not the configuration: a runtime
// condition, like ErrBusy.
var ErrUnusable = errors.New("spool dir unusable")

// unusableError is an ErrUnusable with its message and cause.
type unusableError struct {
	msg   string
	cause error
}

func (e *unusableError) Error() string        { return e.msg }
func (e *unusableError) Unwrap() error        { return e.cause }
func (e *unusableError) Is(target error) bool { return target == ErrUnusable }
func queueNotWritable(dir string, err error) error {
	return &unusableError{cause: err, msg: fmt.Sprintf(
		"spool: %s is not writable (%v): make it writable for uid %d (check its owner and mode with ls -ld, "+
			"and an immutable or append-only attribute with lsattr -d); liftpush must remove each record it delivered, or every run would send it again",
		dir, err, os.Getuid())}
}

// symlinkError refuses a symlink found inside the spool dir.
func symlinkError(path string) error {
	to, err := os.Readlink(path)
	if err != nil {
		to = "?"
	}
	return &unusableError{cause: fs.ErrInvalid, msg: fmt.Sprintf(
		"spool: %s is a symlink (to %s); liftpush never follows a link inside its spool dir: put what it points to in its place, or remove it",
		path, to)}
}

// refuseSymlink fails when path exists and is a symlink.
func refuseSymlink(path string) error {
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return symlinkError(path)
	}
	return nil
}

// busyError is the error of an Open that gave up waiting for the lock.
type busyError struct {
	dir    string
	pid    int // 0: unknown
	waited time.Duration
	cause  error
}

func (e *busyError) Error() string {
	holder := "another liftpush process"
	switch {
	case e.pid == os.Getpid():
		holder = "another spool in this process"
	case e.pid == 0:
		holder += " (pid unknown)"
	default:
		holder += fmt.Sprintf(" (pid %d)", e.pid)
	}
	return fmt.Sprintf("spool dir %s is in use by %s; gave up after %s (%v): run one liftpush per spool dir at a time (for a CronJob, concurrencyPolicy: Forbid), or give each its own spool.dir",
		e.dir, holder, e.waited.Round(time.Millisecond), e.cause)
}

func (e *busyError) Unwrap() error { return e.cause }

// Is makes errors.Is(err, ErrBusy) true.
func (e *busyError) Is(target error) bool { return target == ErrBusy }

// ErrBusy is matched by the error of an Open that gave up waiting for
// another process to release the dir: a runtime condition, not a
// configuration error.
var ErrBusy = errors.New("spool dir in use")

// waitLock takes the lock on f, trying again every lockPoll until ctx ends.
func waitLock(ctx context.Context, dir string, f *os.File) error {
	start := time.Now()
	tick := time.NewTicker(lockPoll)
	defer tick.Stop()
	for {
		ok, err := tryLock(f)
		if err != nil {
			return fmt.Errorf("spool: locking %s: %w", f.Name(), err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return &busyError{dir: dir, pid: holder(f), waited: time.Since(start), cause: context.Cause(ctx)}
		case <-tick.C:
		}
	}
}

// holder reads the pid the lock's holder wrote into it; 0 if there is none
// yet.
func holder(f *os.File) int {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Close syncs the queue directories (making removals durable) and releases
// the lock. Operations in flight finish first; later ones fail. Closing
// again does nothing.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.clog.flush()
	var errs []error
	s.qmu.Lock()
	for _, q := range s.queues {
		errs = append(errs, syncDir(q.dir))
	}
	s.qmu.Unlock()
	// Closing the file releases the flock. The file stays: removing it
	// would let a process that opened it before the removal lock an inode
	// no newcomer sees.
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

var errClosed = errors.New("spool: closed")

// enter starts an operation on the dir; release ends it.
func (s *Spool) enter() (release func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, errClosed
	}
	return s.mu.RUnlock, nil
}

// Queue returns the queue of the destination called name, in
// <dir>/<config.DirName(name)>/, creating it. Every call for one name
// returns the same *Queue. Loading it lists the directory once (file names
// only, no bodies).
func (s *Spool) Queue(name string) (*Queue, error) {
	if name == "" {
		return nil, errors.New("spool: empty destination name")
	}
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	s.qmu.Lock()
	defer s.qmu.Unlock()
	base := config.DirName(name)
	if q := s.queues[base]; q != nil {
		return q, nil
	}
	q := &Queue{s: s, name: name, base: base, dir: filepath.Join(s.dir, base)}
	if err := q.load(); err != nil {
		return nil, err
	}
	s.queues[base] = q
	return q, nil
}

// syncDir fsyncs a directory, making the creations, renames and removals
// in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if err == nil && synced != nil {
		synced(dir)
	}
	return errors.Join(err, d.Close())
}

// synced, when a test sets it, learns of every directory made durable: the
// power-cut test keeps what a crash of the machine would keep.
var synced func(dir string)

// writeFileAtomic puts b into dir/name so that a crash at any instant
// leaves either the old file (or none) or the whole new one: temp file,
// fsync, rename, fsync dir. renamed reports whether the new file is in
// place, maybe not durably, when err is set.
func writeFileAtomic(dir, name string, b []byte) (renamed bool, err error) {
	f, err := os.CreateTemp(dir, "."+name+".*"+tmpSuffix)
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return false, err
	}
	return true, syncDir(dir)
}
