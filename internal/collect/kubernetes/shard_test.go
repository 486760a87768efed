package kubernetes

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/shard"
)

// TestShardsSplitObjects: the shards of one cluster together keep every
// object exactly once, and each shard keeps what its UID hash says.
func TestShardsSplitObjects(t *testing.T) {
	srv := setupFixture(t)
	mutate := func(cfg *config.KubernetesConfig) { cfg.Namespaces = fixtureNamespaces }
	all, err := newCollector(t, srv.Kubeconfig, mutate).Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const family = "k8s_deployment_spec_replicas"
	want := objectsOf(all, family, "name")
	if len(want) < 4 {
		t.Fatalf("fixture has %d Deployments, want 4", len(want))
	}
	const n = 3
	var union []string
	for i := range n {
		c := newCollector(t, srv.Kubeconfig, mutate)
		c.SetShard(shard.Owner{Shard: i, Total: n})
		fams, err := c.Collect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		union = append(union, objectsOf(fams, family, "name")...)
	}
	slices.Sort(union)
	if diff := cmp.Diff(want, union); diff != "" {
		t.Errorf("union of %d shards differs from one unsharded run (-want +got):\n%s", n, diff)
	}
}
