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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/liftpush/liftpush/internal/shard"
)

// A daemon watches instead of listing every cycle (issue 20): each cycle
// then reads a local cache that the apiserver keeps current with watch
// events, so the cost of a cycle no longer grows with the cluster in
// requests, only in the walk over the cache. A run --once process lists, in
// pages (list.go): a watch would have to list everything first anyway.
//
// The cache holds compact copies made by prune: a cluster of 100,000
// Deployments would otherwise keep every annotation, managedFields entry
// and container string in memory for nothing. Objects of another shard are
// kept as stubs (their identity only): every shard watches everything, but
// holds only its part. A reshard therefore starts the watches again, so
// that the objects the shard now owns are fetched whole.

// watchState is the collector's informers (client-go shared informers), one per
// namespace ("" for all), started on first use.
type watchState struct {
	mu  sync.Mutex
	ctx context.Context // ends the watch; nil: list every cycle
	// stop ends the informers of the current shard (reset).
	stop      context.CancelFunc
	owner     shard.Owner // the part the informers' stubs were cut for
	informers map[watchKey]*watched
	ictx      context.Context // the informers' context, ended by stop
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
		w.stop, w.informers = nil, nil
	}
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
	if w.informers == nil {
		w.ictx, w.stop = context.WithCancel(w.ctx)
		w.owner = c.shard.Get()
		w.informers = map[watchKey]*watched{}
	}
	wd := &watched{inf: cache.NewSharedIndexInformer(c.listWatch(t, ns, w.owner), &unstructured.Unstructured{}, 0, cache.Indexers{})}
	// The list and watch prune already; the transform catches what else
	// reaches the store. Before Run: it applies from the first list on.
	owner := w.owner
	if err := wd.inf.SetTransform(func(obj any) (any, error) { return prune(obj, owner) }); err != nil {
		c.logger.Warn("the informer cache keeps whole objects", "resource", t.spec, "err", err)
	}
	if err := wd.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		wd.lastErr.Store(&err)
	}); err != nil {
		c.logger.Warn("list and watch errors of the informer are not reported", "resource", t.spec, "err", err)
	}
	go wd.inf.RunWithContext(w.ictx)
	w.informers[key] = wd
	return wd
}

// listWatch lists and watches t in ns for an informer, pruning every
// object as it is decoded (prune): the informer's own transform only runs
// once the initial list or watch-list is complete, so 100,000 whole
// Deployments (about 20 KiB each decoded) would be in memory at once.
// Bookmarks pass unchanged: the watch-list's end is an annotation on one.
func (c *Collector) listWatch(t target, ns string, owner shard.Owner) *cache.ListWatch {
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
				// consistent read comes in pages, each pruned here.
				o.ResourceVersion, o.ResourceVersionMatch = "", ""
			}
			list, err := ri.List(ctx, o)
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				if p, err := prune(&list.Items[i], owner); err == nil {
					list.Items[i] = *p.(*unstructured.Unstructured)
				}
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			w, err := ri.Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if e.Type != watch.Bookmark {
					if p, err := prune(e.Object, owner); err == nil {
						if obj, ok := p.(runtime.Object); ok {
							e.Object = obj
						}
					}
				}
				return e, true
			}), nil
		},
	}
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
	own := c.shard.Get()
	items := make([]*unstructured.Unstructured, 0, len(raw))
	for _, o := range raw {
		// Another shard's stubs are left out before the sort.
		if u, ok := o.(*unstructured.Unstructured); ok && own.OwnsUID(string(u.GetUID())) {
			items = append(items, u)
		}
	}
	slices.SortFunc(items, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	fn(items)
	return len(items), nil
}

// prune is the informers' transform: it makes a compact copy of what the
// namings read and drops the rest. Kept are numbers and booleans anywhere
// (the kube-api-exporter naming turns each into a series), the identity
// (metadata name, namespace, uid, resourceVersion) and the strings
// kube-state-metrics' deployment family reads (creationTimestamp, the
// conditions' type and status, the rolling update's percentages). List
// elements stay in place, emptied, so indexes, which are label values, do
// not move. An object another shard owns keeps its identity only.
//
// A copy rather than deletions in place: the decoded object's maps keep the
// buckets of every key they ever held, and its small survivors would pin
// the memory of the whole object spread over the heap.
func prune(obj any, owner shard.Owner) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		// A cache.DeletedFinalStateUnknown: passed through.
		return obj, nil
	}
	root := pathRoot
	if !owner.OwnsUID(string(u.GetUID())) {
		root = stubRoot
	}
	pruned, _ := pruneMap(u.Object, root)
	if pruned == nil {
		pruned = map[string]any{}
	}
	return &unstructured.Unstructured{Object: pruned}, nil
}

// The paths whose strings prune keeps, as a small trie of map keys; a list
// does not add a level (its elements are matched by the list's own node).
type pathNode struct {
	children map[string]*pathNode
	// keep: keep the string found here. only: keep nothing but the
	// children, not even numbers (a stub).
	keep, only bool
}

func node(children map[string]*pathNode) *pathNode { return &pathNode{children: children} }

var (
	keepString = &pathNode{keep: true}
	identity   = map[string]*pathNode{"name": keepString, "namespace": keepString, "uid": keepString, "resourceVersion": keepString}
	pathRoot   = node(map[string]*pathNode{
		"metadata": node(map[string]*pathNode{"name": keepString, "namespace": keepString, "uid": keepString, "resourceVersion": keepString, "creationTimestamp": keepString}),
		"status":   node(map[string]*pathNode{"conditions": node(map[string]*pathNode{"type": keepString, "status": keepString})}),
		"spec":     node(map[string]*pathNode{"strategy": node(map[string]*pathNode{"rollingUpdate": node(map[string]*pathNode{"maxSurge": keepString, "maxUnavailable": keepString})})}),
	})
	stubRoot = &pathNode{only: true, children: map[string]*pathNode{"metadata": {only: true, children: identity}}}
)

// child is n's node for key k; nil outside the trie.
func (n *pathNode) child(k string) *pathNode {
	if n == nil {
		return nil
	}
	return n.children[k]
}

// pruneMap returns a copy of m without what prune drops, and whether
// anything is left.
func pruneMap(m map[string]any, n *pathNode) (map[string]any, bool) {
	var out map[string]any
	isMetadata := n != nil && n.children["uid"] != nil
	for k, v := range m {
		// The flattener skips these two (flatten.go); they are the bulk
		// of most objects.
		if isMetadata && (k == "managedFields" || k == "annotations") {
			continue
		}
		c := n.child(k)
		if n != nil && n.only && c == nil {
			continue
		}
		nv, keep := pruneValue(v, c)
		if !keep {
			continue
		}
		if out == nil {
			out = make(map[string]any, 4)
		}
		out[k] = nv
	}
	return out, out != nil
}

// pruneValue returns a copy of v without what prune drops, and whether
// anything is left. n is v's place in the trie of kept strings, nil outside
// it.
func pruneValue(v any, n *pathNode) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return pruneMap(v, n)
	case []any:
		out := make([]any, len(v))
		kept := false
		for i, e := range v {
			if ne, keep := pruneValue(e, n); keep {
				out[i], kept = ne, true
			}
		}
		return out, kept
	case string:
		return v, n != nil && n.keep
	case nil:
		return nil, false
	default:
		return v, n == nil || !n.only // numbers and booleans
	}
}
