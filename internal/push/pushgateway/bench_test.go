package pushgateway

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// benchFamilies is 10,001 series in the shape of the Kubernetes collector:
// nine gauge families of 1,000 Deployments and one histogram of 77 label
// sets x 13 series.
func benchFamilies() []metric.Family {
	var fams []metric.Family
	for f := range 9 {
		name := fmt.Sprintf("k8s_deployment_status_field_%d", f)
		fam := metric.Family{Name: name, Help: "A Deployment status field.", Type: model.MetricTypeGauge}
		for i := range 1000 {
			fam.Samples = append(fam.Samples, metric.Sample{
				Labels: series(name, "job", "liftpush", "namespace", "team-"+strconv.Itoa(i%40), "name", fmt.Sprintf("deployment-%04d", i)),
				Value:  float64(i % 7),
			})
		}
		fams = append(fams, fam)
	}
	h := metric.Family{Name: "run_duration_seconds", Help: "Run durations.", Type: model.MetricTypeHistogram}
	for i := range 77 {
		ls := []string{"job", "liftpush", "workflow", fmt.Sprintf("workflow-%02d", i)}
		for j, le := range []string{"1", "2.5", "5", "10", "30", "60", "120", "300", "600", "1200", "+Inf"} {
			h.Samples = append(h.Samples, metric.Sample{Labels: series("run_duration_seconds_bucket", append(ls, "le", le)...), Value: float64(j * i)})
		}
		h.Samples = append(h.Samples,
			metric.Sample{Labels: series("run_duration_seconds_sum", ls...), Value: 1234.5},
			metric.Sample{Labels: series("run_duration_seconds_count", ls...), Value: float64(10 * i)})
	}
	return append(fams, h)
}

// BenchmarkPushFormats pushes one group of 10,001 series to the real
// Pushgateway in each body format: wall time per push (encoding, transfer
// and the Pushgateway's parse and consistency check, which it finishes
// before answering) and bytes on the wire.
//
//	go test -run '^$' -bench PushFormats -benchtime 20x ./internal/push/pushgateway/
func BenchmarkPushFormats(b *testing.B) {
	pgw := testinfra.StartPushgateway(b)
	groups := []metric.Group{{Collector: "kubernetes", Up: true, Families: benchFamilies()}}
	for _, format := range []string{config.FormatText, config.FormatProtobuf} {
		b.Run(format, func(b *testing.B) {
			cfg, _ := config.NewPushgateway(pgw.URL)
			cfg.Format = format
			cfg.SetDefaults(config.GlobalConfig{Job: "liftpush"})
			if err := cfg.Validate(config.GlobalConfig{Job: "liftpush"}); err != nil {
				b.Fatal(err)
			}
			c, err := New(cfg, discardLogger(), "liftpush/bench")
			if err != nil {
				b.Fatal(err)
			}
			var rep pushReport
			for b.Loop() {
				rep = pushtest.Deliver(b.Context(), c, push.Options{}, groups)
			}
			if rep.Err != nil || rep.Sent != 10001 {
				b.Fatalf("sent %d, err %v", rep.Sent, rep.Err)
			}
			var req request
			var r pushReport
			for _, rq := range c.plan(groups, &r) {
				if rq.samples > 0 {
					req = rq
				}
			}
			var buf bytes.Buffer
			if err := encode(&buf, format, req.fams); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(buf.Len()), "wire-bytes/push")
		})
	}
}

// BenchmarkEncodeFormats is the encoding alone, from planned groups.
func BenchmarkEncodeFormats(b *testing.B) {
	cfg, _ := config.NewPushgateway("http://pgw:9091")
	cfg.SetDefaults(config.GlobalConfig{Job: "liftpush"})
	if err := cfg.Validate(config.GlobalConfig{Job: "liftpush"}); err != nil {
		b.Fatal(err)
	}
	c, err := New(cfg, discardLogger(), "liftpush/bench")
	if err != nil {
		b.Fatal(err)
	}
	var r pushReport
	req := c.plan([]metric.Group{{Collector: "kubernetes", Up: true, Families: benchFamilies()}}, &r)[0]
	for _, format := range []string{config.FormatText, config.FormatProtobuf} {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := encode(&buf, format, req.fams); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "wire-bytes/push")
		})
	}
}
