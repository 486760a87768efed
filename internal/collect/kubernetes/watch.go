package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// A daemon watches instead of listing every cycle (issue 20): each cycle
// then reads a local cache that the apiserver keeps current with watch
// events, so the cost of a cycle no longer grows with the cluster in
// requests, only in the walk over the cache. A run --once process lists, in
// pages (list.go): a watch would have to list everything first anyway.
//
// The cache holds objects stripped by prune: a cluster of 100,000
// Deployments would otherwise keep every annotation, managedFields entry
// and container string in memory for nothing.

// watchState is the collector's informers, one shared informer factory per
// namespace ("" for all), started on first use.
type watchState struct {
	mu        sync.Mutex
	ctx       context.Context // ends the informers; nil: list every cycle
	factories map[string]dynamicinformer.DynamicSharedInformerFactory
	informers map[watchKey]*watched
}

// watched is one informer and the last error of its list or watch, so a
// cycle fails at once on a 403 instead of waiting for a sync that cannot
// come.
type watched struct {
	inf     cache.SharedIndexInformer
	lastErr atomic.Pointer[error]
}

type watchKey struct {
	spec, namespace string
}

// Watch implements the daemon's watcher: from the next Collect on, the
// collector reads informer caches, kept current until ctx ends.
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

// informer returns the started informer of t in namespace ns.
func (c *Collector) informer(t target, ns string) *watched {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	key := watchKey{t.spec, ns}
	if inf, ok := w.informers[key]; ok {
		return inf
	}
	if w.factories == nil {
		w.factories = map[string]dynamicinformer.DynamicSharedInformerFactory{}
		w.informers = map[watchKey]*watched{}
	}
	f, ok := w.factories[ns]
	if !ok {
		selector := c.cfg.LabelSelector
		f = dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dyn, 0, ns, func(o *metav1.ListOptions) {
			o.LabelSelector = selector
		})
		w.factories[ns] = f
	}
	wd := &watched{inf: f.ForResource(t.gvr).Informer()}
	// Before Start: the transform applies to what the first list brings.
	if err := wd.inf.SetTransform(prune); err != nil {
		c.logger.Warn("the informer cache keeps whole objects", "resource", t.spec, "err", err)
	}
	if err := wd.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		wd.lastErr.Store(&err)
	}); err != nil {
		c.logger.Warn("list and watch errors of the informer are not reported", "resource", t.spec, "err", err)
	}
	f.Start(w.ctx.Done())
	w.informers[key] = wd
	return wd
}

// fromCache hands the cached objects of t in ns to fn in namespace/name
// order, once the cache has synced (the first cycle waits for the initial
// list within its deadline).
func (c *Collector) fromCache(ctx context.Context, t target, ns string, fn func(items []*unstructured.Unstructured)) (objects int, err error) {
	wd := c.informer(t, ns)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !wd.inf.HasSynced() {
		if err := wd.lastErr.Load(); err != nil {
			return 0, c.accessError(*err, t, ns, "list", "watch")
		}
		select {
		case <-ctx.Done():
			return 0, c.accessError(fmt.Errorf("the watch cache did not sync before the cycle's deadline: %w", context.Cause(ctx)), t, ns, "list", "watch")
		case <-tick.C:
		}
	}
	raw := wd.inf.GetStore().List()
	items := make([]*unstructured.Unstructured, 0, len(raw))
	for _, o := range raw {
		if u, ok := o.(*unstructured.Unstructured); ok {
			items = append(items, u)
		}
	}
	slices.SortFunc(items, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	fn(items)
	return len(items), nil
}

// prune is the informers' transform: it keeps what the namings read and
// drops the rest. Kept are numbers and booleans anywhere (the
// kube-api-exporter naming turns each into a series), the identity
// (metadata name, namespace, uid, resourceVersion) and the strings
// kube-state-metrics' deployment family reads (creationTimestamp, the
// conditions' type and status, the rolling update's percentages). List
// elements stay in place, emptied, so indexes, which are label values, do
// not move.
func prune(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		// A cache.DeletedFinalStateUnknown: passed through.
		return obj, nil
	}
	pruned, _ := pruneMap(u.Object, pathRoot)
	if pruned == nil {
		pruned = map[string]any{}
	}
	u.Object = pruned
	return u, nil
}

// The paths whose strings prune keeps, as a small trie of map keys; a list
// does not add a level (its elements are matched by the list's own node).
type pathNode map[string]pathNode

var (
	keepString = pathNode{} // a leaf: keep the string found here
	pathRoot   = pathNode{
		"metadata": {"name": keepString, "namespace": keepString, "uid": keepString, "resourceVersion": keepString, "creationTimestamp": keepString},
		"status":   {"conditions": {"type": keepString, "status": keepString}},
		"spec":     {"strategy": {"rollingUpdate": {"maxSurge": keepString, "maxUnavailable": keepString}}},
	}
)

// pruneMap returns m without what prune drops, or false when nothing is
// left. m is changed in place: the informer owns the object.
func pruneMap(m map[string]any, node pathNode) (map[string]any, bool) {
	_, isMetadata := node["uid"]
	for k, v := range m {
		// The flattener skips these two (flatten.go); they are the bulk
		// of most objects.
		if isMetadata && (k == "managedFields" || k == "annotations") {
			delete(m, k)
			continue
		}
		nv, keep := pruneValue(v, node[k])
		if !keep {
			delete(m, k)
			continue
		}
		m[k] = nv
	}
	return m, len(m) > 0
}

// pruneValue returns v without what prune drops, and whether anything is
// left. node is v's place in the trie of kept strings, nil outside it.
func pruneValue(v any, node pathNode) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return pruneMap(v, node)
	case []any:
		kept := false
		for i, e := range v {
			ne, keep := pruneValue(e, node)
			if keep {
				kept = true
				v[i] = ne
			} else {
				v[i] = nil
			}
		}
		return v, kept
	case string:
		// keepString is the only non-nil node without children.
		return v, node != nil && len(node) == 0
	case nil:
		return nil, false
	default:
		return v, true // numbers and booleans
	}
}
