package spacelift

import (
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// sampleValues maps a family's samples to their values, keyed by one label.
func sampleValues(fams []metric.Family, name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, f := range fams {
		if f.Name != name {
			continue
		}
		for _, s := range f.Samples {
			out[s.Labels.Get(label)] = s.Value
		}
	}
	return out
}

// The queue's age comes from the same single query. In the demo fixture the
// production pool's run at position 1 is a priority run created after the
// one at position 2: the earliest createdAt wins, not position 1. Staging's
// queue is empty and gives no series, not 0.
func TestOldestSchedulableRun(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		got := sampleValues(fams, "spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds", "worker_pool_name")
		want := map[string]float64{"production": 1795779000, `edge/eu-west "spot" ☁`: 1795777200}
		if len(got) != len(want) {
			t.Errorf("series for %v, want only %v (no series for staging's empty queue)", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %v, want %v", k, got[k], v)
			}
		}
		if pub := sampleValues(fams, "spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds", ""); pub[""] != 1795781400 {
			t.Errorf("public pool: %v, want 1795781400", pub)
		}
		docs := e.srv.Stats().Documents
		if len(docs) != 2 || strings.Count(docs[1], "searchSchedulableRuns") != 2 || !strings.Contains(docs[1], "workerPools") {
			t.Errorf("want one exchange and one combined query asking both queues, got %q", docs)
		}
		if !strings.Contains(docs[1], `first: 50`) || !strings.Contains(docs[1], `orderBy: {field: "position", direction: "ASC"}`) {
			t.Errorf("queue page not first: 50 by position: %s", docs[1])
		}
	})
}

// An API that does not know searchSchedulableRuns rejects the document:
// the collector asks again without the extras, and says once which series
// are missing, the new ones among them.
func TestOldestSchedulableRunRejected(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		e.srv.SetMode(spacelifttest.Mode{HiddenFields: []string{"WorkerPool.searchSchedulableRuns"}})
		for range 2 {
			fams, err := e.collect(t)
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			got := familyNames(fams)
			if got["spacelift_worker_pool_runs_pending"] != 3 {
				t.Errorf("pool series lost: %v", got)
			}
			if _, ok := got["spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds"]; ok {
				t.Errorf("oldest-run series from an API that rejects the field")
			}
		}
		logs := e.logs.String()
		if n := strings.Count(logs, "rejects liftpush's extra fields"); n != 1 {
			t.Errorf("fallback logged %d times, want once:\n%s", n, logs)
		}
		for _, name := range []string{"spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds", "spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds"} {
			if !strings.Contains(logs, name) {
				t.Errorf("log does not name %s as missing", name)
			}
		}
		// Cycle 1: rejected + core; cycle 2: core only.
		if s := e.srv.Stats(); s.Queries != 2 || s.Rejected != 1 {
			t.Errorf("queries=%d rejected=%d, want 2 and 1", s.Queries, s.Rejected)
		}
	})
}

func withStacks(_ *spacelifttest.Options, c *config.SpaceliftConfig) { c.Stacks = true }

// The request budget, counted at the fake: one GraphQL query per cycle plus
// the token exchange when one is due; with stacks: true one more per page of
// 50 stacks (the demo account has 138: three pages). Without it no stack
// search is sent.
func TestRequestsPerCycle(t *testing.T) {
	for _, tc := range []struct {
		name           string
		opts           []envOption
		perCycle       int
		stackSearches  int
		stackSeriesLen int
	}{
		{name: "default", perCycle: 1},
		{name: "stacks", opts: []envOption{withStacks}, perCycle: 1 + 3, stackSearches: 3, stackSeriesLen: 138},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				e := newEnv(t, "demo", tc.opts...)
				for cycle := 1; cycle <= 3; cycle++ {
					fams, err := e.collect(t)
					if err != nil {
						t.Fatalf("cycle %d: %v", cycle, err)
					}
					if got := familyNames(fams)["spacelift_stack_state"]; got != tc.stackSeriesLen {
						t.Errorf("cycle %d: %d stack series, want %d", cycle, got, tc.stackSeriesLen)
					}
					s := e.srv.Stats()
					if s.Queries != cycle*tc.perCycle || s.StackSearches != cycle*tc.stackSearches {
						t.Errorf("after cycle %d: %d queries, %d stack searches; want %d and %d", cycle, s.Queries, s.StackSearches, cycle*tc.perCycle, cycle*tc.stackSearches)
					}
					// The token lives an hour: exchanged in cycle 1, and again
					// in cycle 3 after the clock passed its expiry.
					wantEx := 1
					if cycle == 3 {
						wantEx = 2
					}
					if s.Exchanges != wantEx {
						t.Errorf("after cycle %d: %d exchanges, want %d", cycle, s.Exchanges, wantEx)
					}
					if tc.stackSearches == 0 {
						for _, d := range s.Documents {
							if strings.Contains(d, "searchStacks") {
								t.Errorf("a stack search without stacks: true: %s", d)
							}
						}
					}
					if cycle == 2 {
						time.Sleep(time.Hour)
					} else {
						time.Sleep(time.Minute)
					}
				}
			})
		})
	}
}
