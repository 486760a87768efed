package remotewrite

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

// The write-ahead spool (DESIGN.md section 5, "Spool"). With a queue, every
// request body is on disk before its first send and leaves it when the
// receiver took it or refused it for good. Receivers refuse samples older
// than what they hold, so order is everything:
//   - a delivery first replays what earlier ones left, oldest first, one
//     record at a time, before any of its own data is sent;
//   - when that replay cannot finish, or one of a shard's sends fails, the
//     rest is only written to the spool, behind what is pending: the next
//     delivery replays it in order.

// SetSpool gives the destination its queue. Call it before the first Open.
// A fallback to 1.0 that an earlier process found is remembered there.
func (c *Client) SetSpool(q *spool.Queue) {
	c.queue = q
	if b, _ := q.LoadState(fallbackState); string(b) == config.WriteRequestV1 {
		c.v1Only.Store(true)
	}
}

// fallbackState keeps a fallback to 1.0 across run --once processes.
const fallbackState = "fallback"

// rememberFallback writes the fallback to the spool dir, if there is one.
func (c *Client) rememberFallback() {
	if c.queue == nil {
		return
	}
	if err := c.queue.SaveState(fallbackState, []byte(config.WriteRequestV1)); err != nil {
		c.logger.Error("remembering the fallback to 1.0 in the spool", "err", err)
	}
}

// SpoolState reports what the destination's spool holds; false without one.
func (c *Client) SpoolState() (push.SpoolState, bool) {
	if c.queue == nil {
		return push.SpoolState{}, false
	}
	st := c.queue.Stats()
	return push.SpoolState{Records: st.Records, Bytes: st.Bytes, Oldest: st.Oldest}, true
}

// replay sends the records earlier deliveries left, oldest first. It
// returns false when some are left (the receiver is still unavailable):
// newer data must then wait behind them.
func (w *writer) replay() bool {
	q := w.c.queue
	drops, err := q.Trim()
	if err != nil {
		w.c.logger.Error("trimming the spool", "err", err)
	}
	for _, d := range drops {
		w.fail("spool_"+d.Reason, d.Samples, fmt.Errorf("spool over its %s: dropped the %d oldest records", d.Reason, d.Records))
	}
	pending, err := q.Pending()
	if err != nil {
		w.c.logger.Error("listing the spool", "err", err)
		return false
	}
	for _, e := range pending {
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
		w.prog.Begin()
		retries, err := w.replayOne(rec)
		w.prog.End(err == nil)
		w.mu.Lock()
		w.report.Retried += retries * rec.Samples
		w.mu.Unlock()
		if err != nil && !final(err) {
			return false
		}
		if rerr := q.Remove(e.Seq); rerr != nil {
			w.c.logger.Error("removing a replayed record from the spool", "seq", e.Seq, "err", rerr)
		}
		if err != nil {
			w.fail(push.DropReason(w.ctx, err), rec.Samples, err)
			continue
		}
		w.mu.Lock()
		w.report.Replayed += rec.Samples
		w.mu.Unlock()
	}
	return true
}

// replayOne sends one spooled record. A 2.0 record to a receiver that does
// not speak 2.0 is converted and sent as 1.0, as a fresh batch would be.
func (w *writer) replayOne(rec spool.Record) (int, error) {
	if formats[rec.Format].written && w.c.v1Only.Load() {
		return w.replayAsV1(rec, 0)
	}
	res, retries, err := w.sendBody(rec.Body, rec.Format)
	if formats[rec.Format].written {
		if reason := notV2(res, err, rec.Samples); reason != "" {
			w.c.fallBack(reason)
			return w.replayAsV1(rec, retries)
		}
	}
	return retries, err
}

func (w *writer) replayAsV1(rec spool.Record, retries int) (int, error) {
	body, err := v2ToV1(rec.Body)
	if err != nil {
		return retries, fmt.Errorf("%w: %w", errNotV2, err)
	}
	_, more, err := w.sendBody(body, config.WriteRequestV1)
	return retries + more, err
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

// ahead writes a body to the spool before its first send. It returns false
// when there is no spool or the write failed; the body is then sent
// without a net, as it would be without a spool.
func (w *writer) ahead(msg string, samples int, body []byte) (uint64, bool) {
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

// settle removes a record once its send has an outcome the spool need not
// keep: accepted, or refused for good.
func (w *writer) settle(seq uint64, err error) {
	if err != nil && !final(err) {
		return
	}
	if rerr := w.c.queue.Remove(seq); rerr != nil {
		w.c.logger.Error("removing a sent record from the spool", "seq", seq, "err", rerr)
	}
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
	if seq, ok := w.ahead(msg, len(b.samples), body); ok {
		b.onDisk, b.seq, b.msg, b.body = true, seq, msg, body
	}
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

// logOnce logs msg the first time key is seen in this delivery.
func (w *writer) logOnce(key, msg string, args ...any) {
	w.mu.Lock()
	first := !w.logged[key]
	w.logged[key] = true
	w.mu.Unlock()
	if first {
		w.c.logger.Error(msg, args...)
	}
}

// The staleness state: the series of the last cycle, kept in the spool dir
// so that run --once processes sharing it send markers too. A
// prompb.WriteRequest of label sets is a format with a fuzzed decoder.
const seriesState = "series"

func (c *Client) loadSeries() map[uint64]labels.Labels {
	if c.queue == nil {
		return nil
	}
	b, err := c.queue.LoadState(seriesState)
	if err != nil || b == nil {
		return nil
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(b); err != nil {
		c.logger.Warn("the spool's series of the last cycle are unreadable; no stale markers this cycle", "err", err)
		return nil
	}
	out := make(map[uint64]labels.Labels, len(req.Timeseries))
	lb := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		lb.Reset()
		for _, l := range ts.Labels {
			lb.Add(l.Name, l.Value)
		}
		lb.Sort()
		ls := lb.Labels()
		out[ls.Hash()] = ls
	}
	return out
}

func (c *Client) saveSeries(series map[uint64]labels.Labels) {
	if c.queue == nil {
		return
	}
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(series))}
	for _, ls := range series {
		var pl []prompb.Label
		ls.Range(func(l labels.Label) { pl = append(pl, prompb.Label{Name: l.Name, Value: l.Value}) })
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: pl})
	}
	b, err := req.Marshal()
	if err == nil {
		err = c.queue.SaveState(seriesState, b)
	}
	if err != nil {
		c.logger.Error("saving the series of this cycle to the spool; the next run sends no stale markers", "err", err)
	}
}
