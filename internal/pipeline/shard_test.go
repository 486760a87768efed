package pipeline

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

type shardedCollector struct {
	fakeCollector
	got shard.Owner
}

func (c *shardedCollector) SetShard(o shard.Owner) { c.got = o }

func shardedConfig(i, n int) *config.Config {
	cfg := config.Default()
	cfg.Global.Shard, cfg.Global.TotalShards = i, n
	return cfg
}

// TestShardRules: Spacelift runs on shard 0 only, and every collector that
// splits its work is told its part when a configuration is applied.
func TestShardRules(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		want []string
	}{
		{0, 1, []string{"spacelift", "kubernetes"}},
		{0, 3, []string{"spacelift", "kubernetes"}},
		{2, 3, []string{"kubernetes"}},
	} {
		k := &shardedCollector{fakeCollector: fakeCollector{name: "kubernetes"}}
		all := []collect.Collector{&fakeCollector{name: "spacelift"}, k}
		cfg := shardedConfig(tc.i, tc.n)
		p := newPipeline()
		p.apply(&built{cfg: cfg, collectors: ownCollectors(all, ownerOf(cfg))})
		var names []string
		for _, c := range p.Collectors() {
			names = append(names, c.Name())
		}
		if strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("shard %d of %d runs %v, want %v", tc.i, tc.n, names, tc.want)
		}
		if want := (shard.Owner{Shard: tc.i, Total: tc.n}); k.got != want {
			t.Errorf("shard %d of %d: the collector was told %v", tc.i, tc.n, k.got)
		}
		if len(all) != 2 {
			t.Errorf("ownCollectors changed its input")
		}
	}
}

// TestShardSelfLabels: a sharded replica's self-metrics, and only those,
// carry shard and total_shards; an unsharded one's are unchanged.
func TestShardSelfLabels(t *testing.T) {
	for _, tc := range []struct {
		o         shard.Owner
		shard, of string
	}{
		{shard.Owner{Shard: 1, Total: 3}, "1", "3"},
		{shard.Unsharded, "", ""},
	} {
		p := newPipeline()
		p.shard = tc.o
		groups := p.Groups([]Outcome{{Collector: "kubernetes", Families: []metric.Family{gauge("k8s_deployment_spec_replicas", 1, "name", "a")}}}, time.Unix(1_700_000_000, 0))
		n := 0
		for _, g := range groups {
			for _, f := range g.Self {
				for _, s := range f.Samples {
					n++
					if s.Labels.Get("shard") != tc.shard || s.Labels.Get("total_shards") != tc.of {
						t.Errorf("%v: self series %s, want shard=%q total_shards=%q", tc.o, s.Labels, tc.shard, tc.of)
					}
				}
			}
			for _, f := range g.Families {
				for _, s := range f.Samples {
					if s.Labels.Has("shard") || s.Labels.Has("total_shards") {
						t.Errorf("data series %s carries shard labels", s.Labels)
					}
				}
			}
		}
		if n < 4 {
			t.Fatalf("%d self series, want the collector's and build_info", n)
		}
	}
}

// TestPushBelongsToShard0: a file is pushed by shard 0 only; another shard
// delivers nothing and reads nothing.
func TestPushBelongsToShard0(t *testing.T) {
	p := newPipeline()
	p.shard = shard.Owner{Shard: 1, Total: 2}
	d := &fakeDestination{name: "d"}
	p.destinations = append(p.destinations, d)
	r := strings.NewReader("x 1\n")
	res := p.Push(context.Background(), PushInput{Name: "f", R: r})
	if res.Samples != 0 || len(res.Reports) != 0 || !res.OK() {
		t.Errorf("shard 1 pushed: %+v", res)
	}
	if r.Len() != 4 {
		t.Errorf("shard 1 read the input")
	}
}

// TestShardGrouping: a sharded replica's Pushgateway groups carry its
// shard, so shards do not replace each other's groups; an unsharded one's
// and a user's own shard label are left alone.
func TestShardGrouping(t *testing.T) {
	for _, tc := range []struct {
		name     string
		i, n     int
		grouping map[string]string
		want     map[string]string
	}{
		{"unsharded", 0, 1, nil, nil},
		{"sharded", 2, 3, map[string]string{"cluster": "a"}, map[string]string{"cluster": "a", "shard": "2"}},
		{"sharded without grouping", 1, 3, nil, map[string]string{"shard": "1"}},
		{"the user's own", 1, 3, map[string]string{"shard": "east"}, map[string]string{"shard": "east"}},
	} {
		cfg := shardedConfig(tc.i, tc.n)
		orig := maps.Clone(tc.grouping)
		cfg.Pushgateway = []*config.PushgatewayConfig{{Grouping: tc.grouping}}
		shardGrouping(cfg)
		if got := cfg.Pushgateway[0].Grouping; !maps.Equal(got, tc.want) {
			t.Errorf("%s: grouping %v, want %v", tc.name, got, tc.want)
		}
		if !maps.Equal(tc.grouping, orig) {
			t.Errorf("%s: the original map was changed", tc.name)
		}
	}
}
