package remotewrite

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/spool"
)

// What a destination keeps in its spool besides records (lifecycle.go):
// a fallback to 1.0, and the series of the last cycle for staleness.

// SetSpool gives the destination its queue. Call it before the first Open.
// A fallback to 1.0 that an earlier process found is remembered there.
func (c *Client) SetSpool(q *spool.Queue) {
	c.queue = q
	if c.tenants != nil {
		c.tenants.load(q)
		return
	}
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

// loadSeries reads the spool's copy of the series table, each entry as the
// last cycle's; an empty table without one.
func (c *Client) loadSeries() *seriesTable {
	t := newSeriesTable()
	if c.queue == nil {
		return t
	}
	b, err := c.queue.LoadState(seriesState)
	if err != nil || b == nil {
		return t
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(b); err != nil {
		c.logger.Warn("the spool's series of the last cycle are unreadable; no stale markers this cycle", "err", err)
		return t
	}
	lb := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		lb.Reset()
		for _, l := range ts.Labels {
			lb.Add(l.Name, l.Value)
		}
		lb.Sort()
		ls := lb.Labels()
		e := seriesEntry{h: ls.Hash(), ls: ls}
		if len(ts.Histograms) > 0 {
			// A native histogram series, marked by an empty histogram of
			// its kind.
			e.kind = kindHistogram
			if ts.Histograms[0].IsFloatHistogram() {
				e.kind = kindFloatHistogram
			}
		}
		t.add(e)
	}
	return t
}

func (c *Client) saveSeries(t *seriesTable) {
	if c.queue == nil {
		return
	}
	t.compactAdded() // sorted here, not in a run --once without a spool
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, t.len())}
	for e := range t.all() {
		var pl []prompb.Label
		e.ls.Range(func(l labels.Label) { pl = append(pl, prompb.Label{Name: l.Name, Value: l.Value}) })
		ts := prompb.TimeSeries{Labels: pl}
		switch e.kind {
		case kindHistogram:
			ts.Histograms = []prompb.Histogram{{Count: &prompb.Histogram_CountInt{}}}
		case kindFloatHistogram:
			ts.Histograms = []prompb.Histogram{{Count: &prompb.Histogram_CountFloat{}}}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	b, err := req.Marshal()
	if err == nil {
		err = c.queue.SaveState(seriesState, b)
	}
	if err != nil {
		c.logger.Error("saving the series of this cycle to the spool; the next run sends no stale markers", "err", err)
	}
}
