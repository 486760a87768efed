package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// TestAPIServer sends every scenario's objects to a real kube-apiserver as
// a server-side dry run with strict field validation (what "kubectl apply
// --dry-run=server --validate=strict" does, without needing kubectl in CI):
// an unknown field, a wrong type or an invalid value (a bad cron schedule,
// time zone or quantity) fails, which neither helm lint nor typed decoding
// catches. Three scenarios are then created for real, and the chart's
// ServiceAccount is checked with SubjectAccessReviews (it can read what the
// config lists and nothing more) and by running liftpush collect as it.
func TestAPIServer(t *testing.T) {
	helm := helmBinary(t)
	srv := kubeapi.Start(t)
	srv.CreateNamespaces(t, releaseNS, "team-a", "team-b", "shop")
	// The deployment scenario lists WorkerPools; the collector's own tests
	// carry the CRD. Something to collect for the RBAC tests below:
	srv.InstallCRDs(t, "../../internal/collect/kubernetes/testdata/crds/workers.spacelift.io_workerpools.yaml")
	srv.CreateDeployment(t, kubeapi.Deployment("team-a", "web", 2, nil), nil)

	manifests := map[string][]byte{}
	for name, file := range scenarios(t) {
		manifests[name] = template(t, helm, name, releaseNS, "--values", file)
	}

	t.Run("dry-run", func(t *testing.T) {
		for name, m := range manifests {
			if err := create(t, srv, m, true); err != nil {
				t.Errorf("%s: server-side dry run: %v", name, err)
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
			if err := create(t, srv, r.manifest, true); err == nil || !strings.Contains(err.Error(), r.want) {
				t.Errorf("%s: err = %v, want it to contain %q", r.name, err, r.want)
			}
		}
	})

	// Created for real, the RBAC must give exactly the configured reads.
	tests := []struct {
		scenario string
		can      []string // "verb resource[.group] -n namespace|--all-namespaces", as for kubectl auth can-i
		cannot   []string
		// noCollect: the scenario has no kubernetes collector to run.
		noCollect bool
	}{
		{
			scenario: "minimal",
			can:      []string{"list deployments.apps --all-namespaces", "get deployments.apps -n team-a"},
			cannot:   []string{"list secrets --all-namespaces", "delete deployments.apps -n team-a", "watch deployments.apps --all-namespaces", "list statefulsets.apps --all-namespaces"},
		},
		{
			// The daemon's watch caches list, then watch.
			scenario: "deployment",
			can:      []string{"list deployments.apps --all-namespaces", "watch deployments.apps --all-namespaces", "list statefulsets.apps -n team-b", "list workerpools.workers.spacelift.io --all-namespaces"},
			cannot:   []string{"list pods --all-namespaces", "update workerpools.workers.spacelift.io -n team-a"},
		},
		{
			scenario: "statefulset",
			can:      []string{"list deployments.apps --all-namespaces", "watch deployments.apps --all-namespaces", "watch statefulsets.apps -n team-a"},
			cannot:   []string{"list pods --all-namespaces", "watch secrets -n team-a", "delete statefulsets.apps -n team-a"},
		},
		{
			scenario: "namespaced",
			can:      []string{"list deployments.apps -n team-a", "list statefulsets.apps -n team-b", "list cronjobs.batch -n team-a", "list pods -n team-b"},
			cannot:   []string{"list deployments.apps --all-namespaces", "list deployments.apps -n " + releaseNS, "list secrets -n team-a", "create pods -n team-a"},
		},
		{
			// What Prometheus' discoverers list and watch, role by role.
			scenario: "kubernetes-sd",
			can: []string{"list nodes --all-namespaces", "watch nodes --all-namespaces", "watch pods --all-namespaces",
				"list ingresses.networking.k8s.io -n team-a", "watch endpointslices.discovery.k8s.io -n shop", "watch services -n shop"},
			cannot: []string{"list services -n team-a", "list endpointslices.discovery.k8s.io -n team-a", "list endpoints -n shop",
				"list secrets -n shop", "get pods -n shop", "list deployments.apps --all-namespaces"},
			noCollect: true,
		},
	}
	for _, tt := range tests {
		t.Run("rbac "+tt.scenario, func(t *testing.T) {
			if err := create(t, srv, manifests[tt.scenario], false); err != nil {
				t.Fatalf("creating the objects: %v", err)
			}
			sa := tt.scenario + "-liftpush"
			for _, q := range tt.can {
				// The RBAC authorizer learns new bindings from a watch: allow it a moment.
				deadline := time.Now().Add(10 * time.Second)
				ok := allowed(t, srv, sa, q)
				for !ok && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
					ok = allowed(t, srv, sa, q)
				}
				if !ok {
					t.Errorf("%s may not %s; want allowed", sa, q)
				}
			}
			for _, q := range tt.cannot {
				if allowed(t, srv, sa, q) {
					t.Errorf("%s may %s; want denied", sa, q)
				}
			}
			if !tt.noCollect {
				collectAs(t, srv, tt.scenario, manifests[tt.scenario])
			}
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

// create creates every object of a rendered manifest with strict field
// validation, as a dry run or for real, in the namespace the object names
// (the Roles name their own). It returns every object's error.
func create(t *testing.T, srv *kubeapi.Server, manifest []byte, dryRun bool) error {
	t.Helper()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(srv.Clientset.Discovery()))
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var errs []error
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		var obj unstructured.Unstructured
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096).Decode(&obj.Object); err != nil && err != io.EOF {
			return fmt.Errorf("decoding a rendered document: %w", err) // the document may be a Secret: not shown
		}
		if len(obj.Object) == 0 {
			continue // a document of comments only
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", gvk, err))
			continue
		}
		var ri dynamic.ResourceInterface = srv.Dynamic.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = srv.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		if _, err := ri.Create(t.Context(), &obj, opts); err != nil {
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// allowed asks the apiserver whether the chart's ServiceAccount sa in the
// release namespace may do q: "verb resource[.group] -n ns" or
// "verb resource[.group] --all-namespaces".
func allowed(t *testing.T, srv *kubeapi.Server, sa, q string) bool {
	t.Helper()
	f := strings.Fields(q)
	if len(f) < 3 {
		t.Fatalf("bad query %q", q)
	}
	resource, group, _ := strings.Cut(f[1], ".")
	attrs := &authorizationv1.ResourceAttributes{Verb: f[0], Resource: resource, Group: group}
	if f[2] == "-n" {
		attrs.Namespace = f[3]
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + releaseNS + ":" + sa,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"},
		ResourceAttributes: attrs,
	}}
	res, err := srv.Clientset.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview %q: %v", q, err)
	}
	return res.Status.Allowed
}
