package remotewrite

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/value"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// writer is one delivery: it streams families into batched requests, which
// max_shards shards send in parallel, each its own batches one after the
// other. A family's samples fill one shard's batch, then the next shard's,
// starting at a shard picked by the family's hash: neighbouring series,
// which share most label values, stay in one request (snappy then sends a
// KSM-shaped file in 48 bytes a sample instead of 73 when series are spread
// by their own hash), and a big family still has a request in flight on
// every shard. The samples of a series arrive in the order they were
// written: a sample whose series is in a batch not sent yet, or still in
// flight, joins that batch's shard.
//
// Write blocks while every shard is busy, which keeps memory bounded for
// any input size.
type writer struct {
	c      *Client
	ctx    context.Context
	prog   *push.Progress
	stop   func()
	shards []*shard
	lb     *labels.Builder
	seen   map[string]struct{} // families whose metadata was queued
	// series records the data series of this cycle, after relabelling,
	// for staleness markers (series.go); nil when not a cycle.
	series *seriesTable
	// untracked are the series of Untracked families this cycle: never
	// marked stale, even when an earlier cycle tracked them.
	untracked map[uint64]struct{}
	cycle     int64
	shard     string // push.Options.Shard
	max       int
	meta      metadataPlan // what this delivery sends of metadata_config
	// scratch is validSeries' buffer.
	scratch []byte
	// cur is the shard the family being written fills; pending counts,
	// by series hash, the samples in batches queued or in flight, with
	// their shard.
	cur     familyRun
	pending map[uint64]pendingSeries

	mu     sync.Mutex
	report push.Report
	logged map[string]bool // drop reasons already logged in full
	wg     sync.WaitGroup

	// replayed is closed once the spool's older records are sent (or
	// there is no spool); blocked then says whether some are left, in
	// which case this delivery's batches only join them on disk.
	replayed chan struct{}
	blocked  atomic.Bool
	// halt is the first push.FinalError of the delivery (an untrusted
	// certificate, a redirect loop, an unreadable secret file): every
	// later batch would meet it too, so none is sent (issue 22).
	halt atomic.Pointer[push.FinalError]
}

// familyRun is where the samples of the family being written go; full
// says the shard's batch was sent, so the next sample starts a batch on the
// next shard.
type familyRun struct {
	family string
	shard  int
	full   bool
}

type pendingSeries struct{ shard, n int32 }

type shard struct {
	cur  *batch
	send chan *batch
	free chan *batch
}

// Open implements push.Destination: it starts the shard senders. ctx bounds
// every send and retry.
func (c *Client) Open(ctx context.Context, opts push.Options) push.Delivery {
	if c.tenants != nil {
		return c.tenants.deliver(ctx, opts)
	}
	ctx, prog, stop := push.WithStall(ctx, opts.Stall)
	w := &writer{
		c:       c,
		ctx:     ctx,
		prog:    prog,
		stop:    stop,
		lb:      labels.NewBuilder(labels.EmptyLabels()),
		seen:    map[string]struct{}{},
		cycle:   opts.Cycle,
		shard:   opts.Shard,
		max:     c.cfg.QueueConfig.MaxSamplesPerSend,
		meta:    c.planMetadata(),
		logged:  map[string]bool{},
		pending: map[uint64]pendingSeries{},
	}
	w.report.Destination = c.Name()
	w.replayed = make(chan struct{})
	if c.queue != nil {
		backlog := w.horizon()
		go func() {
			defer close(w.replayed)
			if !w.replay(backlog) {
				w.blocked.Store(true)
			}
		}()
	} else {
		close(w.replayed)
	}
	if opts.Cycle != 0 {
		w.series = c.beginCycle()
	}
	w.shards = make([]*shard, c.cfg.QueueConfig.MaxShards)
	for i := range w.shards {
		// Two batches per shard: one being filled while the other is sent.
		s := &shard{send: make(chan *batch), free: make(chan *batch, 2)}
		s.free <- &batch{}
		s.free <- &batch{}
		s.cur = <-s.free
		w.shards[i] = s
		w.wg.Add(1)
		go w.run(s)
	}
	return w
}

