package kubernetes

import (
	"cmp"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/liftpush/liftpush/internal/shard"
)

// row is what a watch cache keeps of one object: the samples its naming
// made of it, labels built once, when the object arrived. A cycle then
// copies samples instead of flattening objects, and the cache holds no
// decoded object at all: 100,000 Deployments kept as pruned unstructured
// maps took 4 KiB each (measured), a row of six series about 0.7 KiB. An
// object of another shard becomes a row without samples that the store
// drops.
//
// A row is a runtime.Object so that the reflector carries it from the
// list-watch to the store. It is never changed once built, so
// DeepCopyObject returns it as it is.
type row struct {
	namespace, name, resourceVersion string
	samples                          []rowSample
	// owned: this shard's, so stored, even without samples.
	owned bool
	// truncated: the naming's limits cut the object short.
	truncated bool
	// initialEventsEnd marks the bookmark that ends a watch-list's
	// initial events (the reflector reads it as an annotation).
	initialEventsEnd bool
}

type rowSample struct {
	ls  labels.Labels
	v   float64
	fam int32 // in the rowBuilder's families
}

func (r *row) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (r *row) DeepCopyObject() runtime.Object   { return r }

// GetObjectMeta implements metav1.ObjectMetaAccessor: the reflector reads
// resource versions, the watch-list's end annotation and store keys
// through it.
func (r *row) GetObjectMeta() metav1.Object {
	m := &metav1.ObjectMeta{Namespace: r.namespace, Name: r.name, ResourceVersion: r.resourceVersion}
	if r.initialEventsEnd {
		m.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return m
}

// rowList is one list page as rows; the reflector's pager joins pages.
type rowList struct {
	metav1.ListMeta
	Items []*row
}

func (l *rowList) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (l *rowList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = slices.Clone(l.Items)
	return &c
}

// rowBuilder makes the rows of one watch: it is the sink the naming writes
// an owned object's samples into, and the table of their families. The
// list and the watch call it from their own goroutines.
type rowBuilder struct {
	owner    shard.Owner
	defaults []labels.Label

	mu    sync.Mutex
	emit  func(obj map[string]any, namespace, name string)
	flat  *flattener // the naming's flattener, for its truncation count; nil for ksm Deployments
	index map[string]int
	fams  []familyInfo
	b     labels.ScratchBuilder
	cur   []rowSample
}

type familyInfo struct{ name, help string }

// newRowBuilder makes rows for owner with the naming that naming returns
// for a sink (Collector.emitter), their series with defaults (seriesLabels).
func newRowBuilder(owner shard.Owner, defaults []labels.Label, naming func(sink) (func(map[string]any, string, string), *flattener)) *rowBuilder {
	b := &rowBuilder{owner: owner, defaults: defaults, index: map[string]int{}, b: labels.NewScratchBuilder(8)}
	b.emit, b.flat = naming(b)
	return b
}

// row turns u into a row.
func (b *rowBuilder) row(u *unstructured.Unstructured) *row {
	r := &row{namespace: u.GetNamespace(), name: u.GetName(), resourceVersion: u.GetResourceVersion()}
	if !b.owner.OwnsUID(string(u.GetUID())) {
		return r
	}
	r.owned = true
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = b.cur[:0]
	cut := 0
	if b.flat != nil {
		cut = b.flat.truncated
	}
	b.emit(u.Object, r.namespace, r.name)
	r.truncated = b.flat != nil && b.flat.truncated > cut
	r.samples = slices.Clone(b.cur)
	return r
}

// family implements sink.
func (b *rowBuilder) family(name []byte, help func() string) int {
	if i, ok := b.index[string(name)]; ok {
		return i
	}
	b.fams = append(b.fams, familyInfo{name: string(name), help: help()})
	b.index[b.fams[len(b.fams)-1].name] = len(b.fams) - 1
	return len(b.fams) - 1
}

// add implements sink.
func (b *rowBuilder) add(fam int, value float64, pairs ...string) {
	b.cur = append(b.cur, rowSample{ls: seriesLabels(&b.b, b.fams[fam].name, pairs, b.defaults), v: value, fam: int32(fam)})
}

// families returns the family table; entries are only ever appended, so
// the returned slice stays valid for every row built before the call.
func (b *rowBuilder) families() []familyInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fams[:len(b.fams):len(b.fams)]
}

// rowStore is a watch's cache: the reflector's store, holding the rows of
// this shard's objects by namespace and name.
type rowStore struct {
	mu   sync.Mutex
	rows map[rowKey]*row
	// sorted is rows in namespace/name order, nil after a change.
	sorted []*row
	synced bool
}

type rowKey struct{ namespace, name string }

func newRowStore() *rowStore { return &rowStore{rows: map[rowKey]*row{}} }

func (s *rowStore) put(obj any) error {
	r, ok := obj.(*row)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := rowKey{r.namespace, r.name}
	if r.owned {
		s.rows[k] = r
	} else {
		// The name now belongs to an object of another shard (deleted
		// and made again while the watch was down).
		delete(s.rows, k)
	}
	s.sorted = nil
	return nil
}

// Add implements cache.ReflectorStore.
func (s *rowStore) Add(obj any) error { return s.put(obj) }

// Update implements cache.ReflectorStore.
func (s *rowStore) Update(obj any) error { return s.put(obj) }

// Delete implements cache.ReflectorStore.
func (s *rowStore) Delete(obj any) error {
	if r, ok := obj.(*row); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.rows, rowKey{r.namespace, r.name})
		s.sorted = nil
	}
	return nil
}

// Replace implements cache.ReflectorStore: the result of a (re)list.
func (s *rowStore) Replace(list []any, _ string) error {
	rows := make(map[rowKey]*row, len(list))
	for _, obj := range list {
		if r, ok := obj.(*row); ok && r.owned {
			rows[rowKey{r.namespace, r.name}] = r
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows, s.sorted, s.synced = rows, nil, true
	return nil
}

// Resync implements cache.ReflectorStore; there is nothing to resync.
func (s *rowStore) Resync() error { return nil }

// snapshot returns the rows in namespace/name order, or false before the
// first list arrived. The rows are immutable and the slice is not changed
// after it is returned, so the caller reads it without the lock.
func (s *rowStore) snapshot() ([]*row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.synced {
		return nil, false
	}
	if s.sorted == nil {
		s.sorted = make([]*row, 0, len(s.rows))
		for _, r := range s.rows {
			s.sorted = append(s.sorted, r)
		}
		slices.SortFunc(s.sorted, func(a, b *row) int {
			return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
		})
	}
	return s.sorted, true
}
