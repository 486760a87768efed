// Package examples checks the shipped examples: every PromQL expression in
// the alert rules, the Grafana dashboard and the KEDA ScaledObject parses,
// and names only series liftpush actually pushes. The liftpush configs here
// are checked by e2e (check-config).
package examples

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"
)

// pushed lists the series names liftpush pushes (README: Spacelift,
// Kubernetes, Self-metrics). An example naming anything else has a typo, or
// the README is missing a series.
var pushed = []string{
	// Spacelift
	"spacelift_public_worker_pool_runs_pending", "spacelift_public_worker_pool_workers_busy",
	"spacelift_public_worker_pool_parallelism",
	"spacelift_worker_pool_runs_pending", "spacelift_worker_pool_workers_busy",
	"spacelift_worker_pool_workers", "spacelift_worker_pool_workers_drained",
	"spacelift_current_billing_period_start_timestamp_seconds", "spacelift_current_billing_period_end_timestamp_seconds",
	"spacelift_current_billing_period_used_private_seconds", "spacelift_current_billing_period_used_public_seconds",
	"spacelift_current_billing_period_used_seats", "spacelift_current_stacks_count_by_state",
	// Spacelift, liftpush extras (issue 13)
	"spacelift_worker_pool_oldest_schedulable_run_timestamp_seconds",
	"spacelift_public_worker_pool_oldest_schedulable_run_timestamp_seconds", "spacelift_stack_state",
	// Kubernetes, kube-api-exporter naming
	"k8s_deployment_metadata_generation", "k8s_deployment_spec_replicas",
	"k8s_deployment_status_observedGeneration", "k8s_deployment_status_availableReplicas",
	"k8s_workerpool_spec_poolSize", "k8s_workerpool_status_actualPoolSize",
	// Self-metrics
	"liftpush_collector_up", "liftpush_collector_duration_seconds", "liftpush_collector_samples",
	"liftpush_last_success_timestamp_seconds", "liftpush_build_info",
	"liftpush_destination_samples_sent", "liftpush_destination_samples_dropped",
}

// TestPushedNamesDocumented keeps the list above honest: each name is in the
// README, in full or as a "_suffix" continuing a name in the same line.
func TestPushedNamesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pushed {
		if !strings.Contains(string(readme), name) && !documentedAsSuffix(string(readme), name) {
			t.Errorf("%s is not in README.md", name)
		}
	}
}

func documentedAsSuffix(readme, name string) bool {
	for line := range strings.Lines(readme) {
		for i := strings.LastIndex(name, "_"); i > 0; i = strings.LastIndex(name[:i], "_") {
			if strings.Contains(line, "`"+name[:i]) && strings.Contains(line, "`"+name[i:]+"`") {
				return true
			}
		}
	}
	return false
}

// promql parses as a Prometheus server with default flags does: no
// experimental functions.
var promql = parser.NewParser(parser.Options{})

// checkExpr parses a PromQL expression and checks the names it selects.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v\n%s", where, err, expr)
		return
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && !slices.Contains(pushed, vs.Name) {
			t.Errorf("%s: selects %q, which liftpush does not push", where, vs.Name)
		}
		return nil
	})
}

// The PrometheusRule, decoded strictly so a misspelt key ("expresion") fails.
type prometheusRule struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	} `yaml:"spec"`
}

// The functions Prometheus' alert templates offer; only their names matter
// for parsing.
var templateFuncs = template.FuncMap{
	"humanize": fmtAny, "humanize1024": fmtAny, "humanizeDuration": fmtAny,
	"humanizePercentage": fmtAny, "humanizeTimestamp": fmtAny, "toTime": fmtAny,
	"first": fmtAny, "label": fmtAny, "value": fmtAny, "query": fmtAny,
	"title": strings.ToTitle, "toUpper": strings.ToUpper, "toLower": strings.ToLower,
}

func fmtAny(...any) string { return "" }

