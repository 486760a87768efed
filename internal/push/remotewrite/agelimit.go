package remotewrite

import (
	"fmt"
	"math"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/spool"
)

// queue_config.sample_age_limit: a sample older than the limit, against the
// clock when it is queued or when its spooled record is replayed, is
// dropped as too_old and never sent. Receivers refuse such samples anyway
// (out of bounds), and after a long outage a spool's old records would
// otherwise be sent, and refused, before the fresh data behind them. A
// batch already being retried is not checked again: its retries end with
// the cycle.

// dropTooOld is the drop reason of samples past sample_age_limit.
const dropTooOld = "too_old"

// maxAhead bounds how far in the future a sample may be: Prometheus' own
// remote-write receiver (storage/remote/write_handler.go, maxAheadTime)
// and Mimir's creation_grace_period both refuse samples more than 10
// minutes ahead. Older receivers are worse: Prometheus 2.42 stores such a
// sample, its head then reaches into the future, and it answers
// "400 out of bounds" to every later push of current samples (issue 22).
// So a sample past now+maxAhead is dropped as out_of_bounds, never sent.
const maxAhead = 10 * time.Minute

// dropOutOfBounds is the drop reason of samples too far in the future.
const dropOutOfBounds = "out_of_bounds"

// tooNewAfter is the timestamp in ms above which a sample is too far in
// the future.
func tooNewAfter() int64 {
	return time.Now().Add(maxAhead).UnixMilli()
}

// tooOldBefore is the timestamp in ms below which a sample is too old;
// math.MinInt64 without a limit.
func (c *Client) tooOldBefore() int64 {
	limit := time.Duration(c.cfg.QueueConfig.SampleAgeLimit)
	if limit <= 0 {
		return math.MinInt64
	}
	return time.Now().Add(-limit).UnixMilli()
}

// dropOldSpooled removes the samples past sample_age_limit from a spooled
// record about to be replayed, counts them as dropped and reports whether
// any sample is left to send. A record it cannot decode is sent as it is.
func (w *writer) dropOldSpooled(rec *spool.Record) bool {
	before := w.c.tooOldBefore()
	if before == math.MinInt64 {
		return true
	}
	body, n, err := dropOld(rec.Body, rec.Format, before)
	if err != nil {
		w.logOnce("too_old_decode", "reading a spooled record for sample_age_limit failed; sending it whole", "seq", rec.Seq, "err", err)
		return true
	}
	if n == 0 {
		return true
	}
	w.drop(dropTooOld, n)
	rec.Body, rec.Samples = body, max(rec.Samples-n, 0)
	return rec.Samples > 0
}

// dropOld returns body without the samples older than before, and how many
// it removed; body itself when none.
func dropOld(body []byte, message string, before int64) ([]byte, int, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, 0, fmt.Errorf("snappy: %w", err)
	}
	var (
		n   int
		out []byte
	)
	switch message {
	case config.WriteRequestV1:
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			return nil, 0, err
		}
		kept := req.Timeseries[:0]
		for _, ts := range req.Timeseries {
			ts.Samples, n = keepNew(ts.Samples, before, n, func(s prompb.Sample) int64 { return s.Timestamp })
			if len(ts.Samples) > 0 || len(ts.Histograms) > 0 {
				kept = append(kept, ts)
			}
		}
		req.Timeseries = kept
		if n > 0 {
			out, err = req.Marshal()
		}
	case config.WriteRequestV2:
		var req writev2.Request
		if err := req.Unmarshal(raw); err != nil {
			return nil, 0, err
		}
		kept := req.Timeseries[:0]
		for _, ts := range req.Timeseries {
			ts.Samples, n = keepNew(ts.Samples, before, n, func(s writev2.Sample) int64 { return s.Timestamp })
			if len(ts.Samples) > 0 || len(ts.Histograms) > 0 {
				kept = append(kept, ts)
			}
		}
		req.Timeseries = kept
		if n > 0 {
			out, err = req.Marshal()
		}
	default:
		return nil, 0, fmt.Errorf("unknown protobuf message %q", message)
	}
	if err != nil || n == 0 {
		return body, 0, err
	}
	return snappy.Encode(nil, out), n, nil
}

// keepNew filters samples in place to those at or after before, adding the
// number removed to n.
func keepNew[S any](samples []S, before int64, n int, ts func(S) int64) ([]S, int) {
	kept := samples[:0]
	for _, s := range samples {
		if ts(s) < before {
			n++
			continue
		}
		kept = append(kept, s)
	}
	return kept, n
}
