package config

import "fmt"

// validateShard checks global.shard and global.total_shards: shards are
// numbered 0 to total_shards-1, as in kube-state-metrics.
func (g GlobalConfig) validateShard() error {
	if g.TotalShards < 1 {
		return fmt.Errorf("global.total_shards: must be at least 1 (1: no sharding), got %d", g.TotalShards)
	}
	if g.Shard < 0 || g.Shard >= g.TotalShards {
		return fmt.Errorf("global.shard: %d is out of range; with global.total_shards %d, shards are numbered 0 to %d (--shard, --shard.from-hostname and --total-shards set them too)",
			g.Shard, g.TotalShards, g.TotalShards-1)
	}
	return nil
}
