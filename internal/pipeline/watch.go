package pipeline

import (
	"context"

	"github.com/liftpush/liftpush/internal/collect"
)

// watches holds the context of every collector the daemon made watch
// (collect.Collector.Watch), so that one a reload replaced stops watching.
type watches map[collect.Collector]context.CancelFunc

// sync makes every collector in cs watch, within ctx, and stops the
// watches of collectors no longer in cs.
func (w watches) sync(ctx context.Context, cs []collect.Collector) {
	live := map[collect.Collector]bool{}
	for _, c := range cs {
		live[c] = true
		if _, ok := w[c]; !ok {
			wctx, cancel := context.WithCancel(ctx)
			c.Watch(wctx)
			w[c] = cancel
		}
	}
	for c, cancel := range w {
		if !live[c] {
			cancel()
			delete(w, c)
		}
	}
}

// stop ends every watch.
func (w watches) stop() { w.sync(context.Background(), nil) }
