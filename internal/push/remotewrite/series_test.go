package remotewrite

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// cycle runs one cycle of t over series, returning the names swept out and
// whether the table changed.
func cycle(t *seriesTable, kinds map[string]histKind, series ...string) (gone []string, changed bool) {
	t.start()
	for _, s := range series {
		ls := labels.FromStrings("__name__", s)
		t.see(ls.Hash(), ls, kinds[s])
	}
	t.sweep(func(e seriesEntry) { gone = append(gone, e.ls.Get("__name__")) })
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
	tab.start()
	var kind histKind
	tab.sweep(func(e seriesEntry) { kind = e.kind })
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
	tab.start()
	tab.see(h, first, kindFloat)
	again := labels.NewBuilder(labels.FromStrings("__name__", "up")).Set("job", "app").Labels()
	for range 2 { // seen again in the added map, then in the sorted slice
		tab.start()
		tab.see(h, again, kindFloat)
	}
	// Get returns a part of the labels' own memory: the same pointer is
	// the same copy.
	if got := tab.find(h).ls; unsafe.StringData(got.Get("job")) != unsafe.StringData(first.Get("job")) {
		t.Errorf("entry holds %s; want the first cycle's labels", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		tab.start()
		tab.see(h, again, kindFloat)
	}); n != 0 {
		t.Errorf("a steady cycle allocates %.0f times, want 0", n)
	}
}

// TestSeriesTableModel: over cycles of random churn, with series moving
// between the added map and the sorted slice, the table says what a map of
// the last cycle's series would: the same series gone, the same changes.
func TestSeriesTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	universe := make([]string, 3000)
	for i := range universe {
		universe[i] = fmt.Sprintf("s%d", i)
	}
	tab := newSeriesTable()
	last := map[string]histKind{}
	for c := range 200 {
		cur := map[string]histKind{}
		kinds := map[string]histKind{}
		var series []string
		keep := rng.Float64()
		for _, s := range universe {
			if rng.Float64() < keep {
				k := histKind(0)
				if rng.IntN(10) == 0 {
					k = kindHistogram
				}
				cur[s], kinds[s] = k, k
				series = append(series, s)
			}
		}
		// Some series are sent twice in a cycle (two samples).
		for _, s := range series {
			if rng.IntN(10) == 0 {
				series = append(series, s)
			}
		}
		rng.Shuffle(len(series), func(i, j int) { series[i], series[j] = series[j], series[i] })
		var wantGone []string
		wantChanged := len(cur) != len(last)
		for s, k := range last {
			if lk, ok := cur[s]; !ok {
				wantGone = append(wantGone, s)
			} else if lk != k {
				wantChanged = true
			}
		}
		wantChanged = wantChanged || len(wantGone) > 0
		slices.Sort(wantGone)
		gone, changed := cycle(tab, kinds, series...)
		tab.compactAdded()
		if !slices.Equal(gone, wantGone) || changed != wantChanged || tab.len() != len(cur) {
			t.Fatalf("cycle %d: gone %d, changed %v, len %d; want gone %d, changed %v, len %d",
				c, len(gone), changed, tab.len(), len(wantGone), wantChanged, len(cur))
		}
		last = cur
	}
}
