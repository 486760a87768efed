package kubernetes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestResolveForms(t *testing.T) {
	srv := setupFixture(t)
	c := newCollector(t, srv.Kubeconfig, nil)
	for _, tc := range []struct {
		spec string
		want target
	}{
		{"deployments", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", namespaced: true}},
		{"deployments.apps", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", namespaced: true}},
		{"deployments.v1.apps", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", namespaced: true}},
		{"statefulsets.apps", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, kind: "StatefulSet", namespaced: true}},
		{"workerpools", target{gvr: workerPoolGVR, kind: "WorkerPool", namespaced: true}},
		{"workerpools.workers.spacelift.io", target{gvr: workerPoolGVR, kind: "WorkerPool", namespaced: true}},
		{"workerpools.v1beta1.workers.spacelift.io", target{gvr: workerPoolGVR, kind: "WorkerPool", namespaced: true}},
		// Short names, as kubectl expands them from discovery.
		{"deploy", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", namespaced: true}},
		{"sts", target{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, kind: "StatefulSet", namespaced: true}},
		{"namespaces", target{gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, kind: "Namespace", namespaced: false}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := resolve(c.mapper, c.disc, []string{tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			tc.want.spec = tc.spec
			if diff := cmp.Diff([]target{tc.want}, got, cmp.AllowUnexported(target{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := resolve(c.mapper, c.disc, []string{"deployments", "deployments.apps"})
	want := `resources "deployments" and "deployments.apps" both have kind Deployment, so their series would have the same names; keep one`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
