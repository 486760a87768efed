package kubernetes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

func deploymentObject(namespace, name, uid string, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{
			"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "7", "generation": int64(3),
			"creationTimestamp": "2026-01-01T00:00:00Z",
			"annotations":       map[string]any{"big": "x"},
			"managedFields":     []any{map[string]any{"manager": "kubectl", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}},
		},
		"spec": map[string]any{
			"replicas": replicas, "paused": false,
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": int64(1)}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "web", "ports": []any{map[string]any{"containerPort": int64(80), "protocol": "TCP"}}},
			}}},
		},
		"status": map[string]any{"replicas": replicas, "conditions": []any{
			map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
		}},
	}}
}

// TestRowSameAsList: the row of an object holds exactly the series that
// listing makes of it, in both namings.
func TestRowSameAsList(t *testing.T) {
	u := deploymentObject("shop", "web", "u-1", 2)
	namings := map[string]func(sink) (func(map[string]any, string, string), *flattener){
		"kube-api-exporter": func(s sink) (func(map[string]any, string, string), *flattener) {
			f := newFlattener(s, "k8s_", "Deployment", "apps/v1")
			return f.object, f
		},
		"kube-state-metrics": func(s sink) (func(map[string]any, string, string), *flattener) {
			return func(obj map[string]any, ns, name string) { ksmDeployment(s, obj, ns, name) }, nil
		},
	}
	// The pipeline's labels, as New gets them: both paths build them in.
	defaults := []labels.Label{{Name: "cluster", Value: "eu"}, {Name: "job", Value: "liftpush"}}
	for name, naming := range namings {
		t.Run(name, func(t *testing.T) {
			listed := newFamilySet(defaults)
			add, _ := naming(listed)
			add(u.Object, "shop", "web")

			b := newRowBuilder(shard.Unsharded, defaults, naming)
			r := b.row(u)
			if !r.owned || len(r.samples) == 0 {
				t.Fatalf("row of an unsharded object: owned %v, %d samples", r.owned, len(r.samples))
			}
			cached := newFamilySet(nil)
			fams := b.families()
			for _, s := range r.samples {
				f := fams[s.fam]
				cached.addSample(cached.family([]byte(f.name), func() string { return f.help }), metric.Sample{Labels: s.ls, Value: s.v})
			}
			if diff := cmp.Diff(exposition(listed.result()), exposition(cached.result())); diff != "" {
				t.Errorf("row differs from list (-list +row):\n%s", diff)
			}
			for _, s := range r.samples {
				if s.ls.Get("job") != "liftpush" || s.ls.Get("cluster") != "eu" {
					t.Errorf("row series %s lacks the defaults", s.ls)
				}
			}
		})
	}
}

// TestRowOtherShard: an object of another shard becomes a row without
// samples, which the store drops; the owner's row is kept.
func TestRowOtherShard(t *testing.T) {
	mine, theirs := shard.Owner{Shard: 0, Total: 2}, shard.Owner{Shard: 1, Total: 2}
	if !mine.OwnsUID("u-1") {
		mine, theirs = theirs, mine
	}
	naming := func(s sink) (func(map[string]any, string, string), *flattener) {
		f := newFlattener(s, "k8s_", "Deployment", "apps/v1")
		return f.object, f
	}
	u := deploymentObject("shop", "web", "u-1", 2)
	other := newRowBuilder(theirs, nil, naming).row(u)
	if other.owned || other.samples != nil {
		t.Errorf("another shard's row: owned %v, %d samples", other.owned, len(other.samples))
	}
	own := newRowBuilder(mine, nil, naming).row(u)
	if !own.owned || len(own.samples) == 0 {
		t.Errorf("the owner's row: owned %v, %d samples", own.owned, len(own.samples))
	}
	s := newRowStore()
	if _, ok := s.snapshot(); ok {
		t.Error("synced before the first list")
	}
	if err := s.Replace([]any{own}, "1"); err != nil {
		t.Fatal(err)
	}
	// The name is taken over by an object of another shard.
	if err := s.Update(other); err != nil {
		t.Fatal(err)
	}
	if rows, ok := s.snapshot(); !ok || len(rows) != 0 {
		t.Errorf("after another shard's object took the name: %d rows, synced %v", len(rows), ok)
	}
}

// TestRowStore: the store follows adds, updates, deletes and relists, and
// hands rows out in namespace/name order.
func TestRowStore(t *testing.T) {
	b := newRowBuilder(shard.Unsharded, nil, func(s sink) (func(map[string]any, string, string), *flattener) {
		f := newFlattener(s, "k8s_", "Deployment", "apps/v1")
		return f.object, f
	})
	mk := func(ns, name string, replicas int64) *row {
		return b.row(deploymentObject(ns, name, ns+"/"+name, replicas))
	}
	names := func(rows []*row) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.namespace+"/"+r.name)
		}
		return out
	}
	s := newRowStore()
	if err := s.Replace([]any{mk("b", "x", 1), mk("a", "z", 1), mk("a", "y", 1)}, "1"); err != nil {
		t.Fatal(err)
	}
	rows, ok := s.snapshot()
	if want := []string{"a/y", "a/z", "b/x"}; !ok || !cmp.Equal(names(rows), want) {
		t.Fatalf("after the list: %v (synced %v), want %v", names(rows), ok, want)
	}
	_ = s.Add(mk("a", "a", 1))
	_ = s.Update(mk("a", "z", 5))
	_ = s.Delete(&row{namespace: "b", name: "x"})
	rows, _ = s.snapshot()
	if want := []string{"a/a", "a/y", "a/z"}; !cmp.Equal(names(rows), want) {
		t.Fatalf("after watch events: %v, want %v", names(rows), want)
	}
	replicas := -1.0
	for _, smp := range rows[2].samples {
		if smp.ls.Get("__name__") == "k8s_deployment_spec_replicas" {
			replicas = smp.v
		}
	}
	if replicas != 5 {
		t.Errorf("updated row has spec.replicas %v, want 5", replicas)
	}
	_ = s.Replace([]any{mk("c", "c", 1)}, "2")
	if rows, _ = s.snapshot(); !cmp.Equal(names(rows), []string{"c/c"}) {
		t.Errorf("after a relist: %v, want [c/c]", names(rows))
	}
}

// TestSeriesDefaults: a series gets each default it lacks, its own label
// wins, and an empty own value counts as absent, as the pipeline's
// decoration would have it.
func TestSeriesDefaults(t *testing.T) {
	b := labels.NewScratchBuilder(8)
	defaults := []labels.Label{{Name: "job", Value: "liftpush"}, {Name: "namespace", Value: "from-defaults"}, {Name: "region", Value: "eu"}}
	for _, tc := range []struct {
		pairs []string
		want  string
	}{
		{[]string{"name", "web"}, `{__name__="m", job="liftpush", name="web", namespace="from-defaults", region="eu"}`},
		{[]string{"namespace", "shop", "name", "web"}, `{__name__="m", job="liftpush", name="web", namespace="shop", region="eu"}`},
		{[]string{"namespace", "", "name", "web"}, `{__name__="m", job="liftpush", name="web", namespace="from-defaults", region="eu"}`},
	} {
		if got := seriesLabels(&b, "m", tc.pairs, defaults).String(); got != tc.want {
			t.Errorf("seriesLabels(%q) = %s, want %s", tc.pairs, got, tc.want)
		}
	}
}
