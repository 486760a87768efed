package pipeline

import (
	"fmt"
	"log/slog"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushgateway"
	"github.com/liftpush/liftpush/internal/push/remotewrite"
	"github.com/liftpush/liftpush/internal/spool"
)

// sinkEnv is what every sink factory gets besides its config entry.
type sinkEnv struct {
	logger    *slog.Logger
	userAgent string
	// spool is the durable queue when spool.dir is set, else nil.
	spool *spool.Spool
}

// sink is one kind of destination: its entries in the configuration, and
// how to build a destination from one entry.
type sink struct {
	entries func(cfg *config.Config) []any
	build   func(entry any, env sinkEnv) (push.Destination, error)
}

// sinks lists every kind of destination by its config key; they are built
// in key order. Adding a sink means adding its package and one entry here.
var sinks = map[string]sink{
	"remote_write": {
		entries: func(cfg *config.Config) []any { return entriesOf(cfg.RemoteWrite) },
		build: func(e any, env sinkEnv) (push.Destination, error) {
			c, err := remotewrite.New(e.(*config.RemoteWriteConfig), env.logger, env.userAgent)
			if err != nil || env.spool == nil {
				return c, err
			}
			q, err := env.spool.Queue(c.Name())
			if err != nil {
				return nil, fmt.Errorf("spool of %s: %w", c.Name(), err)
			}
			c.SetSpool(q)
			return c, nil
		},
	},
	// The Pushgateway keeps the last value of every group itself: a
	// spool would only replay values it has already replaced.
	"pushgateway": {
		entries: func(cfg *config.Config) []any { return entriesOf(cfg.Pushgateway) },
		build: func(e any, env sinkEnv) (push.Destination, error) {
			return pushgateway.New(e.(*config.PushgatewayConfig), env.logger, env.userAgent)
		},
	},
}

func entriesOf[T any](list []*T) []any {
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = e
	}
	return out
}