// Write implements push.Delivery. Remote-write has no groups: data and
// self-metrics are all series.
func (w *writer) Write(g *metric.Group) {
	for i := range g.Families {
		f := &g.Families[i]
		if f.Untracked && w.series != nil {
			w.untrack(f)
			w.append(f, nil)
			continue
		}
		w.append(f, w.series)
	}
	// Self-metrics are not tracked: they never go stale while liftpush
	// runs, and a failed collector's up=0 is exactly what must stay.
	for i := range g.Self {
		w.append(&g.Self[i], nil)
	}
}

// untrack records the series of f, an Untracked family, as sent this
// cycle, keyed like tracked series by their labels after
// write_relabel_configs.
func (w *writer) untrack(f *metric.Family) {
	if w.untracked == nil {
		w.untracked = map[uint64]struct{}{}
	}
	rcs := w.c.cfg.WriteRelabelConfigs
	for i := range f.Samples {
		ls := f.Samples[i].Labels
		if len(rcs) > 0 {
			w.lb.Reset(ls)
			if !relabel.ProcessBuilder(w.lb, rcs...) {
				continue
			}
			ls = w.lb.Labels()
		}
		w.untracked[ls.Hash()] = struct{}{}
	}
}

// append queues the samples of f, and records each series in track when it
// is not nil. Samples whose labels the destination's write_relabel_configs
// drop are counted as dropped ("relabel").
func (w *writer) append(f *metric.Family, track *seriesTable) {
	rcs := w.c.cfg.WriteRelabelConfigs
	metaDone := false
	tooOld, tooNew := w.c.tooOldBefore(), tooNewAfter()
	if f.Name != w.cur.family {
		w.cur = familyRun{family: f.Name, shard: int(xxhash.Sum64String(f.Name) % uint64(len(w.shards)))}
	}
	for i := range f.Samples {
		s := &f.Samples[i]
		ls := s.Labels
		if len(rcs) > 0 {
			w.lb.Reset(ls)
			if !relabel.ProcessBuilder(w.lb, rcs...) {
				w.drop("relabel", 1)
				continue
			}
			ls = w.lb.Labels()
		}
		if !validSeries(ls, &w.scratch) {
			w.drop("invalid_labels", 1)
			continue
		}
		if s.T < tooOld {
			w.drop(dropTooOld, 1)
			continue
		}
		if s.T > tooNew {
			w.dropFuture(ls, s.T)
			continue
		}
		x := s.Extra
		if x != nil {
			var reason string
			if x, reason = w.native(f, &metaDone, ls, s.T, x, track); reason != "" {
				if reason != nhcbConverted {
					w.drop(reason, 1)
				}
				continue
			}
		}
		w.put(f, &metaDone, ls, s.Value, s.T, x, track)
	}
}

// put queues one sample of series ls (already relabelled and checked), and
// records the series in track when it is not nil.
func (w *writer) put(f *metric.Family, metaDone *bool, ls labels.Labels, v float64, t int64, x *metric.Extra, track *seriesTable) {
	h := ls.Hash()
	if track != nil {
		track.see(h, ls, kindOf(x))
	}
	if w.cur.full {
		w.cur.shard, w.cur.full = (w.cur.shard+1)%len(w.shards), false
	}
	i := w.cur.shard
	if p, ok := w.pending[h]; ok {
		i = int(p.shard) // behind its earlier sample
	}
	if w.queue(f, metaDone, ls, h, i, v, t, x) && i == w.cur.shard {
		w.cur.full = true
	}
}

