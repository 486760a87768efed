package spacelift

import (
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/prometheus/common/model"
)

func familyNames(fams []metric.Family) map[string]int {
	m := map[string]int{}
	for _, f := range fams {
		m[f.Name] = len(f.Samples)
	}
	return m
}

// A field error nulls its nullable parent (metrics) and nothing else: the
// rest is pushed, and the error names the message and the path.
func TestPartialFailure(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		e.srv.SetMode(spacelifttest.Mode{FieldErrors: map[string]string{"SpaceliftMetrics.stacksCountByState": "internal server error"}})
		fams, err := e.collect(t)
		if err == nil {
			t.Fatal("want an error for a partial answer")
		}
		for _, want := range []string{"internal server error", "metrics.stacksCountByState"} {
			if !strings.Contains(err.Error(), want) || !strings.Contains(e.logs.String(), want) {
				t.Errorf("error or logs lack %q: %v\n%s", want, err, e.logs)
			}
		}
		got := familyNames(fams)
		if got["spacelift_worker_pool_runs_pending"] != 3 || got["spacelift_current_billing_period_used_seats"] != 1 {
			t.Errorf("partial answer lost data: %v", got)
		}
		if _, ok := got["spacelift_current_stacks_count_by_state"]; ok {
			t.Errorf("metrics should be missing: %v", got)
		}
	})
}

// Older self-hosted Spacelift refuses publicWorkerPool, usage and metrics to
// API keys. The worker-pool series must still come, without an error, and
// the log must say what is missing and why.
func TestMachineSessions(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		e.srv.SetMode(spacelifttest.Mode{MachineSessions: true})
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		got := familyNames(fams)
		for _, name := range []string{"spacelift_worker_pool_runs_pending", "spacelift_worker_pool_workers", "spacelift_worker_pool_workers_idle"} {
			if got[name] != 3 {
				t.Errorf("%s: %d samples, want 3", name, got[name])
			}
		}
		for name := range got {
			if strings.HasPrefix(name, "spacelift_public_") || strings.HasPrefix(name, "spacelift_current_") {
				t.Errorf("%s should be missing", name)
			}
		}
		logs := e.logs.String()
		for _, want := range []string{"not available for machine sessions", "spacelift_current_billing_period_*", "fields=publicWorkerPool,usage,metrics"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q:\n%s", want, logs)
			}
		}
		// One combined try, then one document per root; later cycles go
		// straight to the per-root documents.
		if n := len(e.srv.Stats().Documents); n != 1+4+1 {
			t.Errorf("%d documents on the first cycle, want 6 (token, combined, 4 roots)", n)
		}
		if _, err := e.collect(t); err != nil {
			t.Fatal(err)
		}
		if n := len(e.srv.Stats().Documents); n != 6+4 {
			t.Errorf("%d documents after the second cycle, want 10", n)
		}
		if r := e.srv.Stats().Rejected; r != 0 {
			t.Errorf("%d per-root documents rejected by the schema", r)
		}
		// An hour later, Spacelift was upgraded: the combined document is
		// tried again and sticks.
		e.srv.SetMode(spacelifttest.Mode{})
		time.Sleep(time.Hour)
		fams, err = e.collect(t)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(e.srv.Stats().Documents); n != 10+2 {
			t.Errorf("%d documents after the upgrade, want 12 (token, combined)", n)
		}
		if got := familyNames(fams)["spacelift_current_billing_period_used_seats"]; got != 1 {
			t.Errorf("usage still missing after the upgrade")
		}
	})
}

// An API that does not know an extra field rejects the whole document; the
// core series still come, and the extras are not asked for again.
func TestExtrasUnknownToAPI(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		e.srv.SetMode(spacelifttest.Mode{HiddenFields: []string{"WorkerPool.schedulableRunsCount", "Usage.allowedSeats"}})
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		got := familyNames(fams)
		if got["spacelift_worker_pool_runs_pending"] != 3 || got["spacelift_current_billing_period_used_seats"] != 1 {
			t.Errorf("core series missing: %v", got)
		}
		for _, name := range extraSeries {
			if _, ok := got[name]; ok {
				t.Errorf("extra %s present although the API rejected the extras", name)
			}
		}
		if !strings.Contains(e.logs.String(), "rejects liftpush's extra fields") {
			t.Errorf("no log line about the extras:\n%s", e.logs)
		}
		before := e.srv.Stats().Rejected
		if _, err := e.collect(t); err != nil {
			t.Fatal(err)
		}
		if s := e.srv.Stats(); s.Rejected != before {
			t.Errorf("the rejected extras were asked for again")
		}
	})
}

func TestServerError(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		mustCollect(t, e) // a token is cached; the outage comes later
		e.srv.SetMode(spacelifttest.Mode{Status: 503})
		fams, err := e.collect(t)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("err = %v, want one naming the 503", err)
		}
		if len(fams) != 2 {
			t.Errorf("%d families, want only scrape duration and build info", len(fams))
		}
	})
}

func TestSlowAPI(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", func(_ *spacelifttest.Options, c *config.SpaceliftConfig) {
			c.Timeout = model.Duration(50 * time.Millisecond)
		})
		e.srv.SetMode(spacelifttest.Mode{Delay: 10 * time.Second})
		start := time.Now()
		_, err := e.collect(t)
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v, want a deadline", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("Collect took %s; the timeout is 50ms", d)
		}
	})
}

// The fake must reject what the schema does not allow, or the tests above
// would prove nothing about the real API.
func TestFakeRejectsInvalidQueries(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		mustCollect(t, e)
		for _, doc := range e.srv.Stats().Documents {
			if strings.Contains(doc, "apiKeyUser") {
				continue
			}
			if !strings.Contains(doc, "workerPools") {
				t.Errorf("unexpected document %s", doc)
			}
		}
		if e.srv.Stats().Rejected != 0 {
			t.Errorf("the collector sent a document the schema rejects")
		}
	})
}
