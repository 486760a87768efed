package chart

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

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
	for _, ns := range []string{releaseNS, "team-a", "team-b"} {
		_, err := srv.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
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
		})
	}
}