func TestPrometheusRules(t *testing.T) {
	b, err := os.ReadFile("prometheus-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(b, &pr); err != nil {
		t.Fatalf("prometheus-rules.yaml: %v", err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("apiVersion/kind = %s/%s, want monitoring.coreos.com/v1/PrometheusRule", pr.APIVersion, pr.Kind)
	}
	// The alerts the README promises, each keyed by the series it must use.
	wantAlerts := map[string]string{
		"SpaceliftWorkerPoolNoWorkers":    "spacelift_worker_pool_workers",
		"SpaceliftWorkerPoolQueueTooLong": "spacelift_worker_pool_runs_pending",
		"DeploymentGenerationMismatch":    "k8s_deployment_status_observedGeneration",
		"DeploymentReplicasMismatch":      "k8s_deployment_status_availableReplicas",
		"LiftpushCollectorSilent":         "liftpush_last_success_timestamp_seconds",
		"LiftpushAbsent":                  "absent(",
	}
	seen := map[string]bool{}
	for _, g := range pr.Spec.Groups {
		for i, r := range g.Rules {
			where := g.Name + "/" + r.Alert
			if r.Alert == "" {
				t.Errorf("%s: rule %d has no alert name", g.Name, i)
			}
			if seen[r.Alert] {
				t.Errorf("%s: alert name used twice", where)
			}
			seen[r.Alert] = true
			checkExpr(t, where, r.Expr)
			if want, ok := wantAlerts[r.Alert]; ok && !strings.Contains(r.Expr, want) {
				t.Errorf("%s: expr does not use %s:\n%s", where, want, r.Expr)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", where, err)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity = %q, want critical or warning", where, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary annotation", where)
			}
			for k, text := range r.Annotations {
				// Prometheus defines these variables before expanding the text.
				const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
				if _, err := template.New(k).Funcs(templateFuncs).Parse(defs + text); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
		}
	}
	for name := range wantAlerts {
		if !seen[name] {
			t.Errorf("alert %s missing", name)
		}
	}
}

// Grafana variables, replaced by values that keep the PromQL valid:
// $__rate_interval and friends are durations, the rest label values.
var grafanaVar = regexp.MustCompile(`\$\{?(\w+)(?::\w+)?\}?`)

func expandGrafana(expr string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.Contains(v, "interval") || strings.Contains(v, "__range") {
			return "5m"
		}
		return "x"
	})
}

