package kubernetes

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newCollector(t testing.TB, kubeconfig string, mutate func(*config.KubernetesConfig)) *Collector {
	t.Helper()
	cfg := config.DefaultKubernetesConfig
	cfg.Kubeconfig = kubeconfig
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(&cfg, labels.EmptyLabels(), slog.New(slog.DiscardHandler), "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// objectsOf returns "namespace/name" of each sample of family name, sorted.
func objectsOf(fams []metric.Family, name, nameLabel string) []string {
	var out []string
	for _, f := range fams {
		if f.Name != name {
			continue
		}
		for _, s := range f.Samples {
			out = append(out, s.Labels.Get("namespace")+"/"+s.Labels.Get(nameLabel))
		}
	}
	slices.Sort(out)
	return out
}

func TestCollectGolden(t *testing.T) {
	srv := setupFixture(t)
	for _, naming := range []string{config.NamingKubeAPIExporter, config.NamingKubeStateMetrics} {
		t.Run(naming, func(t *testing.T) {
			c := newCollector(t, srv.Kubeconfig, func(cfg *config.KubernetesConfig) {
				cfg.Naming = naming
				cfg.Namespaces = fixtureNamespaces
				cfg.Resources = []string{"deployments", "workerpools.v1beta1.workers.spacelift.io"}
			})
			fams, err := c.Collect(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, fams)
			normaliseCreated(t, fams)
			compareGolden(t, filepath.Join("testdata", naming+".golden.prom"), exposition(fams))
		})
	}
}

// normaliseCreated replaces creation timestamps, which differ per run, by 1
// after checking they are recent.
func normaliseCreated(t *testing.T, fams []metric.Family) {
	for i := range fams {
		if fams[i].Name != "kube_deployment_created" {
			continue
		}
		for j := range fams[i].Samples {
			v := fams[i].Samples[j].Value
			if age := time.Since(time.Unix(int64(v), 0)); age < -time.Minute || age > time.Hour {
				t.Errorf("kube_deployment_created %s = %v, not a recent timestamp", fams[i].Samples[j].Labels, v)
			}
			fams[i].Samples[j].Value = 1
		}
	}
}

func checkNames(t *testing.T, fams []metric.Family) {
	t.Helper()
	for _, f := range fams {
		if !model.LegacyValidation.IsValidMetricName(f.Name) {
			t.Errorf("invalid metric name %q", f.Name)
		}
		if f.Help == "" || f.Type != model.MetricTypeGauge {
			t.Errorf("%s: help %q, type %q", f.Name, f.Help, f.Type)
		}
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestCollectFiltering(t *testing.T) {
	srv := setupFixture(t)
	for _, tc := range []struct {
		name   string
		mutate func(*config.KubernetesConfig)
		want   []string
	}{
		{"one namespace", func(c *config.KubernetesConfig) { c.Namespaces = []string{"team-b"} }, []string{"team-b/worker"}},
		{"two namespaces", func(c *config.KubernetesConfig) { c.Namespaces = []string{"team-c", "team-a"} }, []string{"team-a/api", "team-a/web", "team-c/batch"}},
		{"label selector cluster-wide", func(c *config.KubernetesConfig) { c.LabelSelector = "tier=backend" }, []string{"team-a/api", "team-b/worker"}},
		{"label selector and namespace", func(c *config.KubernetesConfig) {
			c.LabelSelector = "tier in (backend,jobs)"
			c.Namespaces = []string{"team-b", "team-c"}
		}, []string{"team-b/worker", "team-c/batch"}},
		{"from the apiserver cache", func(c *config.KubernetesConfig) {
			c.UseAPIServerCache = true
			c.Namespaces = fixtureNamespaces
		}, []string{"team-a/api", "team-a/web", "team-b/worker", "team-c/batch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams, err := newCollector(t, srv.Kubeconfig, tc.mutate).Collect(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, objectsOf(fams, "k8s_deployment_metadata_generation", "name")); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
		})
	}
}

// pageCounter records the "listed" debug lines, to see how many pages a
// list took.
type pageCounter struct {
	mu    sync.Mutex
	pages []int64
}

func (p *pageCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *pageCounter) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *pageCounter) WithGroup(string) slog.Handler            { return p }
func (p *pageCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "pages" {
			p.mu.Lock()
			p.pages = append(p.pages, a.Value.Int64())
			p.mu.Unlock()
		}
		return true
	})
	return nil
}

func TestCollectPagination(t *testing.T) {
	srv := setupFixture(t)
	const n = 1200
	srv.CreateDeployments(t, "paging", n, 16)

	for _, useCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("use_apiserver_cache=%v", useCache), func(t *testing.T) {
			counter := &pageCounter{}
			cfg := config.DefaultKubernetesConfig
			cfg.Kubeconfig = srv.Kubeconfig
			cfg.Namespaces = []string{"paging"}
			cfg.UseAPIServerCache = useCache
			c, err := New(&cfg, labels.EmptyLabels(), slog.New(counter), "liftpush/test")
			if err != nil {
				t.Fatal(err)
			}
			fams, err := c.Collect(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := objectsOf(fams, "k8s_deployment_spec_replicas", "name")
			if len(got) != n {
				t.Errorf("got %d deployments, want %d", len(got), n)
			}
			seen := map[string]int{}
			for _, o := range got {
				seen[o]++
			}
			for i := range n {
				if o := fmt.Sprintf("paging/d-%05d", i); seen[o] != 1 {
					t.Errorf("%s seen %d times, want once", o, seen[o])
				}
			}
			t.Logf("pages: %v", counter.pages)
			// From etcd, pages of 500: 3 requests. The watch cache may answer
			// resourceVersion=0 in one response, so only the result counts there.
			if !useCache {
				if diff := cmp.Diff([]int64{3}, counter.pages); diff != "" {
					t.Errorf("pages of 500 for %d objects (-want +got):\n%s", n, diff)
				}
			}
		})
	}
}

