package remotewrite

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

// The life of a request body in the write-ahead spool (DESIGN.md section 5,
// "Spool"). Without a spool, a body is only sent; with one, it is a record,
// and these are all of its states and transitions:
//
//	backlog  left by an earlier delivery. Open takes the backlog, after
//	         Trim, before any shard starts: it is the replay's horizon, so
//	         a record this delivery appends is never replayed by it too.
//	         The replay sends it (converted to 1.0 after a fallback), then
//	         removes it once it is accepted or refused for good; it stays
//	         when the receiver is still unavailable.
//	ahead    a shard's batch, appended before anything waits (writeAhead):
//	         what was collected is on disk while a backlog replays.
//	kept     ahead, but behind a backlog that did not drain, or after a
//	         send that failed for now: it stays for the next delivery,
//	         which replays it in order. Every later batch is kept too.
//	sent     taken by send: on an accepted or finally refused answer it is
//	         removed (settle), on a recoverable failure it is kept. A body
//	         the receiver can never take whole goes in pieces (split.go);
//	         the record stays until every piece has an outcome.
//	replaced ahead as 2.0 to a receiver that turned out not to speak it
//	         (415, or a 2xx that wrote nothing): the 2.0 record stays
//	         while the 1.0 copy is appended, and is removed after, so
//	         kill -9 between the two leaves both (sent twice at worst),
//	         never neither.
//
// A record's identity is its seq in the queue; the batch holds only what
// the queue knows of it (record), and only until it is sent.

// record is a batch's body written ahead, as the queue holds it.
type record struct {
	seq  uint64
	msg  string
	body []byte
}

// crashPoint, when set by a test, is called at each step of the life of
// b's record; the crash test kills the process there.
var crashPoint func(step string, b *batch)

func reached(step string, b *batch) {
	if crashPoint != nil {
		crashPoint(step, b)
	}
}

// horizon trims the spool and takes the backlog the replay will send: the
// records of earlier deliveries. It runs in Open before any shard starts.
func (w *writer) horizon() []spool.Entry {
	q := w.c.queue
	drops, err := q.Trim()
	if err != nil {
		w.c.logger.Error("trimming the spool", "err", err)
	}
	for _, d := range drops {
		w.fail("spool_"+d.Reason, d.Samples, fmt.Errorf("spool over its %s: dropped the %d oldest records", d.Reason, d.Records))
	}
	backlog, err := q.Pending()
	if err != nil {
		w.c.logger.Error("listing the spool", "err", err)
		w.blocked.Store(true)
	}
	return backlog
}

// replay sends the backlog, oldest first. It returns false when some of it
// is left (the receiver is still unavailable): newer data must then wait
// behind it.
func (w *writer) replay(backlog []spool.Entry) bool {
	q := w.c.queue
	for _, e := range backlog {
		if w.ctx.Err() != nil {
			return false
		}
		rec, err := q.Read(e.Seq)
		if errors.Is(err, spool.ErrCorrupt) {
			// Moved to corrupt/ by Read: the queue goes on.
			w.fail("spool_corrupt", e.Samples, err)
			continue
		}
		if err != nil {
			w.c.logger.Error("reading the spool", "seq", e.Seq, "err", err)
			return false
		}
		if !w.dropOldSpooled(&rec) {
			// Every sample was past sample_age_limit.
			if !w.remove(e.Seq, "too old") {
				return false
			}
			continue
		}
		w.prog.Begin()
		o := w.replayOne(rec)
		err = o.err
		w.prog.End(err == nil)
		w.mu.Lock()
		w.report.Retried += o.retries * rec.Samples
		w.mu.Unlock()
		if err != nil && !final(err) {
			return false
		}
		removed := w.remove(e.Seq, "replayed")
		if err != nil {
			w.fail(push.DropReason(w.ctx, err), rec.Samples-o.refused, err)
		} else {
			w.mu.Lock()
			w.report.Replayed += rec.Samples - o.refused
			w.mu.Unlock()
		}
		if !removed {
			return false
		}
	}
	return true
}

// remove takes a record out of the spool once it needs no more sending. If
// that fails, the record has its outcome but is still on disk, and the
// next run would send it again, and the one after that (issue 22): the
// delivery fails with the error, so that the run exits 1, and sends no
// more (blocked): what it holds stays in the spool, and the next run's
// Open refuses a queue dir it cannot write. Remove takes the record out
// of the queue's index even so, so this process never sends it again.
func (w *writer) remove(seq uint64, what string) bool {
	err := w.c.queue.Remove(seq)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		// Not there: Trim or a concurrent Remove took it, which is
		// what was wanted.
		return true
	}
	err = fmt.Errorf("removing a %s record from the spool: %w; the next run would send it again, so this delivery stops", what, err)
	w.blocked.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.report.Err == nil {
		w.report.Err = err
	}
	if !w.logged["spool_remove"] {
		w.logged["spool_remove"] = true
		w.c.logger.Error("the spool cannot remove a record; stopping this destination's delivery", "seq", seq, "err", err)
	}
	return false
}

