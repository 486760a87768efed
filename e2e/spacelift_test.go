package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2ESpacelift runs `liftpush run --once` against the fake Spacelift
// with the demo account, pushes into a real Prometheus, and runs the seeds'
// alert and autoscaling queries and every panel query of Spacelift's example
// dashboard on what arrived. The stack listing is on (spacelift.stacks), so
// the queue ages and stack states arrive beside the 19 series of Spacelift's
// exporter, which must not change.
func TestE2ESpacelift(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	fake := startSpaceliftDemo(t)
	secret := tempFile(t, "secret", "demo-secret\n")
	cfg := tempFile(t, "liftpush.yml", `
global:
  external_labels: {cluster: edge-1}
spacelift:
  insecure_http: true
  stacks: true
remote_write:
  - url: `+prom.WriteURL()+`
`)
	// The promex variable names, as a Kubernetes Secret made for Spacelift's
	// exporter would set them.
	env := []string{
		"SPACELIFT_PROMEX_API_ENDPOINT=" + fake.URL,
		"SPACELIFT_PROMEX_API_KEY_ID=demo",
		"SPACELIFT_PROMEX_API_KEY_SECRET_FILE=" + secret,
	}
	before := time.Now()
	res := testinfra.Run(t, env, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	// The fake answers the billing period around its clock; a month that
	// turns during the run gives either.
	periodStart, periodEnd := spacelifttest.BillingPeriod(before)
	if s, e := spacelifttest.BillingPeriod(time.Now()); s != periodStart && prom.Value(t, `max(spacelift_current_billing_period_start_timestamp_seconds)`) == float64(s.Unix()) {
		periodStart, periodEnd = s, e
	}
	if strings.Contains(res.Stderr, "demo-secret") {
		t.Errorf("the secret appears in the logs")
	}
	// One exchange, the combined query, and three pages of 50 stacks.
	if s := fake.Stats(); s.Exchanges != 1 || s.Queries != 4 || s.StackSearches != 3 {
		t.Errorf("exchanges=%d queries=%d stack searches=%d, want 1, 1+3 and 3 in a one-shot run with stacks: true", s.Exchanges, s.Queries, s.StackSearches)
	}

	const (
		prod    = `worker_pool_id="01HQZX9K7P2M3N4Q5R6S7T8U9V",worker_pool_name="production"`
		staging = `worker_pool_id="01HQZXA1B2C3D4E5F6G7H8J9K0",worker_pool_name="staging"`
		edge    = `worker_pool_id="01HR0B2C3D4E5F6G7H8J9K0M1N",worker_pool_name="edge/eu-west \"spot\" ☁"`
	)
	vector := func(q string) []string {
		t.Helper()
		return series(prom.Query(t, q))
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// Seed 000: alerts.
		{`max(spacelift_worker_pool_workers) by (worker_pool_id, worker_pool_name) <= 0`, []string{edge + " 0"}},
		{`max(spacelift_worker_pool_runs_pending) by (worker_pool_id, worker_pool_name) >= 10`, []string{prod + " 12"}},
		{`max_over_time(spacelift_worker_pool_runs_pending{worker_pool_name="production"}[5m])`,
			[]string{`cluster="edge-1",job="liftpush",` + prod + " 12"}},
		// Seed 000: prometheus-adapter's utilization.
		{`max(spacelift_worker_pool_workers_busy) by (worker_pool_id, worker_pool_name) / max(spacelift_worker_pool_workers) by (worker_pool_id, worker_pool_name)`,
			[]string{edge + " NaN", prod + " 0.6666666666666666", staging + " 0.3333333333333333"}},
		// promex's example dashboard.
		{`max(spacelift_current_billing_period_start_timestamp_seconds) * 1000`, []string{" " + promFloat(periodStart.UnixMilli())}},
		{`max(spacelift_current_billing_period_end_timestamp_seconds) * 1000`, []string{" " + promFloat(periodEnd.UnixMilli())}},
		{`max(spacelift_current_billing_period_used_public_seconds) / 60`, []string{" 678"}},
		{`max(spacelift_current_billing_period_used_private_seconds) / 60`, []string{" 12345"}},
		{`max(spacelift_current_billing_period_used_seats)`, []string{" 42"}},
		{`max(spacelift_current_billing_period_used_private_workers)`, []string{" 7"}},
		{`max(spacelift_public_worker_pool_parallelism)`, []string{" 10"}},
		{`max(spacelift_public_worker_pool_workers_busy)`, []string{" 3"}},
		{`max(spacelift_public_worker_pool_runs_pending)`, []string{" 2"}},
		{`max(spacelift_worker_pool_workers_busy) by (worker_pool_id, worker_pool_name) > 0`, []string{prod + " 4", staging + " 1"}},
		{`max(spacelift_worker_pool_runs_pending) by (worker_pool_id, worker_pool_name) > 0`, []string{edge + " 3", prod + " 12"}},
		{`max(spacelift_worker_pool_workers) by (worker_pool_id, worker_pool_name)`, []string{edge + " 0", prod + " 6", staging + " 3"}},
		{`max(spacelift_worker_pool_workers_drained) by (worker_pool_id, worker_pool_name)`, []string{edge + " 0", prod + " 1", staging + " 0"}},
		// Aggregates, self-metrics and the target labels: job, no instance.
		{`spacelift_current_stacks_count_by_state`, []string{
			`__name__="spacelift_current_stacks_count_by_state",cluster="edge-1",job="liftpush",state="FAILED" 7`,
			`__name__="spacelift_current_stacks_count_by_state",cluster="edge-1",job="liftpush",state="FINISHED" 128`,
			`__name__="spacelift_current_stacks_count_by_state",cluster="edge-1",job="liftpush",state="UNCONFIRMED" 3`,
		}},
		{`liftpush_collector_up{collector="spacelift"}`, []string{`__name__="liftpush_collector_up",cluster="edge-1",collector="spacelift",job="liftpush" 1`}},
		{`count({__name__=~"spacelift_.+",instance!=""})`, []string{}},
		// Issue 13: the queue's age (the earliest createdAt, not position
		// 1; no series for staging's empty queue) and the stack states.
		{`max(spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds) by (worker_pool_id, worker_pool_name)`,
			[]string{edge + " 1.7957772e+09", prod + " 1.795779e+09"}},
		{`max(spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds)`, []string{" 1.7957814e+09"}},
		{`count by (state) (spacelift_stack_state == 1)`, []string{`state="FAILED" 7`, `state="FINISHED" 128`, `state="UNCONFIRMED" 3`}},
		{`spacelift_stack_state{stack_id=~"infra-network-core|payments-api|zurich-tokyo"}`, []string{
			`__name__="spacelift_stack_state",cluster="edge-1",job="liftpush",space="edge",stack_id="zurich-tokyo",stack_name="Zürich 東京 🚀",state="UNCONFIRMED" 1`,
			`__name__="spacelift_stack_state",cluster="edge-1",job="liftpush",space="root",stack_id="infra-network-core",stack_name="infra/network \"core\" ☁",state="FINISHED" 1`,
			`__name__="spacelift_stack_state",cluster="edge-1",job="liftpush",space="team/payments",stack_id="payments-api",stack_name="payments/api",state="FAILED" 1`,
		}},
		// The series per name: the 19 of Spacelift's exporter as before,
		// then liftpush's extras.
		{`count by (__name__) ({__name__=~"spacelift_.+"})`, []string{
			`__name__="spacelift_build_info" 1`,
			`__name__="spacelift_current_average_run_duration" 1`,
			`__name__="spacelift_current_avg_stack_size_by_resource_count" 1`,
			`__name__="spacelift_current_billing_period_end_timestamp_seconds" 1`,
			`__name__="spacelift_current_billing_period_start_timestamp_seconds" 1`,
			`__name__="spacelift_current_billing_period_used_private_seconds" 1`,
			`__name__="spacelift_current_billing_period_used_public_seconds" 1`,
			`__name__="spacelift_current_billing_period_used_seats" 1`,
			`__name__="spacelift_current_median_run_duration" 1`,
			`__name__="spacelift_current_resources_count_by_drift" 2`,
			`__name__="spacelift_current_stacks_count_by_state" 3`,
			`__name__="spacelift_public_worker_pool_parallelism" 1`,
			`__name__="spacelift_public_worker_pool_runs_pending" 1`,
			`__name__="spacelift_public_worker_pool_workers_busy" 1`,
			`__name__="spacelift_scrape_duration_seconds" 1`,
			`__name__="spacelift_worker_pool_runs_pending" 3`,
			`__name__="spacelift_worker_pool_workers" 3`,
			`__name__="spacelift_worker_pool_workers_busy" 3`,
			`__name__="spacelift_worker_pool_workers_drained" 3`,
			// Extras.
			`__name__="spacelift_current_billing_period_allowed_seats" 1`,
			`__name__="spacelift_current_billing_period_allowed_seconds" 1`,
			`__name__="spacelift_current_billing_period_used_private_workers" 1`,
			`__name__="spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds" 1`,
			`__name__="spacelift_public_worker_pool_schedulable_runs" 1`,
			`__name__="spacelift_stack_state" 138`,
			`__name__="spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds" 2`,
			`__name__="spacelift_worker_pool_schedulable_runs" 3`,
			`__name__="spacelift_worker_pool_workers_idle" 3`,
		}},
	} {
		sort.Strings(tc.want)
		if diff := cmp.Diff(tc.want, vector(tc.query)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
	// The dashboard's countdown is relative to now.
	left := prom.Value(t, `clamp_min(max(spacelift_current_billing_period_end_timestamp_seconds) - time(), 0)`)
	if want := time.Until(periodEnd).Seconds(); left <= 0 || left > want+120 {
		t.Errorf("time until usage resets = %g, want about max(%g, 0)", left, want)
	}
}

// TestE2ESpaceliftInvalidKey: a wrong secret fails the Spacelift collector
// with a clear message and exit 1, and nothing else is lost: the other
// collector's series and the self-metrics still arrive.
func TestE2ESpaceliftInvalidKey(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	fake := startSpaceliftDemo(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("other_up 1\n"))
	}))
	defer target.Close()
	cfg := tempFile(t, "liftpush.yml", `
`+spaceliftBlock(t, fake.URL, "not-the-secret")+`
scrape_configs:
  - job_name: other
    static_configs: [{targets: ["`+strings.TrimPrefix(target.URL, "http://")+`"]}]
remote_write:
  - url: `+prom.WriteURL()+`
`)
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	if res.ExitCode != 1 {
		t.Fatalf("exit code %d, want 1", res.ExitCode)
	}
	if !strings.Contains(res.Stderr, "invalid API key ID or secret") || strings.Contains(res.Stderr, "not-the-secret") {
		t.Errorf("stderr lacks the reason or shows the secret:\n%s", res.Stderr)
	}
	if v := prom.Value(t, `other_up{job="other"}`); v != 1 {
		t.Errorf("other_up = %g, want 1", v)
	}
	if v := prom.Value(t, `liftpush_collector_up{collector="spacelift"}`); v != 0 {
		t.Errorf("liftpush_collector_up{collector=spacelift} = %g, want 0", v)
	}
	if got := prom.Query(t, `spacelift_worker_pool_runs_pending`); len(got) != 0 {
		t.Errorf("pool series without a token: %v", got)
	}
}

// promFloat formats v as series does.
func promFloat(v int64) string { return fmt.Sprintf("%g", float64(v)) }
