package pushgateway

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

func TestGroupPath(t *testing.T) {
	tests := []struct {
		name string
		key  []labels.Label
		want string
	}{
		{"plain", []labels.Label{{Name: "job", Value: "liftpush"}, {Name: "collector", Value: "spacelift"}}, "/metrics/job/liftpush/collector/spacelift"},
		{"slash uses base64", []labels.Label{{Name: "job", Value: "liftpush"}, {Name: "collector", Value: "scrape/chainloop"}}, "/metrics/job/liftpush/collector@base64/c2NyYXBlL2NoYWlubG9vcA"},
		{"empty value", []labels.Label{{Name: "job", Value: "j"}, {Name: "instance", Value: ""}}, "/metrics/job/j/instance@base64/="},
		{"host:port stays readable", []labels.Label{{Name: "job", Value: "chainloop"}, {Name: "instance", Value: "127.0.0.1:8443"}}, "/metrics/job/chainloop/instance/127.0.0.1:8443"},
		{"space and plus use base64", []labels.Label{{Name: "job", Value: "a b+c"}}, "/metrics/job@base64/YSBiK2M"},
		{"dot segment uses base64", []labels.Label{{Name: "job", Value: ".."}}, "/metrics/job@base64/Li4"},
		{"URL-safe alphabet", []labels.Label{{Name: "job", Value: "??>"}}, "/metrics/job@base64/Pz8-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupPath(tt.key); got != tt.want {
				t.Errorf("groupPath = %q, want %q", got, tt.want)
			}
		})
	}
}

// planned is a request as the tests compare it: method, path and the text
// body.
type planned struct {
	Method, Path, Body string
}

func planOf(t *testing.T, c *Client, groups []metric.Group) ([]planned, push.Report) {
	t.Helper()
	var rep push.Report
	var out []planned
	for _, r := range c.plan(groups, &rep) {
		var buf bytes.Buffer
		if err := encode(&buf, config.FormatText, r.fams); err != nil {
			t.Fatal(err)
		}
		out = append(out, planned{r.method, r.path, buf.String()})
	}
	return out, rep
}

