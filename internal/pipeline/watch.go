package pipeline

import (
	"context"

	"github.com/liftpush/liftpush/internal/collect"
)

// watcher is a collector that can keep a local copy of its source current
// instead of fetching it every cycle (the Kubernetes collector's
// watch caches). Only a daemon asks for it: a run --once process would fetch
// everything once either way.
type watcher interface {
	// Watch makes later Collects read the local copy, kept current until
	// ctx ends.
	Watch(ctx context.Context)
}

// watches holds the context of every collector the daemon made watch, so
// that one a reload replaced stops watching.
type watches map[collect.Collector]context.CancelFunc

// sync makes every watcher in cs watch, within ctx, and stops the watches
// of collectors no longer in cs.
func (w watches) sync(ctx context.Context, cs []collect.Collector) {
	live := map[collect.Collector]bool{}
	for _, c := range cs {
		wc, ok := c.(watcher)
		if !ok {
			continue
		}
		live[c] = true
		if _, ok := w[c]; !ok {
			wctx, cancel := context.WithCancel(ctx)
			wc.Watch(wctx)
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
