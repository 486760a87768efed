package remotewrite

import (
	"iter"
	"math/bits"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// seriesTable is the data series a destination delivered, after
// relabelling, for the stale markers of the next cycle. It is one table kept
// across cycles, each entry stamped with the last cycle that sent it,
// rather than a map built each cycle: a daemon at 100,000 Deployments
// (600,000 series) held two such maps at once, 40 MiB, and threw one away
// every cycle. An entry also keeps the labels of the cycle that first sent
// the series, so a collector that builds its labels anew each cycle (a
// scrape) leaves them all to the garbage collector.
//
// The series of earlier cycles are a slice sorted by hash, found through
// an index of the hashes' top bits: 32 bytes a series, where a Go map of
// the same entries took 72 (measured at 600,000). Series new this cycle are
// appended to another slice, sorted and merged in when the next cycle
// starts, so a run --once never sorts, and a first cycle's slice becomes
// the sorted one without a copy.
//
// Only a cycle's writer uses it, between Client.beginCycle and
// Client.endCycle; the pipeline runs one cycle at a time.
type seriesTable struct {
	sorted []seriesEntry
	// index[b] is where the series whose hash's top bits are b start in
	// sorted; index[b+1] is where they end.
	index []uint32
	shift uint
	// added are the series new this cycle, in the order sent; a series
	// sent twice may be there twice (start keeps one).
	added []seriesEntry

	// gen is the cycle being written; every other entry is the last
	// cycle's, since sweep removes the rest.
	gen uint32
	// before is how many series the last cycle sent.
	before int
	// changed: a series came, went or changed kind this cycle, so the
	// spool's copy is out of date.
	changed bool
}

type seriesEntry struct {
	h    uint64
	ls   labels.Labels
	gen  uint32
	kind histKind
}

func newSeriesTable() *seriesTable { return &seriesTable{} }

// start begins a cycle: what the last one added joins the sorted series.
func (t *seriesTable) start() {
	if len(t.added) > 0 {
		t.compactAdded()
		if len(t.sorted) == 0 {
			t.sorted, t.added = t.added, nil
		} else {
			n := len(t.sorted)
			t.sorted = append(t.sorted, t.added...)
			clear(t.added) // its labels now live in sorted only
			t.added = t.added[:0]
			mergeTail(t.sorted, n)
		}
		t.reindex()
	}
	t.gen++
	t.before, t.changed = t.len(), false
}

// compactAdded sorts added by hash and keeps one entry a series, the last
// one sent (its kind is the latest).
func (t *seriesTable) compactAdded() {
	slices.SortStableFunc(t.added, byHash)
	out := t.added[:0]
	for i, e := range t.added {
		if i+1 < len(t.added) && t.added[i+1].h == e.h {
			continue
		}
		out = append(out, e)
	}
	clear(t.added[len(out):])
	t.added = out
}

func byHash(a, b seriesEntry) int {
	switch {
	case a.h < b.h:
		return -1
	case a.h > b.h:
		return 1
	}
	return 0
}

// mergeTail sorts a by hash, where a[:n] and a[n:] are sorted already. It
// copies only the tail, the few series new since the last cycle, and
// merges from the end.
func mergeTail(a []seriesEntry, n int) {
	if n == 0 || n == len(a) {
		return
	}
	b := slices.Clone(a[n:])
	i, j := n-1, len(b)-1
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && a[i].h > b[j].h {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
	}
}

// reindex rebuilds index for sorted, about four series a bucket.
func (t *seriesTable) reindex() {
	b := max(1, bits.Len(uint(len(t.sorted)/4)))
	t.shift = uint(64 - b)
	if cap(t.index) >= 1<<b+1 {
		t.index = t.index[:1<<b+1]
	} else {
		t.index = make([]uint32, 1<<b+1)
	}
	i := 0
	for bucket := range t.index {
		for i < len(t.sorted) && t.sorted[i].h>>t.shift < uint64(bucket) {
			i++
		}
		t.index[bucket] = uint32(i)
	}
}

// find returns the sorted entry of hash h, or nil.
func (t *seriesTable) find(h uint64) *seriesEntry {
	if len(t.sorted) == 0 {
		return nil
	}
	b := h >> t.shift
	for i := t.index[b]; i < t.index[b+1]; i++ {
		if t.sorted[i].h == h {
			return &t.sorted[i]
		}
	}
	return nil
}

// len is the number of series, once added holds none twice (after start
// or compactAdded).
func (t *seriesTable) len() int { return len(t.sorted) + len(t.added) }

// all yields every entry.
func (t *seriesTable) all() iter.Seq[seriesEntry] {
	return func(yield func(seriesEntry) bool) {
		for _, e := range t.sorted {
			if !yield(e) {
				return
			}
		}
		for _, e := range t.added {
			if !yield(e) {
				return
			}
		}
	}
}

// add puts in an entry read from the spool, as the last cycle's.
func (t *seriesTable) add(e seriesEntry) { t.added = append(t.added, e) }

// see records that this cycle sent series ls, whose hash is h, of kind k.
func (t *seriesTable) see(h uint64, ls labels.Labels, k histKind) {
	if e := t.find(h); e != nil {
		if e.kind != k {
			t.changed = true
		}
		e.gen, e.kind = t.gen, k
		return
	}
	t.changed = true
	if n := len(t.added); n > 0 && t.added[n-1].h == h {
		t.added[n-1].kind = k // the next sample of the series just added
		return
	}
	t.added = append(t.added, seriesEntry{h: h, ls: ls, gen: t.gen, kind: k})
}

// sweep ends the cycle: each series the last cycle sent and this one did
// not leaves the table, and gone is called with it.
func (t *seriesTable) sweep(gone func(e seriesEntry)) {
	kept := t.sorted[:0]
	for _, e := range t.sorted {
		if e.gen == t.gen {
			kept = append(kept, e)
			continue
		}
		t.changed = true
		gone(e)
	}
	if len(kept) < len(t.sorted) {
		clear(t.sorted[len(kept):]) // drop the labels
		t.sorted = kept
		t.reindex()
	}
	// added holds this cycle's series only: start merged the last ones.
}

// beginCycle returns the series table with a new cycle started. A new
// process starts from the spool's copy: the last cycle may have been
// another run's.
func (c *Client) beginCycle() *seriesTable {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.series == nil {
		c.series = c.loadSeries()
	}
	c.series.start()
	return c.series
}

// endCycle keeps the swept table of a cycle in the spool when it changed;
// a steady set (most cycles) is on disk already.
func (c *Client) endCycle(t *seriesTable) {
	if t.changed {
		c.saveSeries(t)
	}
}
