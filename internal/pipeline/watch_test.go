package pipeline

import (
	"context"
	"testing"

	"github.com/liftpush/liftpush/internal/collect"
)

type watchingCollector struct {
	fakeCollector
	ctx context.Context
}

func (c *watchingCollector) Watch(ctx context.Context) { c.ctx = ctx }

// TestWatchesFollowReloads: the daemon makes its watchers watch, stops the
// watch of one a reload replaced, and stops all at the end.
func TestWatchesFollowReloads(t *testing.T) {
	a := &watchingCollector{fakeCollector: fakeCollector{name: "kubernetes"}}
	b := &watchingCollector{fakeCollector: fakeCollector{name: "kubernetes"}}
	plain := &fakeCollector{name: "scrape/x"}
	w := watches{}
	w.sync(t.Context(), []collect.Collector{a, plain})
	if a.ctx == nil || a.ctx.Err() != nil {
		t.Fatal("a does not watch")
	}
	first := a.ctx
	w.sync(t.Context(), []collect.Collector{a, plain})
	if a.ctx != first {
		t.Error("a second sync restarted a's watch")
	}
	w.sync(t.Context(), []collect.Collector{b, plain})
	if a.ctx.Err() == nil {
		t.Error("a still watches after a reload replaced it")
	}
	if b.ctx == nil || b.ctx.Err() != nil {
		t.Error("b does not watch")
	}
	w.stop()
	if b.ctx.Err() == nil || len(w) != 0 {
		t.Error("b still watches after stop")
	}
}
