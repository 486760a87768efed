package chart

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// TestAPIServer sends every scenario's manifests to a real kube-apiserver
// with kubectl's strict server-side validation: an unknown field, a wrong
// type or an invalid value (a bad cron schedule, time zone or quantity)
// fails, which neither helm lint nor typed decoding catches. Two scenarios
// are then created for real, and the ServiceAccount's rights are checked
// with impersonation: it can read what the config lists and nothing more.
func TestAPIServer(t *testing.T) {
	helm := helmBinary(t)
	kubectl := testinfra.RequireBinary(t, "kubectl", "apt-get install kubectl, or https://kubernetes.io/docs/tasks/tools/")
	srv := kubeapi.Start(t)
	ctx := t.Context()
	srv.CreateNamespaces(t, releaseNS, "team-a", "team-b")
	// The deployment scenario lists WorkerPools; the collector's own tests
	// carry the CRD. Something to collect for the RBAC tests below:
	srv.InstallCRDs(t, "../../internal/collect/kubernetes/testdata/crds/workers.spacelift.io_workerpools.yaml")
	srv.CreateDeployment(t, kubeapi.Deployment("team-a", "web", 2, nil), nil)
	k := func(stdin []byte, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", srv.Kubeconfig}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	manifests := map[string][]byte{}
	for name, file := range scenarios(t) {
		manifests[name] = template(t, helm, name, releaseNS, "--values", file)
	}

	t.Run("dry-run", func(t *testing.T) {
		for name, m := range manifests {
			if out, err := k(m, "apply", "--dry-run=server", "--validate=strict", "-f", "-"); err != nil {
				t.Errorf("%s: kubectl apply --dry-run=server --validate=strict: %v\n%s", name, err, out)
			}
		}
	})

	// The dry run must be able to fail: a misplaced field, which helm and
	// YAML accept, and a value only the apiserver knows is invalid.
	t.Run("dry-run refuses", func(t *testing.T) {
		refused := []struct {
			name     string
			manifest []byte
			want     string
		}{
			{"unknown field", bytes.Replace(manifests["minimal"], []byte("concurrencyPolicy: Forbid"), []byte("concurrencyPolicy: Forbid\n  concurrency: 1"), 1), `unknown field "spec.concurrency"`},
			{"bad schedule", template(t, helm, "bad", releaseNS, "--values", "ci/minimal-values.yaml", "--set", "cronjob.schedule=every minute"), "spec.schedule"},
		}
		for _, r := range refused {
			out, err := k(r.manifest, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
			if err == nil || !strings.Contains(out, r.want) {
				t.Errorf("%s: err = %v, want output containing %q:\n%s", r.name, err, r.want, out)
			}
		}
	})

	// Created for real, the RBAC must give exactly the configured reads. (No
	// -n: every namespaced object names its namespace, the Roles their own.)
	tests := []struct {
		scenario string
		can      []string // kubectl auth can-i arguments that must answer yes
		cannot   []string
	}{
		{
			scenario: "minimal",
			can:      []string{"list deployments.apps --all-namespaces", "get deployments.apps -n team-a"},
			cannot:   []string{"list secrets --all-namespaces", "delete deployments.apps -n team-a", "watch deployments.apps --all-namespaces", "list statefulsets.apps --all-namespaces"},
		},
		{
			scenario: "deployment",
			can:      []string{"list deployments.apps --all-namespaces", "list statefulsets.apps -n team-b", "list workerpools.workers.spacelift.io --all-namespaces"},
			cannot:   []string{"list pods --all-namespaces", "update workerpools.workers.spacelift.io -n team-a"},
		},
		{
			scenario: "namespaced",
			can:      []string{"list deployments.apps -n team-a", "list statefulsets.apps -n team-b", "list cronjobs.batch -n team-a", "list pods -n team-b"},
			cannot:   []string{"list deployments.apps --all-namespaces", "list deployments.apps -n " + releaseNS, "list secrets -n team-a", "create pods -n team-a"},
		},
	}
	for _, tt := range tests {
		t.Run("rbac "+tt.scenario, func(t *testing.T) {
			if out, err := k(manifests[tt.scenario], "apply", "--validate=strict", "-f", "-"); err != nil {
				t.Fatalf("kubectl apply: %v\n%s", err, out)
			}
			as := "--as=system:serviceaccount:" + releaseNS + ":" + tt.scenario + "-liftpush"
			canI := func(q string) string {
				out, _ := k(nil, append(append([]string{"auth", "can-i"}, strings.Fields(q)...), as)...)
				return strings.TrimSpace(out)
			}
			for _, q := range tt.can {
				// The RBAC authorizer learns new bindings from a watch: allow it a moment.
				deadline := time.Now().Add(10 * time.Second)
				got := canI(q)
				for got != "yes" && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
					got = canI(q)
				}
				if got != "yes" {
					t.Errorf("can-i %s: %q, want yes", q, got)
				}
			}
			for _, q := range tt.cannot {
				if got := canI(q); got != "no" {
					t.Errorf("can-i %s: %q, want no", q, got)
				}
			}
			collectAs(t, srv, tt.scenario, manifests[tt.scenario])
		})
	}
}

// collectAs runs "liftpush collect" with the scenario's rendered config,
// authenticated as the chart's ServiceAccount: the Kubernetes collector
// must succeed with exactly the rights the chart granted.
func collectAs(t *testing.T, srv *kubeapi.Server, scenario string, manifest []byte) {
	t.Helper()
	r := decode(t, manifest)
	cms := objectsOf[*corev1.ConfigMap](r)
	if len(cms) != 1 {
		t.Fatalf("want one ConfigMap, got %d", len(cms))
	}
	cfg := filepath.Join(t.TempDir(), "liftpush.yml")
	if err := os.WriteFile(cfg, []byte(cms[0].Data["liftpush.yml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := srv.Clientset.CoreV1().ServiceAccounts(releaseNS).CreateToken(t.Context(), scenario+"-liftpush", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for the chart's ServiceAccount: %v", err)
	}
	kubeconfig := srv.WriteKubeconfig(t, scenario+"-liftpush", tr.Status.Token)
	res := testinfra.Run(t, nil, "collect", "--config.file="+cfg, "--kubernetes.kubeconfig="+kubeconfig)
	if res.ExitCode != 0 {
		t.Fatalf("liftpush collect as the chart's ServiceAccount: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	// Lines, not exact text: scenarios add external labels.
	for _, want := range []struct{ name, labels, value string }{
		{"k8s_deployment_spec_replicas", `name="web",namespace="team-a"`, "2"},
		{"liftpush_collector_up", `collector="kubernetes"`, "1"},
	} {
		found := false
		for line := range strings.Lines(res.Stdout) {
			found = found || strings.HasPrefix(line, want.name+"{") && strings.Contains(line, want.labels) && strings.HasSuffix(strings.TrimSpace(line), "} "+want.value)
		}
		if !found {
			t.Errorf("collect output has no %s{%s} %s", want.name, want.labels, want.value)
		}
	}
}