func TestPlan(t *testing.T) {
	histogram := metric.Family{Name: "chainloop_workflow_run_duration_seconds", Help: "Run duration.", Type: model.MetricTypeHistogram, Samples: []metric.Sample{
		{Labels: series("chainloop_workflow_run_duration_seconds_bucket", "job", "chainloop", "instance", "cp:443", "le", "10"), Value: 1},
		{Labels: series("chainloop_workflow_run_duration_seconds_bucket", "job", "chainloop", "instance", "cp:443", "le", "+Inf"), Value: 2},
		{Labels: series("chainloop_workflow_run_duration_seconds_sum", "job", "chainloop", "instance", "cp:443"), Value: 30},
		{Labels: series("chainloop_workflow_run_duration_seconds_count", "job", "chainloop", "instance", "cp:443"), Value: 2},
	}}
	scrapeGroup := func(up bool, down string) metric.Group {
		var fams []metric.Family
		for _, inst := range []string{"cp:443", "cp2:443"} {
			v := 1.0
			if inst == down {
				v = 0
			} else {
				fams = append(fams, gauge("chainloop_workflow_up", 1, "job", "chainloop", "instance", inst, "org", "acme"))
			}
			fams = append(fams, gauge("up", v, "job", "chainloop", "instance", inst))
		}
		return metric.Group{Collector: "scrape/chainloop", Up: up, Families: fams, Self: selfMetrics("scrape/chainloop", up, 0)}
	}
	tests := []struct {
		name     string
		mutate   func(*config.PushgatewayConfig)
		groups   []metric.Group
		want     []planned
		dropped  map[string]int
		sentOnly int // samples counted as sent without a request (stale markers)
	}{
		{
			name: "collector success is a PUT of data and self-metrics without grouping labels",
			groups: []metric.Group{{Collector: "spacelift", Up: true,
				Families: []metric.Family{gauge("spacelift_worker_pool_runs_pending", 3, "job", "liftpush", "worker_pool_id", "01H", "cluster", "edge-1")},
				Self:     selfMetrics("spacelift", true, 1700000000),
			}},
			mutate: func(c *config.PushgatewayConfig) { c.Grouping = map[string]string{"cluster": "edge-1"} },
			want: []planned{{"PUT", "/metrics/job/liftpush/collector/spacelift/cluster/edge-1", `# HELP spacelift_worker_pool_runs_pending spacelift_worker_pool_runs_pending help
# TYPE spacelift_worker_pool_runs_pending gauge
spacelift_worker_pool_runs_pending{worker_pool_id="01H"} 3
# HELP liftpush_collector_up liftpush_collector_up help
# TYPE liftpush_collector_up gauge
liftpush_collector_up 1
# HELP liftpush_collector_duration_seconds liftpush_collector_duration_seconds help
# TYPE liftpush_collector_duration_seconds gauge
liftpush_collector_duration_seconds 0.25
# HELP liftpush_last_success_timestamp_seconds liftpush_last_success_timestamp_seconds help
# TYPE liftpush_last_success_timestamp_seconds gauge
liftpush_last_success_timestamp_seconds 1.7e+09
`}},
		},
		{
			name:   "method post",
			mutate: func(c *config.PushgatewayConfig) { c.Method = "post" },
			groups: []metric.Group{{Collector: "k8s", Up: true, Families: []metric.Family{gauge("k8s_x", 1, "job", "liftpush")}}},
			want:   []planned{{"POST", "/metrics/job/liftpush/collector/k8s", "# HELP k8s_x k8s_x help\n# TYPE k8s_x gauge\nk8s_x 1\n"}},
		},
		{
			name: "collector failure POSTs only self-metrics and counts the partial data",
			groups: []metric.Group{{Collector: "spacelift", Up: false,
				Families: []metric.Family{gauge("spacelift_worker_pool_runs_pending", 3, "job", "liftpush")},
				Self:     selfMetrics("spacelift", false, 0),
			}},
			want: []planned{{"POST", "/metrics/job/liftpush/collector/spacelift", `# HELP liftpush_collector_up liftpush_collector_up help
# TYPE liftpush_collector_up gauge
liftpush_collector_up 0
# HELP liftpush_collector_duration_seconds liftpush_collector_duration_seconds help
# TYPE liftpush_collector_duration_seconds gauge
liftpush_collector_duration_seconds 0.25
`}},
			dropped: map[string]int{"collector_failed": 1},
		},
		{
			name:   "scrape targets get their own job and instance group; a down target only its up",
			groups: []metric.Group{scrapeGroup(false, "cp2:443")},
			want: []planned{
				{"POST", "/metrics/job/liftpush/collector@base64/c2NyYXBlL2NoYWlubG9vcA", "# HELP liftpush_collector_up liftpush_collector_up help\n# TYPE liftpush_collector_up gauge\nliftpush_collector_up 0\n# HELP liftpush_collector_duration_seconds liftpush_collector_duration_seconds help\n# TYPE liftpush_collector_duration_seconds gauge\nliftpush_collector_duration_seconds 0.25\n"},
				{"PUT", "/metrics/job/chainloop/instance/cp:443", "# HELP chainloop_workflow_up chainloop_workflow_up help\n# TYPE chainloop_workflow_up gauge\nchainloop_workflow_up{org=\"acme\"} 1\n# HELP up up help\n# TYPE up gauge\nup 1\n"},
				{"POST", "/metrics/job/chainloop/instance/cp2:443", "# HELP up up help\n# TYPE up gauge\nup 0\n"},
			},
		},
		{
			name:   "histogram and OpenMetrics counter keep their types",
			groups: []metric.Group{{Collector: "scrape/chainloop", Up: true, Families: []metric.Family{histogram, {Name: "runs", Type: model.MetricTypeCounter, Samples: []metric.Sample{{Labels: series("runs_total", "job", "chainloop", "instance", "cp:443"), Value: 7}, {Labels: series("runs_created", "job", "chainloop", "instance", "cp:443"), Value: 1.6e9}}}}}},
			want: []planned{
				{"PUT", "/metrics/job/liftpush/collector@base64/c2NyYXBlL2NoYWlubG9vcA", ""},
				{"PUT", "/metrics/job/chainloop/instance/cp:443", `# HELP chainloop_workflow_run_duration_seconds Run duration.
# TYPE chainloop_workflow_run_duration_seconds histogram
chainloop_workflow_run_duration_seconds_bucket{le="10"} 1
chainloop_workflow_run_duration_seconds_bucket{le="+Inf"} 2
chainloop_workflow_run_duration_seconds_sum 30
chainloop_workflow_run_duration_seconds_count 2
# TYPE runs_total counter
runs_total 7
# TYPE runs_created untyped
runs_created 1.6e+09
`},
			},
		},
		{
			name:   "conflicting grouping label, duplicate series, invalid name and stale marker",
			mutate: func(c *config.PushgatewayConfig) { c.Grouping = map[string]string{"cluster": "edge-1"} },
			groups: []metric.Group{{Collector: "k8s", Up: true, Families: []metric.Family{{Name: "k8s_x", Type: model.MetricTypeGauge, Samples: []metric.Sample{
				{Labels: series("k8s_x", "job", "liftpush", "name", "a"), Value: 1},
				{Labels: series("k8s_x", "job", "liftpush", "name", "a"), Value: 2},
				{Labels: series("k8s_x", "job", "liftpush", "name", "b", "cluster", "edge-2"), Value: 3},
				{Labels: series("k8s_x", "job", "liftpush", "name", "c"), Value: math.Float64frombits(value.StaleNaN)},
				{Labels: series("k8s_x", "job", "liftpush", "name.dotted", "d"), Value: 4},
			}}}}},
			want:    []planned{{"PUT", "/metrics/job/liftpush/collector/k8s/cluster/edge-1", "# TYPE k8s_x gauge\nk8s_x{name=\"a\"} 1\n"}},
			dropped: map[string]int{"duplicate_series": 1, "grouping_label_conflict": 1, "invalid_labels": 1},
			// The stale marker is skipped: nothing sent, nothing counted.
			sentOnly: 0,
		},
		{
			name:   "process group has no collector label and pushgateway.job replaces the job",
			mutate: func(c *config.PushgatewayConfig) { c.Job = "edge/pusher" },
			groups: []metric.Group{{Up: true, Self: []metric.Family{gauge("liftpush_build_info", 1, "job", "liftpush", "version", "1.0")}}},
			want:   []planned{{"PUT", "/metrics/job@base64/ZWRnZS9wdXNoZXI", "# HELP liftpush_build_info liftpush_build_info help\n# TYPE liftpush_build_info gauge\nliftpush_build_info{version=\"1.0\"} 1\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, "http://pgw:9091", tt.mutate)
			got, rep := planOf(t, c, tt.groups)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.dropped, rep.Dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if rep.Sent != tt.sentOnly {
				t.Errorf("sent before any request = %d, want %d", rep.Sent, tt.sentOnly)
			}
		})
	}
}

// The protobuf body says what the text body says: both decode to the same
// families.
func TestEncodeFormatsAgree(t *testing.T) {
	fams := []metric.Family{
		gauge("g", 1.5, "a", "x/y"),
		{Name: "h", Help: "hist", Type: model.MetricTypeHistogram, Samples: []metric.Sample{
			{Labels: series("h_bucket", "le", "0.5", "k", "1"), Value: 1},
			{Labels: series("h_bucket", "le", "+Inf", "k", "1"), Value: 3},
			{Labels: series("h_sum", "k", "1"), Value: 4.5},
			{Labels: series("h_count", "k", "1"), Value: 3},
		}},
		{Name: "s", Type: model.MetricTypeSummary, Samples: []metric.Sample{
			{Labels: series("s", "quantile", "0.5"), Value: 2},
			{Labels: series("s_sum"), Value: 10},
			{Labels: series("s_count"), Value: 5},
		}},
		{Name: "c_total", Type: model.MetricTypeCounter, Samples: []metric.Sample{{Labels: series("c_total"), Value: 9}}},
		{Name: "u", Type: model.MetricTypeUnknown, Samples: []metric.Sample{{Labels: series("u"), Value: -1}}},
	}
	decode := func(format string) string {
		var buf bytes.Buffer
		if err := encode(&buf, format, fams); err != nil {
			t.Fatal(err)
		}
		dec := expfmt.NewDecoder(&buf, expfmt.Format(contentType[format]))
		// The text decoder hands families out in map order.
		var rendered []string
		for {
			mf := new(dtoFamily)
			if err := dec.Decode(&mf.MetricFamily); err != nil {
				break
			}
			var out strings.Builder
			if _, err := expfmt.MetricFamilyToText(&out, &mf.MetricFamily); err != nil {
				t.Fatal(err)
			}
			rendered = append(rendered, out.String())
		}
		sort.Strings(rendered)
		return strings.Join(rendered, "")
	}
	text, proto := decode(config.FormatText), decode(config.FormatProtobuf)
	if text == "" {
		t.Fatal("text body decoded to nothing")
	}
	if diff := cmp.Diff(text, proto); diff != "" {
		t.Errorf("text vs protobuf (-text +protobuf):\n%s", diff)
	}
}
