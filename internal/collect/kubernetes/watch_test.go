package kubernetes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/shard"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// TestWatchSameAsList: the watching collector, reading caches of rows, emits exactly what listing does, in both namings.
func TestWatchSameAsList(t *testing.T) {
	srv := setupFixture(t)
	for _, naming := range []string{config.NamingKubeAPIExporter, config.NamingKubeStateMetrics} {
		t.Run(naming, func(t *testing.T) {
			mutate := func(cfg *config.KubernetesConfig) {
				cfg.Naming = naming
				cfg.Namespaces = fixtureNamespaces
				cfg.Resources = []string{"deployments", "workerpools.v1beta1.workers.spacelift.io"}
			}
			listed, err := newCollector(t, srv.Kubeconfig, mutate).Collect(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			w := newCollector(t, srv.Kubeconfig, mutate)
			w.Watch(t.Context())
			watched, err := w.Collect(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(w.watch.watches) != 2*len(fixtureNamespaces) {
				t.Fatalf("%d watches, want one per resource and namespace (%d)", len(w.watch.watches), 2*len(fixtureNamespaces))
			}
			if diff := cmp.Diff(exposition(listed), exposition(watched)); diff != "" {
				t.Errorf("watch differs from list (-list +watch):\n%s", diff)
			}
		})
	}
}

// TestWatchFollowsChanges: a change made after the cache synced shows in
// a later Collect without any list, and a deleted object leaves.
func TestWatchFollowsChanges(t *testing.T) {
	srv := kubeapi.Shared(t)
	srv.CreateNamespaces(t, "watch-follow")
	srv.CreateDeployment(t, kubeapi.Deployment("watch-follow", "app", 2, map[string]string{"app": "app"}), nil)
	srv.CreateDeployment(t, kubeapi.Deployment("watch-follow", "gone", 1, map[string]string{"app": "gone"}), nil)
	c := newCollector(t, srv.Kubeconfig, func(cfg *config.KubernetesConfig) { cfg.Namespaces = []string{"watch-follow"} })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c.Watch(ctx)
	replicas := func() map[string]float64 {
		fams, err := c.Collect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range fams {
			if f.Name == "k8s_deployment_spec_replicas" {
				for _, s := range f.Samples {
					out[s.Labels.Get("name")] = s.Value
				}
			}
		}
		return out
	}
	if got := replicas(); !cmp.Equal(got, map[string]float64{"app": 2, "gone": 1}) {
		t.Fatalf("first cycle: %v", got)
	}
	d, err := srv.Clientset.AppsV1().Deployments("watch-follow").Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	five := int32(5)
	d.Spec.Replicas = &five
	if _, err := srv.Clientset.AppsV1().Deployments("watch-follow").Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Clientset.AppsV1().Deployments("watch-follow").Delete(t.Context(), "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"app": 5}
	deadline := time.Now().Add(10 * time.Second)
	for got := replicas(); !cmp.Equal(got, want); got = replicas() {
		if time.Now().After(deadline) {
			t.Fatalf("after the update and delete: %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once the watch ends, the collector lists again.
	cancel()
	if c.watching() {
		t.Error("still watching after the context ended")
	}
	if got := replicas(); !cmp.Equal(got, want) {
		t.Errorf("listing after the watch: %v, want %v", got, want)
	}
}

// TestWatchForbidden: a watching collector without the RBAC to list fails
// its cycle at once, naming both verbs it needs, instead of waiting for a
// cache that cannot sync.
func TestWatchForbidden(t *testing.T) {
	srv := setupFixture(t)
	token := srv.ServiceAccountToken(t, "team-a", "liftpush-watch", []rbacv1.PolicyRule{{
		APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"list", "watch"},
	}})
	kubeconfig := srv.WriteKubeconfig(t, "liftpush-watch-sa", token)
	c := newCollector(t, kubeconfig, func(c *config.KubernetesConfig) { c.Namespaces = []string{"team-b"} })
	c.Watch(t.Context())
	start := time.Now()
	_, err := c.Collect(t.Context())
	want := `listing deployments.apps in namespace "team-b" is forbidden (verb list and watch, resource deployments.apps): grant it with a Role in namespace "team-b" with the rule {apiGroups: ["apps"], resources: ["deployments"], verbs: ["list", "watch"]}`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v\nwant it to contain %q", err, want)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the forbidden cycle took %s", took)
	}
}

// TestWatchReshard: a reshard restarts the watches, and the objects the
// shard now owns are collected whole.
func TestWatchReshard(t *testing.T) {
	srv := setupFixture(t)
	mutate := func(cfg *config.KubernetesConfig) { cfg.Namespaces = fixtureNamespaces }
	all, err := newCollector(t, srv.Kubeconfig, mutate).Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := exposition(all)
	c := newCollector(t, srv.Kubeconfig, mutate)
	c.Watch(t.Context())
	for _, o := range []shard.Owner{{Shard: 0, Total: 2}, {Shard: 1, Total: 2}, shard.Unsharded} {
		c.SetShard(o)
		fams, err := c.Collect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if o == shard.Unsharded {
			if diff := cmp.Diff(want, exposition(fams)); diff != "" {
				t.Errorf("back to unsharded, the watch lost objects (-list +watch):\n%s", diff)
			}
			continue
		}
		if len(objectsOf(fams, "k8s_deployment_spec_replicas", "name")) == 0 && o.Shard == 0 {
			t.Logf("shard %v holds no fixture Deployment", o)
		}
	}
}
