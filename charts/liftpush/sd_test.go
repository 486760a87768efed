package chart

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v2"
	rbacv1 "k8s.io/api/rbac/v1"
)

// TestExampleKubernetesSDRBAC renders the chart with
// examples/kubernetes-sd.yml as its config: the ClusterRole must cover every
// role the example's jobs discover, and no more.
func TestExampleKubernetesSDRBAC(t *testing.T) {
	helm := helmBinary(t)
	b, err := os.ReadFile("../../examples/kubernetes-sd.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("examples/kubernetes-sd.yml: %v", err)
	}
	values, err := yaml.Marshal(map[string]any{"config": cfg})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, values, 0o600); err != nil {
		t.Fatal(err)
	}
	r := decode(t, template(t, helm, "example", releaseNS, "--values", file))
	rules := map[string][]rbacv1.PolicyRule{"ClusterRole": {
		sdRule("networking.k8s.io", "ingresses"),
		{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
		sdRule("", "endpoints", "nodes", "pods", "services"),
	}}
	checkRBAC(t, r, want{rules: rules}, "example-liftpush")
}

// TestSDRBACVariants: scope and the switches of kubernetes_sd_configs.
func TestSDRBACVariants(t *testing.T) {
	helm := helmBinary(t)
	job := func(sd string) []string {
		return []string{"--set", "config.remote_write[0].url=http://prometheus:9090/api/v1/write",
			"--set-json", `config.scrape_configs=[{"job_name":"j","kubernetes_sd_configs":[` + sd + `]}]`}
	}
	proxyJob := []string{"--set", "config.remote_write[0].url=http://prometheus:9090/api/v1/write",
		"--set-json", `config.scrape_configs=[{"job_name":"cadvisor","kubernetes_sd_configs":[{"role":"node"}],"relabel_configs":[{"target_label":"__metrics_path__","replacement":"/api/v1/nodes/${1}/proxy/metrics/cadvisor"}]}]`}
	nodeGet := func(res ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: res, Verbs: []string{"get"}}
	}
	tests := []struct {
		name string
		args []string
		want map[string][]rbacv1.PolicyRule
	}{
		{"endpoints", job(`{"role":"endpoints"}`), map[string][]rbacv1.PolicyRule{"ClusterRole": {sdRule("", "endpoints", "pods", "services")}}},
		{"own namespace", job(`{"role":"service","namespaces":{"own_namespace":true}}`),
			map[string][]rbacv1.PolicyRule{"Role/" + releaseNS: {sdRule("", "services")}}},
		{"attach_metadata", job(`{"role":"endpointslice","namespaces":{"names":["a"]},"attach_metadata":{"node":true,"namespace":true}}`),
			map[string][]rbacv1.PolicyRule{
				"ClusterRole": {sdRule("", "namespaces", "nodes")},
				"Role/a":      {sdRule("discovery.k8s.io", "endpointslices"), sdRule("", "pods", "services")},
			}},
		{"node role ignores namespaces", job(`{"role":"node","namespaces":{"names":["a"]}}`),
			map[string][]rbacv1.PolicyRule{"ClusterRole": {nodeGet("nodes/metrics"), sdRule("", "nodes")}}},
		{"through the apiserver proxy", proxyJob,
			map[string][]rbacv1.PolicyRule{"ClusterRole": {nodeGet("nodes/metrics", "nodes/proxy"), sdRule("", "nodes")}}},
		{"kubeconfig_file", job(`{"role":"pod","kubeconfig_file":"/etc/liftpush/secrets/kubeconfig"}`), map[string][]rbacv1.PolicyRule{}},
		{"rbac.create false", append(job(`{"role":"pod"}`), "--set", "rbac.create=false"), map[string][]rbacv1.PolicyRule{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, template(t, helm, "rel", releaseNS, tt.args...))
			got := map[string][]rbacv1.PolicyRule{}
			for _, cr := range objectsOf[*rbacv1.ClusterRole](r) {
				got["ClusterRole"] = cr.Rules
			}
			for _, role := range objectsOf[*rbacv1.Role](r) {
				got["Role/"+role.Namespace] = role.Rules
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RBAC rules (-want +got):\n%s", diff)
			}
		})
	}
}
