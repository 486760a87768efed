package spool

import (
	"log/slog"
	"sync"
	"time"
)

// Every file moved to corrupt/ is logged, up to corruptBurst lines per
// corruptEvery; past that they are counted, and the next line says how many
// went unlogged. A queue dir holding 100,000 junk files then costs a dozen
// lines, not 100,000 (issue 22), while Stats.Corrupt, exported as
// liftpush_spool_corrupt_records_total, counts every one.
const (
	corruptBurst = 10
	corruptEvery = time.Minute
)

// corruptLog is the rate-limited log of the files moved to corrupt/. It is
// safe for concurrent use.
type corruptLog struct {
	logger *slog.Logger

	mu       sync.Mutex
	window   time.Time // when the current window began
	lines    int       // logged in the window
	unlogged int       // moved since the last line and not logged
}

// allow reports whether a line may be written now; when not, the file is
// counted as unlogged. It returns the count of unlogged files, which the
// line must report; l.mu must be held.
func (l *corruptLog) allow() (ok bool, unlogged int) {
	now := time.Now()
	if now.Sub(l.window) >= corruptEvery {
		l.window, l.lines = now, 0
	}
	if l.lines >= corruptBurst {
		l.unlogged++
		return false, 0
	}
	l.lines++
	unlogged, l.unlogged = l.unlogged, 0
	return true, unlogged
}

func (l *corruptLog) log(msg string, attrs ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok, unlogged := l.allow()
	if !ok {
		return
	}
	if unlogged > 0 {
		attrs = append(attrs, "unlogged_before", unlogged)
	}
	l.logger.Error(msg, attrs...)
}

// moved logs the move of path, of the queue of destination queue, to dst.
func (l *corruptLog) moved(queue, path, dst string, why error) {
	l.log("spool file failed verification, moved aside", "queue", queue, "file", path, "moved_to", dst, "err", why)
}

// failed logs a file that failed verification and could not be moved.
func (l *corruptLog) failed(queue, path string, why, err error) {
	l.log("spool file failed verification, and moving it aside failed", "queue", queue, "file", path, "err", why, "move_err", err)
}

// flush writes one line for the files not logged since the last line, if
// any. Load calls it at its end, and Close, so that no count is lost.
func (l *corruptLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlogged == 0 {
		return
	}
	l.logger.Error("more spool files failed verification and were moved aside; not logged one by one",
		"files", l.unlogged, "limit", "10 lines a minute",
		"hint", "liftpush_spool_corrupt_records_total counts them; they are in the spool's corrupt/ dir")
	l.unlogged = 0
}
