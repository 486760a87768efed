package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func loadKubernetes(t *testing.T, file string) (*Config, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(b)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func TestKubernetesGood(t *testing.T) {
	for _, tc := range []struct {
		file string
		want KubernetesConfig
	}{
		{
			file: "kubernetes-minimal.good.yml",
			want: KubernetesConfig{Naming: "kube-api-exporter", Resources: []string{"deployments"}, PageSize: 500},
		},
		{
			file: "kubernetes-full.good.yml",
			want: KubernetesConfig{
				Kubeconfig:        "kubeconfig.yml",
				Namespaces:        []string{"team-a", "team-b"},
				LabelSelector:     "app=web,tier!=cache",
				Naming:            "kube-state-metrics",
				Resources:         []string{"deployments", "statefulsets.apps", "workerpools.v1beta1.workers.spacelift.io"},
				PageSize:          1000,
				UseAPIServerCache: true,
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := loadKubernetes(t, tc.file)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !cfg.Kubernetes.IsEnabled() {
				t.Error("a present kubernetes block must be enabled")
			}
			if diff := cmp.Diff(tc.want, *cfg.Kubernetes); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKubernetesBad(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"kubernetes-naming.bad.yml", `kubernetes: naming: "prometheus" is not a naming scheme; use "kube-api-exporter" (k8s_deployment_spec_replicas{namespace,name}) or "kube-state-metrics" (kube_deployment_spec_replicas{namespace,deployment})`},
		{"kubernetes-resource.bad.yml", `kubernetes: resources[1]: "Deployments.apps" is not a resource name; use the plural resource name as kubectl does, e.g. "deployments", "statefulsets.apps" or "workerpools.v1beta1.workers.spacelift.io"`},
		{"kubernetes-resource-duplicate.bad.yml", `kubernetes: resources[1]: "deployments" is already listed at resources[0]; remove one`},
		{"kubernetes-resources-empty.bad.yml", `kubernetes: resources: must not be empty; list what to collect, e.g. [deployments] (the default when the key is left out)`},
		{"kubernetes-namespace.bad.yml", `kubernetes: namespaces[0]: "Team_A" is not a namespace name; use lower-case letters, digits and '-', at most 63 characters`},
		{"kubernetes-selector.bad.yml", `kubernetes: label_selector: "app in (web" is not a label selector (unable to parse requirement: found '', expected: ',' or ')'); use the kubectl -l syntax, e.g. "app=web,tier!=cache"`},
		{"kubernetes-page-size.bad.yml", `kubernetes: page_size: 0 is out of range; use 1 to 10000 (default 500)`},
		{"kubernetes-unknown-key.bad.yml", `parsing YAML: line 2: unknown key "namespace"`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := loadKubernetes(t, tc.file)
			if err == nil {
				t.Fatal("expected an error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// TestIsDNSLabel holds isDNSLabel to the regexp it replaced.
func TestIsDNSLabel(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, s := range []string{
		"", "a", "0", "-", "a-", "-a", "a-b", "a--b", "default", "kube-system",
		"A", "aB", "a_b", "a.b", "a b", "a\n", "\na", "é", "v1beta1", "9-9",
	} {
		if got, want := isDNSLabel(s), re.MatchString(s); got != want {
			t.Errorf("isDNSLabel(%q) = %v, want %v", s, got, want)
		}
	}
}
