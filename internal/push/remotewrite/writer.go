package remotewrite

import (
	"context"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// Writer streams families into batched requests. Each series is hashed to one
// of max_shards shards; a shard sends its batches one after the other, so the
// samples of a series arrive in the order they were appended, while shards
// run in parallel.
//
// Append and Close must be called from one goroutine. Append blocks while
// every shard is busy, which keeps memory bounded for any input size.
type Writer struct {
	c      *Client
	ctx    context.Context
	shards []*shard
	lb     *labels.Builder
	seen   map[string]struct{} // families whose metadata was queued
	max    int

	mu     sync.Mutex
	report push.Report
	logged map[string]bool // drop reasons already logged in full
	wg     sync.WaitGroup
}

// batch is one request in the making. Labels and samples live in two slabs
// so a batch of thousands of series costs a handful of allocations; the
// TimeSeries are assembled from offsets just before encoding.
type batch struct {
	labels  []prompb.Label
	ends    []int // end offset in labels of each series
	samples []prompb.Sample
	meta    []prompb.MetricMetadata

	series []prompb.TimeSeries
	raw    []byte
	comp   []byte
}

type shard struct {
	cur  *batch
	send chan *batch
	free chan *batch
}

// NewWriter starts the shard senders. ctx bounds every send and retry.
func (c *Client) NewWriter(ctx context.Context) *Writer {
	w := &Writer{
		c:      c,
		ctx:    ctx,
		lb:     labels.NewBuilder(labels.EmptyLabels()),
		seen:   map[string]struct{}{},
		max:    c.cfg.QueueConfig.MaxSamplesPerSend,
		logged: map[string]bool{},
	}
	w.report.Destination = c.cfg.Name
	n := c.cfg.QueueConfig.MaxShards
	w.shards = make([]*shard, n)
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

// Append queues the samples of f. Samples whose labels the destination's
// write_relabel_configs drop are counted as dropped ("relabel").
func (w *Writer) Append(f *metric.Family) {
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

// Close sends what is queued, waits for every shard and returns the report.
func (w *Writer) Close() push.Report {
	for _, sh := range w.shards {
		if len(sh.cur.samples) > 0 || len(sh.cur.meta) > 0 {
			w.flush(sh)
		}
		close(sh.send)
	}
	w.wg.Wait()
	return w.report
}

func (w *Writer) flush(sh *shard) {
	sh.send <- sh.cur
	sh.cur = <-sh.free
}

// run is a shard's sender: batches in order, each retried until it is sent,
// dropped, or the context ends.
func (w *Writer) run(sh *shard) {
	defer w.wg.Done()
	for b := range sh.send {
		w.sendBatch(b)
		b.reset()
		sh.free <- b
	}
}

func (w *Writer) sendBatch(b *batch) {
	n := len(b.samples)
	if err := w.ctx.Err(); err != nil {
		w.fail("timeout", n, err)
		return
	}
	body := b.encode()
	retries, err := push.Retry(w.ctx, w.backoff(), w.c.clock, func(attempt int) error {
		return w.c.store(w.ctx, body, attempt)
	})
	w.mu.Lock()
	w.report.Retried += retries * n
	w.mu.Unlock()
	if err == nil {
		w.mu.Lock()
		w.report.Sent += n
		w.mu.Unlock()
		return
	}
	w.fail(push.DropReason(w.ctx, err), n, err)
}

func (w *Writer) backoff() push.Backoff {
	q := w.c.cfg.QueueConfig
	return push.Backoff{Min: time.Duration(q.MinBackoff), Max: time.Duration(q.MaxBackoff)}
}

// fail counts a dropped batch and logs the first one of each reason in full
// (status and up to 1 KiB of the body); the summary line counts the rest.
func (w *Writer) fail(reason string, n int, err error) {
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

func (w *Writer) drop(reason string, n int) {
	w.mu.Lock()
	w.report.Drop(reason, n)
	w.mu.Unlock()
}

// encode marshals the batch into a snappy-compressed WriteRequest, reusing
// the batch's buffers.
func (b *batch) encode() []byte {
	b.series = b.series[:0]
	start := 0
	for i, end := range b.ends {
		b.series = append(b.series, prompb.TimeSeries{Labels: b.labels[start:end], Samples: b.samples[i : i+1]})
		start = end
	}
	req := prompb.WriteRequest{Timeseries: b.series, Metadata: b.meta}
	size := req.Size()
	if cap(b.raw) < size {
		b.raw = make([]byte, size)
	}
	b.raw = b.raw[:size]
	// MarshalToSizedBuffer cannot fail for a buffer of exactly Size().
	_, _ = req.MarshalToSizedBuffer(b.raw)
	b.comp = snappy.Encode(b.comp[:cap(b.comp)], b.raw)
	return b.comp
}

func (b *batch) reset() {
	b.labels, b.ends, b.samples, b.meta = b.labels[:0], b.ends[:0], b.samples[:0], b.meta[:0]
	clear(b.series)
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

// metadataTypes maps family types to remote-write metadata types; anything
// else is UNKNOWN.
var metadataTypes = map[model.MetricType]prompb.MetricMetadata_MetricType{
	model.MetricTypeCounter:        prompb.MetricMetadata_COUNTER,
	model.MetricTypeGauge:          prompb.MetricMetadata_GAUGE,
	model.MetricTypeHistogram:      prompb.MetricMetadata_HISTOGRAM,
	model.MetricTypeGaugeHistogram: prompb.MetricMetadata_GAUGEHISTOGRAM,
	model.MetricTypeSummary:        prompb.MetricMetadata_SUMMARY,
	model.MetricTypeInfo:           prompb.MetricMetadata_INFO,
	model.MetricTypeStateset:       prompb.MetricMetadata_STATESET,
}

func metadataOf(f *metric.Family) prompb.MetricMetadata {
	return prompb.MetricMetadata{Type: metadataTypes[f.Type], MetricFamilyName: f.Name, Help: f.Help, Unit: f.Unit}
}