// queue adds one sample of series ls, whose hash is h, to the batch of
// shard i, with the metadata of family f the first time f is seen (f may be
// nil: stale markers belong to no family), and reports whether that filled
// the batch, which is then sent. x is the sample's Extra, nil for most.
func (w *writer) queue(f *metric.Family, metaDone *bool, ls labels.Labels, h uint64, i int, v float64, t int64, x *metric.Extra) (sent bool) {
	sh := w.shards[i]
	b := sh.cur
	if f != nil && w.meta.v1 && !*metaDone {
		*metaDone = true
		if _, ok := w.seen[f.Name]; !ok {
			w.seen[f.Name] = struct{}{}
			b.meta = append(b.meta, metadataOf(f))
		}
	}
	b.add(w.meta.family(f), ls, v, t, x)
	b.hashes = append(b.hashes, h)
	p := w.pending[h]
	w.pending[h] = pendingSeries{shard: int32(i), n: p.n + 1}
	if len(b.samples) >= w.max || len(b.meta) >= w.meta.max {
		w.flush(sh)
		return true
	}
	return false
}

// Close implements push.Delivery: it sends what is queued, waits for every
// shard and returns the report.
func (w *writer) Close() push.Report {
	if w.series != nil {
		w.markStale()
	}
	for _, sh := range w.shards {
		if len(sh.cur.samples) > 0 || len(sh.cur.meta) > 0 {
			w.flush(sh)
		}
		close(sh.send)
	}
	w.wg.Wait()
	<-w.replayed
	w.stop()
	if st := w.c.Stats().Spool; st != nil {
		w.report.Spool = st
		if w.report.Spooled > 0 {
			w.c.logger.Warn("receiver unavailable; kept samples in the spool for the next delivery", "endpoint", w.c.Endpoint(),
				"spooled", w.report.Spooled, "spool_records", st.Records, "spool_bytes", st.Bytes)
		}
	}
	if n := w.report.Dropped["stalled"]; n > 0 {
		w.c.logger.Error("receiver stalled, gave up", "endpoint", w.c.Endpoint(), "sent", w.report.Sent, "not_sent", n,
			"hint", "the receiver accepted nothing for global.cycle_timeout; check it, or raise cycle_timeout")
	}
	return w.report
}

func (w *writer) flush(sh *shard) {
	sh.send <- sh.cur
	sh.cur = <-sh.free
	// This batch was sent, spooled or dropped: its series are no longer
	// pending.
	for _, h := range sh.cur.hashes {
		if p := w.pending[h]; p.n > 1 {
			w.pending[h] = pendingSeries{shard: p.shard, n: p.n - 1}
		} else {
			delete(w.pending, h)
		}
	}
	sh.cur.hashes = sh.cur.hashes[:0]
}

// run is a shard's sender: batches in order, each retried until it is sent,
// dropped, or the context ends.
func (w *writer) run(sh *shard) {
	defer w.wg.Done()
	for b := range sh.send {
		w.sendBatch(b)
		b.reset()
		sh.free <- b
	}
}

func (w *writer) sendBatch(b *batch) {
	n := len(b.samples)
	// On disk before anything else: a backlog's replay may take the whole
	// cycle, and what was collected must not wait for it in memory.
	w.writeAhead(b)
	<-w.replayed
	if (w.blocked.Load() || w.ctx.Err() != nil) && b.rec != nil {
		// Behind older pending records: it waits with them.
		w.kept(n)
		return
	}
	if w.ctx.Err() != nil {
		w.fail(push.DropReason(w.ctx, w.ctx.Err()), n, context.Cause(w.ctx))
		return
	}
	if ferr := w.halt.Load(); ferr != nil {
		w.fail(ferr.Reason, n, ferr)
		return
	}
	w.prog.Begin()
	written, o, kept := w.store(b)
	err := o.err
	if ferr := (*push.FinalError)(nil); errors.As(err, &ferr) {
		w.halt.CompareAndSwap(nil, ferr)
	}
	w.prog.End(err == nil)
	w.mu.Lock()
	w.report.Retried += o.retries * n
	w.mu.Unlock()
	// Pieces of a split batch refused for good are counted already.
	n -= o.refused
	if err == nil {
		w.mu.Lock()
		w.report.Sent += written
		w.mu.Unlock()
		if written < n {
			w.partial(written, n)
		}
		return
	}
	if kept {
		// Later batches of any shard may hold later samples of its
		// series: they join it in the spool.
		w.blocked.Store(true)
		w.kept(n)
		return
	}
	if cause := context.Cause(w.ctx); cause != nil && cause != w.ctx.Err() {
		err = cause
	}
	w.fail(push.DropReason(w.ctx, err), n, err)
}