func TestCollectForbidden(t *testing.T) {
	srv := setupFixture(t)
	token := srv.ServiceAccountToken(t, "team-a", "liftpush", []rbacv1.PolicyRule{{
		APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"list"},
	}})
	kubeconfig := srv.WriteKubeconfig(t, "liftpush-sa", token)

	_, err := newCollector(t, kubeconfig, nil).Collect(t.Context())
	if err == nil {
		t.Fatal("cluster-wide list with a namespaced Role: want a 403 error")
	}
	for _, want := range []string{
		`listing deployments.apps in all namespaces is forbidden (verb list, resource deployments.apps)`,
		`grant it with a ClusterRole with the rule {apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"]} and a ClusterRoleBinding, or set kubernetes.namespaces to the namespaces where a Role grants it`,
		`system:serviceaccount:team-a:liftpush`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}

	_, err = newCollector(t, kubeconfig, func(c *config.KubernetesConfig) { c.Namespaces = []string{"team-b"} }).Collect(t.Context())
	want := `listing deployments.apps in namespace "team-b" is forbidden (verb list, resource deployments.apps): grant it with a Role in namespace "team-b" with the rule {apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"]} and a RoleBinding to liftpush's identity`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("namespace without a Role: error %v\nwant it to contain %q", err, want)
	}

	fams, err := newCollector(t, kubeconfig, func(c *config.KubernetesConfig) { c.Namespaces = []string{"team-a"} }).Collect(t.Context())
	if err != nil {
		t.Fatalf("namespaced collect with a Role: %v", err)
	}
	if diff := cmp.Diff([]string{"team-a/api", "team-a/web"}, objectsOf(fams, "k8s_deployment_spec_replicas", "name")); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
}

func TestCollectUnknownResource(t *testing.T) {
	srv := setupFixture(t)
	c := newCollector(t, srv.Kubeconfig, func(c *config.KubernetesConfig) {
		c.Resources = []string{"widgets.example.com", "deployments"}
		c.Namespaces = []string{"team-b"}
	})
	fams, err := c.Collect(t.Context())
	if err == nil {
		t.Fatal("want an error for an unknown resource")
	}
	for _, want := range []string{`resource "widgets.example.com" is not served by this cluster; it serves `, "deployments.apps", "workerpools.workers.spacelift.io", "namespaces, "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
	// The resources that exist are still collected.
	if diff := cmp.Diff([]string{"team-b/worker"}, objectsOf(fams, "k8s_deployment_spec_replicas", "name")); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
}
