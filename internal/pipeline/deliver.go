package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// deliver is the one delivery path of run, collect and push: it opens a
// delivery on every destination, hands each group produce emits to all of
// them as it comes, then closes them concurrently so a slow destination
// does not hold up the others' final sends. Groups must be decorated
// already; destinations must not modify them.
//
// Memory stays bounded when produce streams: a destination's Write blocks
// while its requests are in flight, which paces produce.
func (p *Pipeline) deliver(ctx context.Context, opts push.Options, produce func(emit func(*metric.Group))) []push.Report {
	return deliverTo(ctx, p.destinations, opts, produce)
}

func deliverTo(ctx context.Context, ds []push.Destination, opts push.Options, produce func(emit func(*metric.Group))) []push.Report {
	dls := make([]push.Delivery, len(ds))
	for i, d := range ds {
		dls[i] = d.Open(ctx, opts)
	}
	produce(func(g *metric.Group) {
		for _, dl := range dls {
			dl.Write(g)
		}
	})
	reports := make([]push.Report, len(dls))
	var wg sync.WaitGroup
	for i, dl := range dls {
		wg.Go(func() {
			rep := dl.Close()
			rep.Destination = ds[i].Name()
			reports[i] = rep
		})
	}
	wg.Wait()
	return reports
}

// spooling returns the destinations whose spool holds records.
func (p *Pipeline) spooling() []push.Destination {
	var ds []push.Destination
	for _, d := range p.destinations {
		if st := d.Stats().Spool; st != nil && st.Records > 0 {
			ds = append(ds, d)
		}
	}
	return ds
}

// spooled reports whether a destination's spool holds records.
func (p *Pipeline) spooled() bool { return len(p.spooling()) > 0 }

// Replay is a delivery without new data: the destinations with a spool
// send what it holds, oldest first, within cycle_timeout. The daemon runs
// it between cycles.
func (p *Pipeline) Replay(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.cycleTimeout)
	defer cancel()
	ds := p.spooling()
	start := time.Now()
	reports := deliverTo(ctx, ds, push.Options{}, func(func(*metric.Group)) {})
	replayed := 0
	for _, r := range reports {
		replayed += r.Replayed
	}
	if replayed > 0 {
		p.logEnd("spool replayed", delivered(reports), time.Now().Sub(start), nil, reports)
	}
}
