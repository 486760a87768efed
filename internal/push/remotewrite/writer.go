package remotewrite

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// writer is one delivery: it streams families into batched requests. Each
// series is hashed to one of max_shards shards; a shard sends its batches
// one after the other, so the samples of a series arrive in the order they
// were written, while shards run in parallel.
//
// Write blocks while every shard is busy, which keeps memory bounded for
// any input size.
type writer struct {
	c      *Client
	ctx    context.Context
	prog   *push.Progress
	stop   func()
	enc    format
	shards []*shard
	lb     *labels.Builder
	seen   map[string]struct{} // families whose metadata was queued
	max    int

	mu     sync.Mutex
	report push.Report
	logged map[string]bool // drop reasons already logged in full
	wg     sync.WaitGroup
}

type shard struct {
	cur  *batch
	send chan *batch
	free chan *batch
}

// Open implements push.Destination: it starts the shard senders. ctx bounds
// every send and retry.
func (c *Client) Open(ctx context.Context, opts push.Options) push.Delivery {
	ctx, prog, stop := push.WithStall(ctx, opts.Stall, c.clock)
	w := &writer{
		c:      c,
		ctx:    ctx,
		prog:   prog,
		stop:   stop,
		enc:    formats[c.cfg.ProtobufMessage],
		lb:     labels.NewBuilder(labels.EmptyLabels()),
		seen:   map[string]struct{}{},
		max:    c.cfg.QueueConfig.MaxSamplesPerSend,
		logged: map[string]bool{},
	}
	w.report.Destination = c.cfg.Name
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
		w.append(&g.Families[i])
	}
	for i := range g.Self {
		w.append(&g.Self[i])
	}
}

// append queues the samples of f. Samples whose labels the destination's
// write_relabel_configs drop are counted as dropped ("relabel").
func (w *writer) append(f *metric.Family) {
	rcs := w.c.cfg.WriteRelabelConfigs
	metaDone := false
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
		if !validSeries(ls) {
			w.drop("invalid_labels", 1)
			continue
		}
		sh := w.shards[ls.Hash()%uint64(len(w.shards))]
		b := sh.cur
		if !metaDone {
			metaDone = true
			if _, ok := w.seen[f.Name]; !ok {
				w.seen[f.Name] = struct{}{}
				b.meta = append(b.meta, metadataOf(f))
			}
		}
		ls.Range(func(l labels.Label) {
			b.labels = append(b.labels, prompb.Label{Name: l.Name, Value: l.Value})
		})
		b.ends = append(b.ends, len(b.labels))
		b.samples = append(b.samples, prompb.Sample{Value: s.Value, Timestamp: s.T})
		if len(b.samples) >= w.max {
			w.flush(sh)
		}
	}
}

// Close implements push.Delivery: it sends what is queued, waits for every
// shard and returns the report.
func (w *writer) Close() push.Report {
	for _, sh := range w.shards {
		if len(sh.cur.samples) > 0 || len(sh.cur.meta) > 0 {
			w.flush(sh)
		}
		close(sh.send)
	}
	w.wg.Wait()
	w.stop()
	if n := w.report.Dropped["stalled"]; n > 0 {
		w.c.logger.Error("receiver stalled, gave up", "endpoint", w.c.Endpoint(), "sent", w.report.Sent, "not_sent", n,
			"hint", "the receiver accepted nothing for global.cycle_timeout; check it, or raise cycle_timeout")
	}
	return w.report
}

func (w *writer) flush(sh *shard) {
	sh.send <- sh.cur
	sh.cur = <-sh.free
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
	if w.ctx.Err() != nil {
		w.fail(push.DropReason(w.ctx, w.ctx.Err()), n, context.Cause(w.ctx))
		return
	}
	body := w.enc.encode(b)
	w.prog.Begin()
	retries, err := push.Retry(w.ctx, w.backoff(), w.c.clock, func(attempt int) error {
		_, err := w.c.Store(w.ctx, body, w.c.cfg.ProtobufMessage, attempt)
		return err
	})
	w.prog.End(err == nil)
	w.mu.Lock()
	w.report.Retried += retries * n
	w.mu.Unlock()
	if err == nil {
		w.mu.Lock()
		w.report.Sent += n
		w.mu.Unlock()
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

func (w *writer) drop(reason string, n int) {
	w.mu.Lock()
	w.report.Drop(reason, n)
	w.mu.Unlock()
}

// validSeries accepts what every receiver accepts: a metric name, valid
// UTF-8 names and values. labels.Labels is already sorted and unique.
func validSeries(ls labels.Labels) bool {
	if ls.Get(model.MetricNameLabel) == "" {
		return false
	}
	ok := true
	ls.Range(func(l labels.Label) {
		if !model.UTF8Validation.IsValidLabelName(l.Name) || !model.LabelValue(l.Value).IsValid() {
			ok = false
		}
	})
	return ok
}
