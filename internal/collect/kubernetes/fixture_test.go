package kubernetes

import (
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// The fixture: Deployments in three namespaces whose spec and status differ
// the way real rollouts do, and two WorkerPools.
//
//	team-a/web     healthy: generation 1 = observedGeneration 1, 3/3 available
//	team-a/api     scaled after the controller last looked: generation 2, observedGeneration 1
//	team-b/worker  stuck: 4 wanted, 1 available, 3 unavailable
//	team-c/batch   paused, Recreate, no status at all (never rolled out), two containers
//
// So the seeds' alert DeploymentGenerationMismatch matches team-a/api only,
// and DeploymentReplicasMismatch matches team-b/worker and team-c/batch.
var fixtureNamespaces = []string{"team-a", "team-b", "team-c"}

var workerPoolGVR = schema.GroupVersionResource{Group: "workers.spacelift.io", Version: "v1beta1", Resource: "workerpools"}

var fixture struct {
	once sync.Once
	srv  *kubeapi.Server
}

// setupFixture starts the shared apiserver and creates the fixture once.
func setupFixture(t *testing.T) *kubeapi.Server {
	t.Helper()
	srv := kubeapi.Shared(t)
	fixture.once.Do(func() {
		createFixture(t, srv)
		fixture.srv = srv
	})
	if fixture.srv == nil {
		t.Fatal("fixture creation failed in an earlier test")
	}
	return srv
}

func createFixture(t *testing.T, srv *kubeapi.Server) {
	srv.CreateNamespaces(t, fixtureNamespaces...)
	surge, unavailable := intstr.FromInt32(1), intstr.FromString("50%")

	web := kubeapi.Deployment("team-a", "web", 3, map[string]string{"app": "web", "tier": "frontend"})
	srv.CreateDeployment(t, web, &appsv1.DeploymentStatus{
		ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		},
	})

	api := kubeapi.Deployment("team-a", "api", 2, map[string]string{"app": "api", "tier": "backend"})
	srv.CreateDeployment(t, api, &appsv1.DeploymentStatus{
		ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
	})
	// A spec change after the controller's last look: generation 2.
	got, err := srv.Clientset.AppsV1().Deployments("team-a").Get(t.Context(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Spec.Template.Spec.Containers[0].Image = "registry.example/api:2"
	if _, err := srv.Clientset.AppsV1().Deployments("team-a").Update(t.Context(), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	worker := kubeapi.Deployment("team-b", "worker", 4, map[string]string{"app": "worker", "tier": "backend"})
	worker.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}
	srv.CreateDeployment(t, worker, &appsv1.DeploymentStatus{
		ObservedGeneration: 1, Replicas: 4, UpdatedReplicas: 4, ReadyReplicas: 1, AvailableReplicas: 1, UnavailableReplicas: 3,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionUnknown, Reason: "ReplicaSetUpdated"},
		},
	})

	batch := kubeapi.Deployment("team-c", "batch", 1, map[string]string{"app": "batch", "tier": "jobs"})
	batch.Spec.Paused = true
	batch.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	batch.Spec.Template.Spec.Containers = append(batch.Spec.Template.Spec.Containers, corev1.Container{
		Name: "sidecar", Image: "registry.example/sidecar:1",
		Ports: []corev1.ContainerPort{{ContainerPort: 9090}, {ContainerPort: 9091}},
	})
	srv.CreateDeployment(t, batch, nil)

	srv.InstallCRDs(t, "testdata/crds/workers.spacelift.io_workerpools.yaml")
	createWorkerPool(t, srv, "team-a", "pool-a", 3, map[string]any{"actualPoolSize": int64(2), "desiredPoolSize": int64(3), "autoRegistered": true, "selector": "workers.spacelift.io/not-used=01POOLA"})
	createWorkerPool(t, srv, "team-b", "pool-b", 1, map[string]any{"actualPoolSize": int64(1), "desiredPoolSize": int64(1), "autoRegistered": false, "selector": "workers.spacelift.io/not-used=01POOLB"})
}

func createWorkerPool(t *testing.T, srv *kubeapi.Server, namespace, name string, poolSize int64, status map[string]any) {
	t.Helper()
	wp := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "workers.spacelift.io/v1beta1",
		"kind":       "WorkerPool",
		"metadata":   map[string]any{"namespace": namespace, "name": name, "labels": map[string]any{"app": "spacelift"}},
		"spec":       map[string]any{"poolSize": poolSize},
	}}
	r := srv.Dynamic.Resource(workerPoolGVR).Namespace(namespace)
	created, err := r.Create(t.Context(), wp, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating workerpool %s/%s: %v", namespace, name, err)
	}
	created.Object["status"] = status
	if _, err := r.UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting status of workerpool %s/%s: %v", namespace, name, err)
	}
}
