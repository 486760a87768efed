package pushgateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// These tests run against the real Debian prometheus-pushgateway (1.5.1),
// one process for the whole test, wiped between subtests.

func TestE2EPushgateway(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)

	t.Run("PUT replaces the group, POST replaces only the names pushed", func(t *testing.T) {
		for _, tt := range []struct {
			method   string
			wantGone bool
		}{{"put", true}, {"post", false}} {
			pgw.Wipe(t)
			c, _ := newTestClient(t, pgw.URL, func(c *config.PushgatewayConfig) { c.Method = tt.method })
			deliver(t, c, metric.Group{Collector: "k8s", Up: true, Families: []metric.Family{gauge("a", 1, "job", "liftpush"), gauge("b", 2, "job", "liftpush")}})
			deliver(t, c, metric.Group{Collector: "k8s", Up: true, Families: []metric.Family{gauge("a", 10, "job", "liftpush")}})
			g := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "k8s"})
			if v, _ := g.Value("a", nil); v != 10 {
				t.Errorf("%s: a = %g, want 10", tt.method, v)
			}
			_, hasB := g.Families["b"]
			if hasB == tt.wantGone {
				t.Errorf("%s: b present = %v, want %v", tt.method, hasB, !tt.wantGone)
			}
		}
	})

	t.Run("label values with a slash and empty ones round-trip", func(t *testing.T) {
		pgw.Wipe(t)
		c, _ := newTestClient(t, pgw.URL, func(c *config.PushgatewayConfig) {
			c.Grouping = map[string]string{"team": "team/infra"}
		})
		deliver(t, c, metric.Group{Collector: "scrape/files", Up: true, Families: []metric.Family{
			gauge("x", 1, "job", "files", "instance", "/var/lib/x.prom", "path", "a/b"),
		}})
		g := pgw.Group(t, map[string]string{"job": "files", "instance": "/var/lib/x.prom", "team": "team/infra"})
		if v, ok := g.Value("x", map[string]string{"path": "a/b"}); !ok || v != 1 {
			t.Errorf("x{path=a/b} = %g, %v; group %v", v, ok, g.Families["x"])
		}
		pgw.Group(t, map[string]string{"job": "liftpush", "collector": "scrape/files", "team": "team/infra"})
		// An empty grouping value cannot come from the config (validation
		// refuses it) but the path encoding handles it.
		key := c.targetKey("odd job", "")
		if err := c.do(t.Context(), http.MethodPut, groupPath(key), contentType["text"], []byte("y 2\n"), 0); err != nil {
			t.Fatal(err)
		}
		g = pgw.Group(t, map[string]string{"job": "odd job", "instance": "", "team": "team/infra"})
		if v, _ := g.Value("y", nil); v != 2 {
			t.Errorf("y = %g, want 2", v)
		}
	})

	t.Run("a failing collector keeps its last values and the other groups, only up changes", func(t *testing.T) {
		pgw.Wipe(t)
		c, _ := newTestClient(t, pgw.URL, nil)
		ok := func(name string, v float64) metric.Group {
			return metric.Group{Collector: name, Up: true, Families: []metric.Family{gauge(name+"_value", v, "job", "liftpush")}, Self: selfMetrics(name, true, 1000)}
		}
		deliver(t, c, ok("spacelift", 1), ok("kubernetes", 1))
		before := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "kubernetes"})
		time.Sleep(20 * time.Millisecond) // push_time_seconds must be able to move
		rep := deliver(t, c, ok("spacelift", 2), metric.Group{Collector: "kubernetes", Up: false,
			Families: []metric.Family{gauge("kubernetes_value", 99, "job", "liftpush")}, // partial, must not land
			Self:     selfMetrics("kubernetes", false, 0),
		})
		if diff := cmp.Diff(map[string]int{"collector_failed": 1}, rep.Dropped); diff != "" {
			t.Errorf("dropped (-want +got):\n%s", diff)
		}
		sl := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "spacelift"})
		k8s := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "kubernetes"})
		got := map[string]float64{}
		for _, q := range []struct{ g, name string }{{"spacelift", "spacelift_value"}, {"kubernetes", "kubernetes_value"}, {"kubernetes", "liftpush_collector_up"}, {"kubernetes", "liftpush_last_success_timestamp_seconds"}} {
			g := sl
			if q.g == "kubernetes" {
				g = k8s
			}
			got[q.g+"/"+q.name], _ = g.Value(q.name, nil)
		}
		want := map[string]float64{
			"spacelift/spacelift_value":                          2,
			"kubernetes/kubernetes_value":                        1, // last good value
			"kubernetes/liftpush_collector_up":                   0,
			"kubernetes/liftpush_last_success_timestamp_seconds": 1000,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("values (-want +got):\n%s", diff)
		}
		if k8s.PushTime() <= before.PushTime() {
			t.Errorf("push_time_seconds of the failed collector did not advance: %g -> %g", before.PushTime(), k8s.PushTime())
		}
	})

	t.Run("push_time_seconds advances per group", func(t *testing.T) {
		pgw.Wipe(t)
		c, _ := newTestClient(t, pgw.URL, nil)
		deliver(t, c, metric.Group{Collector: "a", Up: true}, metric.Group{Collector: "b", Up: true})
		a1 := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "a"}).PushTime()
		b1 := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "b"}).PushTime()
		time.Sleep(20 * time.Millisecond)
		deliver(t, c, metric.Group{Collector: "a", Up: true})
		a2 := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "a"}).PushTime()
		b2 := pgw.Group(t, map[string]string{"job": "liftpush", "collector": "b"}).PushTime()
		if a1 == 0 || a2 <= a1 {
			t.Errorf("group a: push_time_seconds %g -> %g, want it to advance", a1, a2)
		}
		if b2 != b1 {
			t.Errorf("group b was not pushed, yet push_time_seconds moved %g -> %g", b1, b2)
		}
	})

	t.Run("a type conflict is answered 400, logged with the gateway's message, not retried", func(t *testing.T) {
		pgw.Wipe(t)
		c, logs := newTestClient(t, pgw.URL, nil)
		deliver(t, c, metric.Group{Collector: "a", Up: true, Families: []metric.Family{gauge("shared", 1, "job", "liftpush")}})
		counter := gauge("shared", 2, "job", "liftpush")
		counter.Type = "counter"
		rep := pushtest.Deliver(t.Context(), c, push.Options{}, []metric.Group{{Collector: "b", Up: true, Families: []metric.Family{counter}}})
		if diff := cmp.Diff(map[string]int{"http_400": 1}, rep.Dropped); diff != "" {
			t.Errorf("dropped (-want +got):\n%s", diff)
		}
		if rep.Retried != 0 {
			t.Errorf("retried %d samples, want none", rep.Retried)
		}
		for _, want := range []string{"pushgateway rejected the group, not retried", "status=400", "inconsistent with existing metrics", "shared", "is not a "} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
	})

	t.Run("text and protobuf bodies store the same thing", func(t *testing.T) {
		var expositions []string
		for _, format := range []string{config.FormatText, config.FormatProtobuf} {
			pgw.Wipe(t)
			c, _ := newTestClient(t, pgw.URL, func(c *config.PushgatewayConfig) { c.Format = format })
			deliver(t, c, metric.Group{Collector: "scrape/chainloop", Up: true, Families: chainloopFamilies("cp:443")})
			var kept []string
			for _, line := range strings.Split(pgw.Exposition(t), "\n") {
				if strings.HasPrefix(line, "chainloop_") || strings.HasPrefix(line, "# TYPE chainloop_") {
					kept = append(kept, line)
				}
			}
			expositions = append(expositions, strings.Join(kept, "\n"))
		}
		if !strings.Contains(expositions[0], `chainloop_workflow_run_duration_seconds_bucket{instance="cp:443",job="chainloop",org="acme",runner="github",status="success",workflow="build",le="10"} 1`) {
			t.Errorf("histogram bucket missing:\n%s", expositions[0])
		}
		if diff := cmp.Diff(expositions[0], expositions[1]); diff != "" {
			t.Errorf("stored series (-text +protobuf):\n%s", diff)
		}
	})

	t.Run("delete_on_shutdown deletes the pushed groups", func(t *testing.T) {
		pgw.Wipe(t)
		c, _ := newTestClient(t, pgw.URL, func(c *config.PushgatewayConfig) { c.DeleteOnShutdown = true })
		deliver(t, c, metric.Group{Collector: "scrape/chainloop", Up: true, Families: chainloopFamilies("cp:443")}, metric.Group{Up: true, Self: []metric.Family{gauge("liftpush_build_info", 1, "job", "liftpush")}})
		if n := len(pgw.Groups(t)); n != 3 {
			t.Fatalf("%d groups before Close, want 3", n)
		}
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if groups := pgw.GroupsAfterDelete(t); len(groups) != 0 {
			t.Errorf("groups left after Close: %v", groups)
		}
	})
}

func deliver(t *testing.T, c *Client, groups ...metric.Group) (rep pushReport) {
	t.Helper()
	r := pushtest.Deliver(t.Context(), c, push.Options{}, groups)
	if r.Err != nil && r.Dropped["collector_failed"] != r.DroppedTotal() {
		t.Fatalf("deliver: %v (dropped %v)", r.Err, r.Dropped)
	}
	return r
}
