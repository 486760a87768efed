package spacelift

import (
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/metric"
)

// stackIDs counts the spacelift_stack_state series per stack_id.
func stackIDs(t *testing.T, fams []metric.Family) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, f := range fams {
		if f.Name != "spacelift_stack_state" {
			continue
		}
		for _, s := range f.Samples {
			if s.Value != 1 {
				t.Errorf("%s = %g, want 1", s.Labels, s.Value)
			}
			ids[s.Labels.Get("stack_id")]++
		}
	}
	return ids
}

func onlyOnce(t *testing.T, ids map[string]int) {
	t.Helper()
	for id, n := range ids {
		if n != 1 {
			t.Errorf("stack %s: %d series, want 1", id, n)
		}
	}
}

// The demo account's 138 stacks come over three pages, each exactly once;
// the golden holds the names with "/", quotes and unicode.
func TestGoldenStacks(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withStacks)
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		golden(t, "demo-stacks", render(t, fams))
		ids := stackIDs(t, fams)
		if len(ids) != 138 {
			t.Errorf("%d stacks, want 138", len(ids))
		}
		onlyOnce(t, ids)
		s := e.srv.Stats()
		if s.StackSearches != 3 {
			t.Errorf("%d stack pages, want 3", s.StackSearches)
		}
		// Pages two and three follow the previous page's endCursor.
		var after []string
		for _, d := range s.Documents {
			if strings.Contains(d, "searchStacks") {
				after = append(after, d)
			}
		}
		if len(after) != 3 || !strings.Contains(after[0], "$input:SearchInput!") {
			t.Errorf("stack documents: %q", after)
		}
	})
}

// A server that hands back the cursor it was given would loop the listing
// forever: the repeated cursor stops it, with a warning, after the stacks
// it did return, each once.
func TestStacksRepeatedCursor(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withStacks)
		e.srv.SetMode(spacelifttest.Mode{StuckStackCursor: true})
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		ids := stackIDs(t, fams)
		if len(ids) != 100 {
			t.Errorf("%d stacks, want the 100 of the first two pages", len(ids))
		}
		onlyOnce(t, ids)
		if got := e.srv.Stats().StackSearches; got != 2 {
			t.Errorf("%d stack pages, want 2", got)
		}
		if !strings.Contains(e.logs.String(), "stack cursor it had returned before") {
			t.Errorf("no warning about the repeated cursor:\n%s", e.logs)
		}
	})
}

// The listing stops at the page limit and says so.
func TestStacksPageLimit(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withStacks)
		e.c.maxStackPages = 2
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if ids := stackIDs(t, fams); len(ids) != 100 {
			t.Errorf("%d stacks, want 100", len(ids))
		}
		if got := e.srv.Stats().StackSearches; got != 2 {
			t.Errorf("%d stack pages, want 2", got)
		}
		if !strings.Contains(e.logs.String(), "page limit") {
			t.Errorf("no warning about the page limit:\n%s", e.logs)
		}
	})
}

// A failed listing makes the collector partial: an error, and the pool
// series kept.
func TestStacksFailureKeepsPools(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withStacks)
		e.srv.SetMode(spacelifttest.Mode{FieldErrors: map[string]string{"Query.searchStacks": "stack search timed out"}})
		fams, err := e.collect(t)
		if err == nil || !strings.Contains(err.Error(), "stack search timed out") || !strings.Contains(err.Error(), "searchStacks") {
			t.Fatalf("want the listing's error, got %v", err)
		}
		got := familyNames(fams)
		if got["spacelift_worker_pool_runs_pending"] != 3 || got["spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds"] != 2 {
			t.Errorf("pool series lost: %v", got)
		}
		if _, ok := got["spacelift_stack_state"]; ok {
			t.Errorf("stack series from a failed listing: %v", got)
		}
	})
}

// Without an answer to the main query, the listing is not attempted: it
// would fail the same way and exchange the key again.
func TestStacksSkippedWhenAPIDown(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withStacks)
		e.srv.SetMode(spacelifttest.Mode{Status: 503})
		if _, err := e.collect(t); err == nil {
			t.Fatal("want an error")
		}
		if got := e.srv.Stats().StackSearches; got != 0 {
			t.Errorf("%d stack searches against a failing API", got)
		}
	})
}
