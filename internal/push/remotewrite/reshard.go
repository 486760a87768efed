package remotewrite

// Staleness across reshards (issue 20). When global.total_shards changes,
// a series can move from one replica to another. The replica that lost it
// would mark it stale after its new owner wrote a sample, and the series
// would read as gone until the owner's next cycle. So a cycle whose shard
// differs from the last cycle's sends no stale markers: the series it
// collected become the reference for the next one, which marks as usual.
// A series deleted during that one cycle is not marked, and ages out of
// queries after the 5-minute lookback instead.
//
// The shard of the last cycle lives beside its series: in memory for a
// daemon, in the spool dir for run --once processes sharing it.

// shardState keeps the last cycle's shard in the spool; no file reads as
// unsharded, as written by a liftpush from before sharding.
const shardState = "shard"

// resharded records shard as this cycle's and reports whether the last
// cycle's was different.
func (c *Client) resharded(shard string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastShard == nil {
		var prev string
		if c.queue != nil {
			b, err := c.queue.LoadState(shardState)
			if err != nil {
				c.logger.Warn("the spool's shard of the last cycle is unreadable; taking it as unchanged", "err", err)
				b = []byte(shard)
			}
			prev = string(b)
		}
		c.lastShard = &prev
	}
	changed := *c.lastShard != shard
	if changed {
		if c.queue != nil {
			if err := c.queue.SaveState(shardState, []byte(shard)); err != nil {
				c.logger.Error("saving the shard of this cycle to the spool", "err", err)
			}
		}
		c.lastShard = &shard
	}
	return changed
}
