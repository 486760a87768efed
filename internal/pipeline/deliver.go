package pipeline

import (
	"context"
	"sync"

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
	dls := make([]push.Delivery, len(p.Destinations))
	for i, d := range p.Destinations {
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
			rep.Destination = p.Destinations[i].Name()
			reports[i] = rep
		})
	}
	wg.Wait()
	return reports
}
