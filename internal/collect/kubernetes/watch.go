package kubernetes

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

// A daemon watches instead of listing every cycle (issue 20): each cycle
// then reads a local cache that the apiserver keeps current with watch
// events, so the cost of a cycle no longer grows with the cluster in
// requests, only in the walk over the cache. A run --once process lists, in
// pages (list.go): a watch would have to list everything first anyway.
//
// The cache holds rows (rows.go): the series each object of this shard
// yields, built when it arrives, and nothing of the objects themselves.
// Every shard watches everything but keeps only its part, so a reshard
// starts the watches again, and the objects the shard now owns arrive
// with the new list.

// watchState is the collector's watches, one per resource and namespace
// ("" for all), started on first use.
type watchState struct {
	mu  sync.Mutex
	ctx context.Context // ends the watch; nil: list every cycle
	// stop ends the watches of the current shard (reset).
	stop    context.CancelFunc
	owner   shard.Owner // the part the watches' rows were cut for
	watches map[watchKey]*watched
	ictx    context.Context // the watches' context, ended by stop
}

// watched is one watch: a reflector (client-go's list-and-watch loop)
// filling a store of rows, and the last error of its list or watch, so a
// cycle fails at once on a 403 instead of waiting for a sync that cannot
// come.
type watched struct {
	store   *rowStore
	rows    *rowBuilder
	lastErr atomic.Pointer[error]
}

// fail records the outcome of a list or watch request.
func (wd *watched) fail(err error) {
	if err == nil {
		wd.lastErr.Store(nil)
		return
	}
	wd.lastErr.Store(&err)
}

type watchKey struct {
	spec, namespace string
}

// Watch implements collect.Collector: from the next Collect on, the
// collector reads watch caches, kept current until ctx ends.
func (c *Collector) Watch(ctx context.Context) {
	c.watch.mu.Lock()
	defer c.watch.mu.Unlock()
	if c.watch.ctx == nil {
		c.watch.ctx = ctx
	}
}

// watching reports whether Collect reads caches.
func (c *Collector) watching() bool {
	c.watch.mu.Lock()
	defer c.watch.mu.Unlock()
	return c.watch.ctx != nil && c.watch.ctx.Err() == nil
}

// SetShard implements collect.Collector: from the next Collect on, only the
// objects whose UID hashes to o are kept. Every shard still lists (or
// watches) every object, as kube-state-metrics does: the apiserver cannot
// filter by a hash of the UID, so N shards cost it N times the reads of one
// replica, while each replica's memory and series are about 1/N. A change
// of part restarts the watches (see above).
func (c *Collector) SetShard(o shard.Owner) {
	c.shard.Set(o)
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop != nil && w.owner != o {
		w.stop()
		w.stop, w.watches = nil, nil
	}
}

// watchOf returns the started watch of t in namespace ns.
func (c *Collector) watchOf(t target, ns string) *watched {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	key := watchKey{t.spec, ns}
	if wd, ok := w.watches[key]; ok {
		return wd
	}
	if w.watches == nil {
		w.ictx, w.stop = context.WithCancel(w.ctx)
		w.owner = c.shard.Get()
		w.watches = map[watchKey]*watched{}
	}
	wd := &watched{
		store: newRowStore(),
		rows: newRowBuilder(w.owner, c.defaults, func(s sink) (func(map[string]any, string, string), *flattener) {
			return c.emitter(t, s)
		}),
	}
	// No expected type: the list-watch hands the reflector rows, not the
	// resource's own objects.
	r := cache.NewReflectorWithOptions(c.listWatch(t, ns, wd), nil, wd.store, cache.ReflectorOptions{
		Name:            "kubernetes " + t.spec + " " + ns,
		TypeDescription: t.spec,
	})
	go r.RunWithContext(w.ictx)
	w.watches[key] = wd
	return wd
}

// listWatch lists and watches t in ns for a reflector, turning every
// object into a row as it is decoded: a list page or a watch event is
// garbage once its rows are made, so 100,000 whole Deployments (about
// 20 KiB each decoded) are never in memory at once. Another shard's
// objects leave the list at once; in a watch they pass as empty rows,
// whose deletion from the store is a no-op. Bookmarks pass as rows
// carrying their resource version and the watch-list's end.
func (c *Collector) listWatch(t target, ns string, wd *watched) *cache.ListWatch {
	var ri dynamic.ResourceInterface = c.dyn.Resource(t.gvr)
	if t.namespaced && ns != "" {
		ri = c.dyn.Resource(t.gvr).Namespace(ns)
	}
	selector := c.cfg.LabelSelector
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			if o.ResourceVersion == "0" {
				// The reflector's first list asks the apiserver's watch
				// cache, which ignores the limit and answers 100,000
				// objects in one body (2.9 GiB of peak RSS, measured): a
				// consistent read comes in pages.
				o.ResourceVersion, o.ResourceVersionMatch = "", ""
			}
			list, err := ri.List(ctx, o)
			wd.fail(err)
			if err != nil {
				return nil, err
			}
			out := &rowList{Items: make([]*row, 0, len(list.Items))}
			out.ResourceVersion, out.Continue, out.RemainingItemCount = list.GetResourceVersion(), list.GetContinue(), list.GetRemainingItemCount()
			for i := range list.Items {
				if r := wd.rows.row(&list.Items[i]); r.owned {
					out.Items = append(out.Items, r)
				}
			}
			return out, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			w, err := ri.Watch(ctx, o)
			wd.fail(err)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				u, ok := e.Object.(*unstructured.Unstructured)
				if !ok {
					return e, true // an error's Status
				}
				if e.Type == watch.Bookmark {
					e.Object = &row{resourceVersion: u.GetResourceVersion(), initialEventsEnd: u.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"}
				} else {
					e.Object = wd.rows.row(u)
				}
				return e, true
			}), nil
		},
	}
}

// fromCache adds the samples of t's objects in ns to out, in
// namespace/name order, once the cache has synced (the first cycle waits
// for the initial list within its deadline). It returns the number of
// objects and of those the naming's limits cut short.
func (c *Collector) fromCache(ctx context.Context, t target, ns string, out *familySet) (objects, truncated int, err error) {
	wd := c.watchOf(t, ns)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	rows, ok := wd.store.snapshot()
	for !ok {
		if err := wd.lastErr.Load(); err != nil {
			return 0, 0, c.accessError(*err, t, ns, "list", "watch")
		}
		select {
		case <-ctx.Done():
			return 0, 0, c.accessError(fmt.Errorf("the watch cache did not sync before the cycle's deadline: %w", context.Cause(ctx)), t, ns, "list", "watch")
		case <-tick.C:
		}
		rows, ok = wd.store.snapshot()
	}
	// The family table is read after the rows: it then holds every
	// family they refer to.
	fams := wd.rows.families()
	ids := make([]int, len(fams))
	for i, f := range fams {
		ids[i] = out.family([]byte(f.name), func() string { return f.help })
	}
	// Sized first: growing by appends would copy 600,000 samples' worth
	// of slices at 100,000 Deployments, every cycle.
	counts := make([]int, len(fams))
	for _, r := range rows {
		for _, s := range r.samples {
			counts[s.fam]++
		}
	}
	for i, n := range counts {
		out.grow(ids[i], n)
	}
	for _, r := range rows {
		for _, s := range r.samples {
			out.addSample(ids[s.fam], metric.Sample{Labels: s.ls, Value: s.v})
		}
		if r.truncated {
			truncated++
		}
	}
	return len(rows), truncated, nil
}