type dashboardPanel struct {
	Title   string           `json:"title"`
	Type    string           `json:"type"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title      string           `json:"title"`
		UID        string           `json:"uid"`
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both are needed to import the dashboard", d.Title, d.UID)
	}
	var exprs []string
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
				checkExpr(t, "panel "+p.Title, expandGrafana(tg.Expr))
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	// label_values(selector, label): the selector must parse too.
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Definition == "" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: definition %q is not label_values(selector, label)", v.Name, v.Definition)
			continue
		}
		checkExpr(t, "variable "+v.Name, expandGrafana(m[1]))
	}
	// What the dashboard promises to show (the README's list of examples).
	all := strings.Join(exprs, "\n")
	for _, want := range []string{
		"spacelift_worker_pool_runs_pending", "spacelift_worker_pool_workers_busy", "spacelift_worker_pool_workers{",
		"spacelift_current_billing_period_used_private_seconds", "k8s_deployment_spec_replicas",
		"liftpush_collector_up", "liftpush_last_success_timestamp_seconds",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel queries %s", want)
		}
	}
}

type scaledObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		PollingInterval int `yaml:"pollingInterval"`
		CooldownPeriod  int `yaml:"cooldownPeriod"`
		MinReplicaCount int `yaml:"minReplicaCount"`
		MaxReplicaCount int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type     string            `yaml:"type"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

func TestKEDAScaledObject(t *testing.T) {
	b, err := os.ReadFile("keda-scaledobject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var so scaledObject
	if err := yaml.UnmarshalStrict(b, &so); err != nil {
		t.Fatalf("keda-scaledobject.yaml: %v", err)
	}
	if so.APIVersion != "keda.sh/v1alpha1" || so.Kind != "ScaledObject" {
		t.Errorf("apiVersion/kind = %s/%s", so.APIVersion, so.Kind)
	}
	ref := so.Spec.ScaleTargetRef
	if ref.APIVersion != "workers.spacelift.io/v1beta1" || ref.Kind != "WorkerPool" || ref.Name == "" {
		t.Errorf("scaleTargetRef = %+v, want a workers.spacelift.io/v1beta1 WorkerPool", ref)
	}
	checkScaleSubresource(t, ref.APIVersion, ref.Kind)
	if so.Spec.MinReplicaCount < 1 || so.Spec.MaxReplicaCount < so.Spec.MinReplicaCount {
		t.Errorf("replica counts min %d max %d", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount)
	}
	// Polling faster than liftpush pushes (a minute) reads the same value again.
	if p := time.Duration(so.Spec.PollingInterval) * time.Second; p <= 0 || p > time.Minute {
		t.Errorf("pollingInterval %s, want (0, 1m]", p)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
		t.Fatalf("triggers = %+v, want one prometheus trigger", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	for _, k := range []string{"serverAddress", "query", "threshold"} {
		if md[k] == "" {
			t.Errorf("trigger metadata %s missing", k)
		}
	}
	checkExpr(t, "trigger query", md["query"])
	// The query must pick one pool by ID, or it would sum the queues of all.
	e, err := promql.ParseExpr(md["query"])
	if err != nil {
		return
	}
	var pending bool
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || !strings.HasPrefix(vs.Name, "spacelift_worker_pool_") {
			return nil
		}
		pending = pending || vs.Name == "spacelift_worker_pool_runs_pending"
		if !hasPoolMatcher(vs) {
			t.Errorf("%s has no worker_pool_id= or worker_pool_name= matcher", vs.Name)
		}
		return nil
	})
	if !pending {
		t.Errorf("query does not use spacelift_worker_pool_runs_pending")
	}
}

func hasPoolMatcher(vs *parser.VectorSelector) bool {
	for _, m := range vs.LabelMatchers {
		if (m.Name == "worker_pool_id" || m.Name == "worker_pool_name") && m.Type == labels.MatchEqual && m.Value != "" {
			return true
		}
	}
	return false
}

// checkScaleSubresource: KEDA scales a custom resource through its scale
// subresource, so the WorkerPool CRD (the copy the Kubernetes collector's
// tests install) must serve one at that version, on spec.poolSize.
func checkScaleSubresource(t *testing.T, apiVersion, kind string) {
	t.Helper()
	b, err := os.ReadFile("../internal/collect/kubernetes/testdata/crds/workers.spacelift.io_workerpools.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Group string `yaml:"group"`
			Names struct {
				Kind string `yaml:"kind"`
			} `yaml:"names"`
			Versions []struct {
				Name         string `yaml:"name"`
				Served       bool   `yaml:"served"`
				Subresources struct {
					Scale struct {
						SpecReplicasPath string `yaml:"specReplicasPath"`
					} `yaml:"scale"`
				} `yaml:"subresources"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatalf("WorkerPool CRD: %v", err)
	}
	if got := crd.Spec.Group + "/" + crd.Spec.Names.Kind; got != strings.Split(apiVersion, "/")[0]+"/"+kind {
		t.Fatalf("CRD is %s, the target %s %s", got, apiVersion, kind)
	}
	for _, v := range crd.Spec.Versions {
		if crd.Spec.Group+"/"+v.Name == apiVersion {
			if !v.Served || v.Subresources.Scale.SpecReplicasPath != ".spec.poolSize" {
				t.Errorf("%s: served %v, scale subresource on %q; want served, on .spec.poolSize", apiVersion, v.Served, v.Subresources.Scale.SpecReplicasPath)
			}
			return
		}
	}
	t.Errorf("the WorkerPool CRD has no version %s", apiVersion)
}
