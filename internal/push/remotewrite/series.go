package remotewrite

import "github.com/prometheus/prometheus/model/labels"

// seriesTable is the data series a destination delivered, after
// relabelling, for the stale markers of the next cycle. It is one table kept
// across cycles, each entry stamped with the last cycle that sent it,
// rather than a map built each cycle: a daemon at 100,000 Deployments
// (600,000 series) held two such maps at once, 40 MiB, and threw one away
// every cycle. An entry also keeps the labels of the cycle that first sent
// the series, so a collector that builds its labels anew each cycle (a
// scrape) leaves them all to the garbage collector.
//
// Only a cycle's writer uses it, between Client.beginCycle and
// Client.endCycle; the pipeline runs one cycle at a time.
type seriesTable struct {
	m map[uint64]seriesEntry
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
	ls   labels.Labels
	gen  uint32
	kind histKind
}

func newSeriesTable() *seriesTable { return &seriesTable{m: map[uint64]seriesEntry{}} }

// see records that this cycle sent series ls, whose hash is h, of kind k.
func (t *seriesTable) see(h uint64, ls labels.Labels, k histKind) {
	e, ok := t.m[h]
	switch {
	case !ok:
		t.changed = true
		e.ls = ls
	case e.gen == t.gen && e.kind == k:
		return // another sample of it this cycle
	case e.kind != k:
		t.changed = true
	}
	e.gen, e.kind = t.gen, k
	t.m[h] = e
}

// sweep ends the cycle: each series the last cycle sent and this one did
// not leaves the table, and gone is called with it.
func (t *seriesTable) sweep(gone func(h uint64, e seriesEntry)) {
	for h, e := range t.m {
		if e.gen != t.gen {
			delete(t.m, h)
			t.changed = true
			gone(h, e)
		}
	}
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
	t := c.series
	t.gen++
	t.before, t.changed = len(t.m), false
	return t
}

// endCycle keeps the swept table of a cycle in the spool when it changed;
// a steady set (most cycles) is on disk already.
func (c *Client) endCycle(t *seriesTable) {
	if t.changed {
		c.saveSeries(t)
	}
}
