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
type sink interface {
	// each calls f with every entry of this kind in cfg, and the way to
	// build its destination. The entry is only compared, never cast: the
	// pipeline reuses the destination of an equal entry on reload.
	each(cfg *config.Config, env sinkEnv, f func(entry any, build func() (push.Destination, error)) error) error
}

// sinkOf is the sink of the entries of type T.
type sinkOf[T any] struct {
	entries func(cfg *config.Config) []*T
	build   func(entry *T, env sinkEnv) (push.Destination, error)
}

func (s sinkOf[T]) each(cfg *config.Config, env sinkEnv, f func(any, func() (push.Destination, error)) error) error {
	for _, e := range s.entries(cfg) {
		if err := f(e, func() (push.Destination, error) { return s.build(e, env) }); err != nil {
			return err
		}
	}
	return nil
}

// sinks lists every kind of destination by its config key; they are built
// in key order. Adding a sink means adding its package and one entry here.
var sinks = map[string]sink{
	"remote_write": sinkOf[config.RemoteWriteConfig]{
		entries: func(cfg *config.Config) []*config.RemoteWriteConfig { return cfg.RemoteWrite },
		build: func(e *config.RemoteWriteConfig, env sinkEnv) (push.Destination, error) {
			c, err := remotewrite.New(e, env.logger, env.userAgent)
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
	"pushgateway": sinkOf[config.PushgatewayConfig]{
		entries: func(cfg *config.Config) []*config.PushgatewayConfig { return cfg.Pushgateway },
		build: func(e *config.PushgatewayConfig, env sinkEnv) (push.Destination, error) {
			return pushgateway.New(e, env.logger, env.userAgent)
		},
	},
}
