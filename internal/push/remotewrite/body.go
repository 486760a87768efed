package remotewrite

import (
	"errors"

	"github.com/liftpush/liftpush/internal/push"
)

// outcome is what became of one body.
type outcome struct {
	// res is the receiver's answer; for a split body, the sum of what its
	// pieces' answers say was written.
	res     Result
	retries int
	// refused counts samples of pieces refused for good, which are
	// already counted as dropped; the rest of the body had err.
	refused int
	err     error
}

// sendBody sends one encoded body, retrying what is recoverable, and splits
// it when the receiver will never take it whole (split.go).
func (w *writer) sendBody(body []byte, msg string) outcome {
	return w.sendPiece(body, msg, w.c.accepted.Load())
}

// sendPiece sends a body or a piece of one. since is the destination's
// accepted count before the first attempt of the whole body: requests
// accepted after it show the receiver takes others while it refuses this.
func (w *writer) sendPiece(body []byte, msg string, since int64) outcome {
	o := w.attempts(body, msg, since)
	var se *splitError
	if !errors.As(o.err, &se) {
		return o
	}
	w.c.logger.Info("receiver will never take this request whole; sending it in halves",
		"endpoint", w.c.Endpoint(), "why", se.why)
	o.res = Result{Status: o.res.Status, WrittenKnown: true}
	for _, h := range se.halves {
		p := w.sendPiece(h.body, msg, since)
		o.retries += p.retries
		o.refused += p.refused
		o.res.Samples += p.res.Samples
		o.res.Histograms += p.res.Histograms
		o.res.Exemplars += p.res.Exemplars
		o.res.WrittenKnown = o.res.WrittenKnown && p.res.WrittenKnown
		switch {
		case p.err == nil:
			o.res.Status = p.res.Status
		case final(p.err):
			w.fail(push.DropReason(w.ctx, p.err), h.samples-p.refused, p.err)
			o.refused += h.samples - p.refused
		default:
			// Not through yet: the rest waits with the body.
			o.err = p.err
			return o
		}
	}
	o.err = nil
	return o
}

// attempts sends body until it is accepted, refused for good, or found too
// big to be taken whole.
func (w *writer) attempts(body []byte, msg string, since int64) outcome {
	var o outcome
	big := &tooBig{c: w.c, msg: msg, body: body, accepted: since}
	o.retries, o.err = push.Retry(w.ctx, w.backoff(), func(attempt int) error {
		var err error
		o.res, err = w.c.wc.Store(w.ctx, body, msg, attempt)
		if err == nil {
			w.c.accepted.Add(1)
			if o.res.WrittenKnown && o.res.Samples > 0 {
				w.c.spoke2.Store(true)
			}
			return nil
		}
		return big.check(err)
	})
	return o
}