// replayOne sends one spooled record. A 2.0 record to a receiver that does
// not speak 2.0 is converted and sent as 1.0, as a fresh batch would be.
func (w *writer) replayOne(rec spool.Record) outcome {
	if formats[rec.Format].written && w.c.v1Only.Load() {
		return w.replayAsV1(rec, 0)
	}
	o := w.sendBody(rec.Body, rec.Format)
	if formats[rec.Format].written {
		if reason := w.c.notV2(o.res, o.err, rec.Samples-o.refused); reason != "" {
			w.c.fallBack(reason)
			return w.replayAsV1(rec, o.retries)
		}
	}
	return o
}

func (w *writer) replayAsV1(rec spool.Record, retries int) outcome {
	body, err := v2ToV1(rec.Body)
	if err != nil {
		return outcome{retries: retries, err: fmt.Errorf("%w: %w", errNotV2, err)}
	}
	o := w.sendBody(body, config.WriteRequestV1)
	o.retries += retries
	return o
}

// errNotV2 marks a spooled 2.0 record that could not be converted to 1.0.
var errNotV2 = errors.New("spooled 2.0 request unreadable")

// final reports whether an error ends a record's life: a refusal that no
// retry can change. Anything else (still failing when time ran out) keeps
// the record for a later delivery.
func final(err error) bool {
	var (
		rec  *push.RecoverableError
		herr *push.HTTPError
	)
	if errors.As(err, &rec) {
		return false
	}
	return errors.As(err, &herr) || errors.Is(err, errNotV2)
}

// writeAhead puts a batch on disk, encoded in the destination's current
// message, before it waits for anything; send then sends that body.
func (w *writer) writeAhead(b *batch) {
	if w.c.queue == nil {
		return
	}
	msg := w.c.message()
	if formats[msg].written && len(b.samples) == 0 {
		// 2.0 does not send a batch of metadata alone (store).
		return
	}
	body := formats[msg].encode(b)
	if seq, ok := w.spoolAppend(msg, len(b.samples), body); ok {
		b.rec = &record{seq: seq, msg: msg, body: body}
		reached("ahead", b)
	}
}

// spoolAppend writes a body to the spool. It returns false when there is no
// spool or the write failed; the body is then sent without a net, as it
// would be without a spool.
func (w *writer) spoolAppend(msg string, samples int, body []byte) (uint64, bool) {
	if w.c.queue == nil {
		return 0, false
	}
	seq, err := w.c.queue.Append(msg, samples, body)
	if err != nil {
		w.logOnce("spool_write", "writing to the spool failed; sending without it", "err", err)
		return 0, false
	}
	return seq, true
}

// send encodes b as msg, unless it was written ahead so, and sends it,
// retrying what is recoverable. kept says the body stayed in the spool for
// a later delivery.
func (w *writer) send(b *batch, msg string) (o outcome, kept bool) {
	rec := b.rec
	b.rec = nil
	if rec == nil || rec.msg != msg {
		body := formats[msg].encode(b)
		seq, ok := w.spoolAppend(msg, len(b.samples), body)
		if rec != nil {
			// Written ahead in the message the receiver refused: the
			// new record replaces it, once it is on disk.
			reached("replaced", b)
			w.settle(rec.seq, nil)
		}
		rec = nil
		if ok {
			rec = &record{seq: seq, msg: msg, body: body}
		} else {
			return w.sendBody(body, msg), false
		}
	}
	o = w.sendBody(rec.body, msg)
	reached("sent", b)
	if formats[msg].written && w.c.notV2(o.res, o.err, len(b.samples)-o.refused) != "" {
		// Not refused for good: store resends b as 1.0, whose record
		// replaces this one.
		b.rec = rec
		return o, false
	}
	w.settle(rec.seq, o.err)
	return o, o.err != nil && !final(o.err)
}

// settle removes a record once its send has an outcome the spool need not
// keep: accepted, or refused for good.
func (w *writer) settle(seq uint64, err error) {
	if err != nil && !final(err) {
		return
	}
	w.remove(seq, "sent")
}

// kept counts samples left in the spool for a later delivery.
func (w *writer) kept(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Spooled += n
	if w.report.Err == nil {
		w.report.Err = errors.New("receiver unavailable: samples kept in the spool for the next delivery")
	}
}
