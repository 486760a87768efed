package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/shard"
)

// shardFlags are kube-state-metrics' --shard and --total-shards, plus
// --shard.from-hostname for a StatefulSet. Set, they override global.shard
// and global.total_shards.
type shardFlags struct {
	shard, total       int
	shardSet, totalSet bool
	fromHostname       bool
	// hostname is os.Hostname; tests replace it.
	hostname func() (string, error)
}

func (f *shardFlags) add(cmd *kingpin.CmdClause) {
	cmd.Flag("shard", "This replica's shard, 0 to --total-shards minus 1 (global.shard): it keeps the Kubernetes objects and scrape targets that hash to it. Spacelift and pushed files belong to shard 0.").
		PlaceHolder("I").IsSetByUser(&f.shardSet).IntVar(&f.shard)
	cmd.Flag("total-shards", "How many shards share the work (global.total_shards); every replica must be given the same number.").
		PlaceHolder("N").IsSetByUser(&f.totalSet).IntVar(&f.total)
	cmd.Flag("shard.from-hostname", "Read the shard from the hostname's ordinal, as a StatefulSet names its pods: liftpush-2 is shard 2.").
		BoolVar(&f.fromHostname)
}

// apply sets cfg's shard from the flags; its errors are usage errors.
func (f *shardFlags) apply(cfg *config.Config) error {
	if f.fromHostname {
		if f.shardSet {
			return errors.New("--shard and --shard.from-hostname both set the shard; keep one")
		}
		hostname := f.hostname
		if hostname == nil {
			hostname = os.Hostname
		}
		host, err := hostname()
		if err != nil {
			return fmt.Errorf("--shard.from-hostname: reading the hostname: %w", err)
		}
		n, err := shard.FromHostname(host)
		if err != nil {
			return fmt.Errorf("--shard.from-hostname: %w", err)
		}
		cfg.Global.Shard = n
	} else if f.shardSet {
		cfg.Global.Shard = f.shard
	}
	if f.totalSet {
		cfg.Global.TotalShards = f.total
	}
	return nil
}
