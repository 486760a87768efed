package config

import "testing"

func TestShardKeys(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, err string
		shard, total    int
	}{
		{name: "defaults", yaml: "global: {}\n", shard: 0, total: 1},
		{name: "no global", yaml: "", shard: 0, total: 1},
		{name: "set", yaml: "global: {shard: 2, total_shards: 3}\n", shard: 2, total: 3},
		{name: "shard too big", yaml: "global: {shard: 3, total_shards: 3}\n",
			err: "global.shard: 3 is out of range; with global.total_shards 3, shards are numbered 0 to 2 (--shard, --shard.from-hostname and --total-shards set them too)"},
		{name: "negative shard", yaml: "global: {shard: -1, total_shards: 2}\n",
			err: "global.shard: -1 is out of range; with global.total_shards 2, shards are numbered 0 to 1 (--shard, --shard.from-hostname and --total-shards set them too)"},
		{name: "zero total", yaml: "global: {total_shards: 0}\n",
			err: "global.total_shards: must be at least 1 (1: no sharding), got 0"},
		{name: "not a number", yaml: "global: {total_shards: three}\n",
			err: "parsing YAML: line 1: cannot unmarshal !!str `three` into int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(tc.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got error %v\nwant       %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Global.Shard != tc.shard || cfg.Global.TotalShards != tc.total {
				t.Fatalf("shard %d of %d, want %d of %d", cfg.Global.Shard, cfg.Global.TotalShards, tc.shard, tc.total)
			}
		})
	}
}
