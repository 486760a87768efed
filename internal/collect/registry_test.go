package collect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/liftpush/liftpush/internal/config"
)

func load(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

const base = `
spacelift:
  endpoint: https://acme.app.spacelift.io
  api_key_id: 01HXYZ
  api_key_secret: s3cret
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["app:8080"]}]
`

// TestBuildCarriesOverUnchangedSources: a reload keeps the collectors (and
// so the Spacelift token and HTTP clients) of every source whose block did
// not change, and rebuilds the others.
func TestBuildCarriesOverUnchangedSources(t *testing.T) {
	opts := Options{}
	first, err := Build(load(t, base), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	same, err := Build(load(t, base), opts, first)
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.All(), same.All()
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("collectors: %d and %d, want 2", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("%s was rebuilt from an unchanged config", a[i].Name())
		}
	}

	changed, err := Build(load(t, base+"  - job_name: other\n    static_configs: [{targets: [\"other:9100\"]}]\n"), opts, same)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Collector{}
	for _, c := range changed.All() {
		got[c.Name()] = c
	}
	if got["spacelift"] != b[0] && got["spacelift"] != b[1] {
		t.Error("spacelift was rebuilt though its block did not change")
	}
	for _, c := range b {
		if c.Name() == "scrape/app" && got["scrape/app"] == c {
			t.Error("scrape/app kept though scrape_configs changed")
		}
	}
	if got["scrape/other"] == nil {
		t.Error("the added scrape job is missing")
	}

	secret, err := Build(load(t, `
spacelift:
  endpoint: https://acme.app.spacelift.io
  api_key_id: 01HXYZ
  api_key_secret: other
`), opts, changed)
	if err != nil {
		t.Fatal(err)
	}
	if secret.All()[0] == got["spacelift"] {
		t.Error("spacelift kept though its secret changed")
	}
}

// TestBuildRebuildsKubernetesOnNewLabels: the Kubernetes collector builds
// global.job and external_labels into its series (kubernetes.New), so a
// reload that changes them must rebuild it, and one that does not must
// keep it with its watch caches.
func TestBuildRebuildsKubernetesOnNewLabels(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	doc := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(kubeconfig, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	kube := "kubernetes: {kubeconfig: " + kubeconfig + "}\n"
	build := func(global string, prev *Set) (*Set, Collector) {
		t.Helper()
		s, err := Build(load(t, global+kube), Options{}, prev)
		if err != nil {
			t.Fatal(err)
		}
		return s, s.All()[0]
	}
	first, c := build("global: {job: a}\n", nil)
	for _, step := range []struct {
		global  string
		rebuilt bool
	}{
		{"global: {job: a}\n", false},
		{"global: {job: b}\n", true},
		{"global: {job: b, external_labels: {cluster: eu}}\n", true},
		{"global: {job: b, external_labels: {cluster: eu}}\n", false},
	} {
		next, nc := build(step.global, first)
		if (nc != c) != step.rebuilt {
			t.Errorf("%q: rebuilt %v, want %v", step.global, nc != c, step.rebuilt)
		}
		first, c = next, nc
	}
}
