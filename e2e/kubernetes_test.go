package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// The two alerts of kube-api-exporter's README (the seeds), with our job.
const (
	generationMismatch = `k8s_deployment_status_observedGeneration{job="liftpush"} != k8s_deployment_metadata_generation{job="liftpush"}`
	replicasMismatch   = `(k8s_deployment_spec_replicas{job="liftpush"} != k8s_deployment_status_availableReplicas{job="liftpush"}) or (k8s_deployment_spec_replicas{job="liftpush"} unless k8s_deployment_status_availableReplicas{job="liftpush"})`
)

// TestE2EKubernetesAlerts pushes Deployments from a real kube-apiserver
// into a real Prometheus with `run --once`, then checks that the seeds'
// alert expressions select exactly the Deployments made to mismatch.
func TestE2EKubernetesAlerts(t *testing.T) {
	srv := kubeapi.Start(t)
	prom := testinfra.StartPrometheus(t, "")
	srv.CreateNamespaces(t, "shop", "ops")

	// healthy: generation 1 seen, 2/2 available.
	srv.CreateDeployment(t, kubeapi.Deployment("shop", "web", 2, map[string]string{"app": "web"}),
		&appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2})
	// generation mismatch: changed after the controller's last look.
	api := srv.CreateDeployment(t, kubeapi.Deployment("shop", "api", 1, map[string]string{"app": "api"}),
		&appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1})
	api.Spec.Template.Spec.Containers[0].Image = "registry.example/api:2"
	if _, err := srv.Clientset.AppsV1().Deployments("shop").Update(t.Context(), api, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// replicas mismatch: 3 wanted, 1 available.
	srv.CreateDeployment(t, kubeapi.Deployment("ops", "queue", 3, map[string]string{"app": "queue"}),
		&appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 1, UnavailableReplicas: 2})
	// replicas mismatch without availableReplicas at all (never rolled
	// out): only the "unless" half of the alert catches it.
	srv.CreateDeployment(t, kubeapi.Deployment("ops", "cron", 1, map[string]string{"app": "cron"}), nil)

	res := testinfra.Run(t, nil, "run", "--once",
		"--kubernetes.enabled", "--kubernetes.kubeconfig="+srv.Kubeconfig,
		"--remote-write.url="+prom.WriteURL())
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}

	for _, tc := range []struct {
		name, expr string
		want       []string
	}{
		{"DeploymentGenerationMismatch", generationMismatch, []string{"shop/api"}},
		{"DeploymentReplicasMismatch", replicasMismatch, []string{"ops/cron", "ops/queue"}},
	} {
		var got []string
		for _, s := range prom.Query(t, tc.expr) {
			if s.Metric["instance"] != "" {
				t.Errorf("%s: series with an instance label: %v", tc.name, s.Metric)
			}
			got = append(got, s.Metric["namespace"]+"/"+s.Metric["name"])
		}
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: %s\n(-want +got):\n%s", tc.name, tc.expr, diff)
		}
	}
	if up := prom.Value(t, `liftpush_collector_up{collector="kubernetes"}`); up != 1 {
		t.Errorf("liftpush_collector_up{collector=\"kubernetes\"} = %v, want 1", up)
	}
	if !strings.Contains(res.Stderr, "kubernetes") {
		t.Errorf("no kubernetes collector in the run summary:\n%s", res.Stderr)
	}
}