func (w *writer) backoff() push.Backoff {
	q := w.c.cfg.QueueConfig
	return push.Backoff{Min: time.Duration(q.MinBackoff), Max: time.Duration(q.MaxBackoff)}
}

// fail counts a dropped batch and logs the first one of each reason in full
// (status and up to 1 KiB of the body); the summary line counts the rest.
func (w *writer) fail(reason string, n int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Drop(reason, n)
	if w.report.Err == nil {
		w.report.Err = err
	}
	if !w.logged[reason] {
		w.logged[reason] = true
		w.c.logger.Error("remote write failed, samples dropped", "reason", reason, "samples", n, "err", err)
	}
}

// dropFuture counts a sample past maxAhead and logs the first one of the
// delivery: a clock or exporter that writes future timestamps is worth
// fixing, but one line per delivery is enough to find it.
func (w *writer) dropFuture(ls labels.Labels, t int64) {
	w.drop(dropOutOfBounds, 1)
	w.mu.Lock()
	first := !w.logged[dropOutOfBounds]
	w.logged[dropOutOfBounds] = true
	w.mu.Unlock()
	if first {
		w.c.logger.Warn("sample too far in the future, dropped (out_of_bounds); later ones are only counted",
			"series", push.Quote(ls.Get(model.MetricNameLabel)), "timestamp", time.UnixMilli(t).UTC(), "max_ahead", maxAhead)
	}
}

func (w *writer) drop(reason string, n int) {
	w.mu.Lock()
	w.report.Drop(reason, n)
	w.mu.Unlock()
}

// validSeries accepts what every receiver accepts: a metric name, valid
// UTF-8 names and values. labels.Labels is already sorted and unique. buf
// is scratch space: a series whose labels are all ASCII, which is nearly
// every one, is checked in one pass over a copy of its bytes instead of a
// UTF-8 check per name and value.
func validSeries(ls labels.Labels, buf *[]byte) bool {
	if ls.Get(model.MetricNameLabel) == "" {
		return false
	}
	*buf = ls.Bytes(*buf)
	ascii := isASCII(*buf)
	ok := true
	ls.Range(func(l labels.Label) {
		if l.Name == "" || !ascii && (!utf8.ValidString(l.Name) || !utf8.ValidString(l.Value)) {
			ok = false
		}
	})
	return ok
}

// isASCII tells whether b has no byte above 0x7f, eight bytes at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// markStale queues a stale NaN at the cycle's time for every series the
// previous cycle delivered and this one did not: a deleted Deployment, a
// series gone from a scrape, every series of a collector that failed. It
// is what a Prometheus scrape does, so queries stop returning the last
// value for the 5-minute lookback. The labels are already relabelled.
func (w *writer) markStale() {
	t := w.series
	resharded := w.c.resharded(w.shard)
	if resharded && t.before > 0 {
		w.c.logger.Info("the shard changed since the last cycle; no stale markers this cycle", "shard", w.shard, "series_before", t.before)
	}
	n := 0
	t.sweep(func(e seriesEntry) {
		if _, sent := w.untracked[e.h]; sent || resharded {
			return
		}
		// write_relabel_configs already ran on these labels. A stale
		// marker is the one sample of a series absent from this
		// delivery: any shard keeps it in order. A histogram series
		// gets a stale histogram.
		w.queue(nil, nil, e.ls, e.h, int(e.h%uint64(len(w.shards))), math.Float64frombits(value.StaleNaN), w.cycle, staleExtra(e.kind))
		n++
	})
	w.c.endCycle(t)
	if n > 0 {
		w.c.logger.Debug("series gone since the last cycle, sent stale markers", "series", n)
	}
}
