package pipeline

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// PushInput is an exposition to push once (`liftpush push FILE`).
type PushInput struct {
	// Name says where it comes from in logs: a path, or "-".
	Name        string
	R           io.Reader
	ContentType string
	// Labels are set on every series, over the input's own values.
	Labels map[string]string
	// Stall gives up on a destination that accepts nothing for this
	// long; there is no overall deadline but ctx's.
	Stall time.Duration
}

// PushResult is what a push did.
type PushResult struct {
	Samples  int
	ParseErr error
	Reports  []push.Report
}

// OK reports whether the whole input was parsed and delivered.
func (r PushResult) OK() bool {
	return r.ParseErr == nil && delivered(r.Reports)
}

// Push parses the input as it is read and delivers it to every destination
// on the same path as a cycle, so memory stays flat whatever its size.
// Samples without a timestamp get the time the push started; series without
// a job label get the pipeline's job. What was parsed before a parse error
// is still delivered.
func (p *Pipeline) Push(ctx context.Context, in PushInput) PushResult {
	if p.shard.Shard != 0 {
		// A file is not split by a hash: it belongs to shard 0 (shard.go).
		p.logger.Info("not pushing: a file belongs to shard 0", "file", in.Name, "shard", p.shard.String())
		return PushResult{}
	}
	start := time.Now()
	// The parser puts the job and external labels on as it builds each
	// series, which spares a second copy of every label set; the
	// Decorator only stamps the time.
	dec := &Decorator{T: start.UnixMilli()}
	chunk := 1000
	for _, d := range p.Config().RemoteWrite {
		chunk = max(chunk, d.QueueConfig.MaxSamplesPerSend)
	}
	var res PushResult
	res.Reports = p.deliver(ctx, push.Options{Stall: in.Stall}, func(emit func(*metric.Group)) {
		opts := exposition.ParseOptions{
			HonorTimestamps: true, ChunkSamples: chunk,
			Set: labels.FromMap(in.Labels), Default: p.defaults,
		}
		st, err := exposition.ParseStream(in.R, in.ContentType, opts, func(f metric.Family) error {
			dec.Decorate(&f)
			emit(&metric.Group{Collector: "push", Up: true, Families: []metric.Family{f}})
			return nil
		})
		res.Samples = st.Samples
		if err != nil {
			res.ParseErr = err
			p.logger.Error("parsing input; pushing what was parsed before the error", "file", in.Name, "err", err)
			// A Pushgateway must not replace its group with part of it.
			emit(&metric.Group{Collector: "push", Up: false})
		}
	})
	p.logEnd("push finished", res.OK(), time.Now().Sub(start), []any{"file", in.Name, "samples", res.Samples}, res.Reports)
	return res
}
