package kubernetes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
)

// An apiserver that cannot be reached is a failed collection with the
// cause in the error, not a claim that the resource does not exist.
func TestCollectUnreachable(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCollector(t, kubeconfig, nil)
	fams, err := c.Collect(t.Context())
	if err == nil {
		t.Fatal("want an error")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "not served") {
		t.Errorf("error %q should give the connection failure", err)
	}
	if len(fams) != 0 {
		t.Errorf("got %d families from nowhere", len(fams))
	}
}

func TestNewWithoutCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := New(&config.KubernetesConfig{}, labels.EmptyLabels(), nil, "liftpush/test")
	if err == nil || !strings.Contains(err.Error(), "no Kubernetes cluster found") {
		t.Errorf("error %v, want one saying no cluster was found", err)
	}
}
