package remotewrite

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// cycle runs one cycle of t over series, returning the names swept out and
// whether the table changed.
func cycle(t *seriesTable, kinds map[string]histKind, series ...string) (gone []string, changed bool) {
	t.gen++
	t.before, t.changed = len(t.m), false
	for _, s := range series {
		ls := labels.FromStrings("__name__", s)
		t.see(ls.Hash(), ls, kinds[s])
	}
	t.sweep(func(_ uint64, e seriesEntry) { gone = append(gone, e.ls.Get("__name__")) })
	slices.Sort(gone)
	return gone, t.changed
}

func TestSeriesTable(t *testing.T) {
	tab := newSeriesTable()
	steps := []struct {
		series      []string
		kinds       map[string]histKind
		wantGone    []string
		wantChanged bool
	}{
		{series: []string{"a", "b"}, wantChanged: true},
		{series: []string{"a", "b", "b"}, wantChanged: false}, // two samples of b
		{series: []string{"b", "c"}, wantGone: []string{"a"}, wantChanged: true},
		{series: []string{"b", "c"}, kinds: map[string]histKind{"c": kindHistogram}, wantChanged: true},
		{series: []string{"b"}, wantGone: []string{"c"}, wantChanged: true},
		{series: nil, wantGone: []string{"b"}, wantChanged: true},
		{series: nil, wantChanged: false},
	}
	for i, s := range steps {
		gone, changed := cycle(tab, s.kinds, s.series...)
		if !slices.Equal(gone, s.wantGone) || changed != s.wantChanged {
			t.Errorf("cycle %d %v: gone %v changed %v, want %v %v", i+1, s.series, gone, changed, s.wantGone, s.wantChanged)
		}
	}
	// The kind of a swept series is what its stale marker needs.
	tab = newSeriesTable()
	cycle(tab, map[string]histKind{"h": kindFloatHistogram}, "h")
	tab.gen++
	var kind histKind
	tab.sweep(func(_ uint64, e seriesEntry) { kind = e.kind })
	if kind != kindFloatHistogram {
		t.Errorf("swept kind %d, want float histogram", kind)
	}
}

// TestSeriesTableKeepsFirstLabels: a series seen again keeps the labels of
// the cycle that first sent it, so a collector that builds labels anew
// each cycle leaves them to the garbage collector, and a steady cycle
// allocates nothing.
func TestSeriesTableKeepsFirstLabels(t *testing.T) {
	tab := newSeriesTable()
	first := labels.FromStrings("__name__", "up", "job", "app")
	h := first.Hash()
	tab.gen++
	tab.see(h, first, kindFloat)
	again := labels.NewBuilder(labels.FromStrings("__name__", "up")).Set("job", "app").Labels()
	tab.gen++
	tab.see(h, again, kindFloat)
	// Get returns a part of the labels' own memory: the same pointer is
	// the same copy.
	if got := tab.m[h].ls; unsafe.StringData(got.Get("job")) != unsafe.StringData(first.Get("job")) {
		t.Errorf("entry holds %s; want the first cycle's labels", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		tab.gen++
		tab.see(h, again, kindFloat)
	}); n != 0 {
		t.Errorf("a steady cycle allocates %.0f times, want 0", n)
	}
}
