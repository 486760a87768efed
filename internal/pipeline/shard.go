package pipeline

import (
	"maps"
	"strconv"

	"github.com/liftpush/liftpush/internal/collect"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/shard"
)

// Sharding (issue 20). Replica I of N keeps the Kubernetes objects and
// scrape targets that hash to I (shard.Owner). What cannot be split by a
// hash, the Spacelift account and a pushed file, belongs to shard 0: the
// other shards would only push the same series again.

// ownerOf is the part of the work cfg gives this replica.
func ownerOf(cfg *config.Config) shard.Owner {
	return shard.Owner{Shard: cfg.Global.Shard, Total: cfg.Global.TotalShards}
}

// shard0Only names the collectors only shard 0 runs.
var shard0Only = map[string]bool{"spacelift": true}

// ownCollectors drops from cs the collectors that belong to shard 0 when o
// is another shard.
func ownCollectors(cs []collect.Collector, o shard.Owner) []collect.Collector {
	if o.Shard == 0 {
		return cs
	}
	out := cs[:0:0]
	for _, c := range cs {
		if !shard0Only[c.Name()] {
			out = append(out, c)
		}
	}
	return out
}

// setShard tells every collector its part.
func setShard(cs []collect.Collector, o shard.Owner) {
	for _, c := range cs {
		c.SetShard(o)
	}
}

// shardGrouping adds shard=<I> to the grouping key of every Pushgateway
// entry of a sharded cfg: the groups are per collector (job, collector),
// so N shards would otherwise replace each other's group at every push.
// The self-metrics carry the same shard label, which the grouping then
// holds. An entry that sets shard itself keeps its value.
func shardGrouping(cfg *config.Config) {
	o := ownerOf(cfg)
	if !o.Sharded() {
		return
	}
	for _, pg := range cfg.Pushgateway {
		if _, ok := pg.Grouping["shard"]; ok {
			continue
		}
		g := maps.Clone(pg.Grouping)
		if g == nil {
			g = map[string]string{}
		}
		g["shard"] = strconv.Itoa(o.Shard)
		pg.Grouping = g
	}
}
