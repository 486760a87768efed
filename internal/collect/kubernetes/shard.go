package kubernetes

import "github.com/liftpush/liftpush/internal/shard"

// SetShard implements shard.Sharder: from the next Collect on, only the
// objects whose UID hashes to o are kept. Every shard still lists (or
// watches) every object, as kube-state-metrics does: the apiserver cannot
// filter by a hash of the UID, so N shards cost it N times the reads of one
// replica, while each replica's memory and series are 1/N.
func (c *Collector) SetShard(o shard.Owner) { c.shard.Set(o) }
