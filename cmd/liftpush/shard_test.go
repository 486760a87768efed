package main

import (
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/config"
)

func TestShardFlags(t *testing.T) {
	host := func(h string) func() (string, error) { return func() (string, error) { return h, nil } }
	for _, tc := range []struct {
		name         string
		f            shardFlags
		shard, total int
		err          string
	}{
		{name: "none keeps the file", shard: 1, total: 4},
		{name: "flags win", f: shardFlags{shard: 2, shardSet: true, total: 3, totalSet: true}, shard: 2, total: 3},
		{name: "hostname", f: shardFlags{fromHostname: true, hostname: host("liftpush-3"), total: 5, totalSet: true}, shard: 3, total: 5},
		{name: "hostname without ordinal", f: shardFlags{fromHostname: true, hostname: host("liftpush")},
			err: `--shard.from-hostname: hostname "liftpush" has no ordinal`},
		{name: "both", f: shardFlags{fromHostname: true, shardSet: true, hostname: host("liftpush-1")},
			err: "--shard and --shard.from-hostname both set the shard; keep one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Global.Shard, cfg.Global.TotalShards = 1, 4
			err := tc.f.apply(cfg)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error starting with %q", err, tc.err)
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
