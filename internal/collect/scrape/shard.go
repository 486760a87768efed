package scrape

import (
	"context"

	"github.com/liftpush/liftpush/internal/shard"
)

// SetShard implements collect.Collector: from the next Collect on, only the
// targets whose final labels hash to o are scraped (shard.Owner.OwnsLabels).
func (c *Collector) SetShard(o shard.Owner) { c.shard.Set(o) }

// Watch implements collect.Collector: a target is scraped every cycle, and
// service discovery already runs between cycles.
func (c *Collector) Watch(context.Context) {}
