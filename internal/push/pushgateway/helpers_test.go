package pushgateway

import (
	"io"
	"log/slog"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// newTestClient builds a client for url from a validated config; mutate
// changes the entry before validation.
func newTestClient(t *testing.T, url string, mutate func(*config.PushgatewayConfig)) (*Client, *testinfra.SyncBuffer) {
	t.Helper()
	cfg, err := config.NewPushgateway(url)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(cfg)
	}
	global := config.GlobalConfig{Job: "liftpush", CycleTimeout: model.Duration(time.Minute)}
	cfg.SetDefaults(global)
	if err := cfg.Validate(global); err != nil {
		t.Fatal(err)
	}
	logs := &testinfra.SyncBuffer{}
	c, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// series builds labels from name and k, v pairs.
func series(name string, kv ...string) labels.Labels {
	return labels.FromStrings(append([]string{model.MetricNameLabel, name}, kv...)...)
}

func gauge(name string, v float64, kv ...string) metric.Family {
	return metric.Family{Name: name, Help: name + " help", Type: model.MetricTypeGauge, Samples: []metric.Sample{{Labels: series(name, kv...), Value: v}}}
}

// selfMetrics are the liftpush_collector_* series the pipeline adds.
func selfMetrics(collector string, up bool, lastSuccess float64) []metric.Family {
	v := 0.0
	if up {
		v = 1
	}
	fams := []metric.Family{
		gauge("liftpush_collector_up", v, "collector", collector, "job", "liftpush"),
		gauge("liftpush_collector_duration_seconds", 0.25, "collector", collector, "job", "liftpush"),
	}
	if lastSuccess > 0 {
		fams = append(fams, gauge("liftpush_last_success_timestamp_seconds", lastSuccess, "collector", collector, "job", "liftpush"))
	}
	return fams
}

// dtoFamily wraps the client_model message for decoding in tests.
type dtoFamily struct{ dto.MetricFamily }

type pushReport = push.Report

// chainloopFamilies is what Chainloop's /prom/<org>/metrics exposes, with
// the target labels a scrape adds.
func chainloopFamilies(instance string) []metric.Family {
	tl := []string{"job", "chainloop", "instance", instance, "org", "acme", "workflow", "build", "runner", "github"}
	h := metric.Family{Name: "chainloop_workflow_run_duration_seconds", Help: "Duration of workflow runs.", Type: model.MetricTypeHistogram}
	for _, b := range []struct {
		le string
		v  float64
	}{{"10", 1}, {"60", 3}, {"1200", 4}, {"+Inf", 4}} {
		h.Samples = append(h.Samples, metric.Sample{Labels: series("chainloop_workflow_run_duration_seconds_bucket", append(tl, "status", "success", "le", b.le)...), Value: b.v})
	}
	h.Samples = append(h.Samples,
		metric.Sample{Labels: series("chainloop_workflow_run_duration_seconds_sum", append(tl, "status", "success")...), Value: 250},
		metric.Sample{Labels: series("chainloop_workflow_run_duration_seconds_count", append(tl, "status", "success")...), Value: 4},
	)
	up := gauge("chainloop_workflow_up", 1, tl...)
	up.Help = "Whether the workflow's last run succeeded."
	return []metric.Family{up, h, gauge("up", 1, "job", "chainloop", "instance", instance)}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
