package kubeapi

import (
	"context"
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Deployment is a minimal apps/v1 Deployment with one container; the
// apiserver fills in the defaults (strategy, revisionHistoryLimit,
// progressDeadlineSeconds, terminationGracePeriodSeconds, ...).
func Deployment(namespace, name string, replicas int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels,
			Annotations: map[string]string{"example.com/owner": "team"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": labels["app"]}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": labels["app"]}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "main", Image: "registry.example/" + name + ":1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// CreateDeployment creates d and, when status is not nil, sets it through
// the status subresource: without a controller-manager nothing else ever
// writes status, and writing it through the main resource is ignored.
func (s *Server) CreateDeployment(tb testing.TB, d *appsv1.Deployment, status *appsv1.DeploymentStatus) *appsv1.Deployment {
	tb.Helper()
	created, err := s.Clientset.AppsV1().Deployments(d.Namespace).Create(tb.Context(), d, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("creating deployment %s/%s: %v", d.Namespace, d.Name, err)
	}
	if status == nil {
		return created
	}
	created.Status = *status
	updated, err := s.Clientset.AppsV1().Deployments(d.Namespace).UpdateStatus(tb.Context(), created, metav1.UpdateOptions{})
	if err != nil {
		tb.Fatalf("setting status of %s/%s: %v", d.Namespace, d.Name, err)
	}
	return updated
}

// CreateDeployments creates n Deployments named d-00000, d-00001, ... in
// namespace with workers concurrent requests (one at a time, 10,000 would
// take minutes). Existing ones are kept, so a benchmark can grow a set.
func (s *Server) CreateDeployments(tb testing.TB, namespace string, n, workers int) {
	tb.Helper()
	s.CreateNamespaces(tb, namespace)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				d := Deployment(namespace, fmt.Sprintf("d-%05d", i), 1, map[string]string{"app": "bulk"})
				_, err := s.Clientset.AppsV1().Deployments(namespace).Create(ctx, d, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("creating deployments in %s: %v", namespace, firstErr)
	}
}
