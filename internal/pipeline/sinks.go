package pipeline

import (
	"log/slog"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushgateway"
	"github.com/liftpush/liftpush/internal/push/remotewrite"
)

// sink is one kind of destination: its entries in the configuration, and
// how to build a destination from one entry.
type sink struct {
	entries func(cfg *config.Config) []any
	build   func(entry any, logger *slog.Logger, userAgent string) (push.Destination, error)
}

// sinks lists every kind of destination by its config key; they are built
// in key order. Adding a sink means adding its package and one entry here.
var sinks = map[string]sink{
	"remote_write": {
		entries: func(cfg *config.Config) []any { return entriesOf(cfg.RemoteWrite) },
		build: func(e any, logger *slog.Logger, ua string) (push.Destination, error) {
			return remotewrite.New(e.(*config.RemoteWriteConfig), logger, ua)
		},
	},
	"pushgateway": {
		entries: func(cfg *config.Config) []any { return entriesOf(cfg.Pushgateway) },
		build: func(e any, logger *slog.Logger, ua string) (push.Destination, error) {
			return pushgateway.New(e.(*config.PushgatewayConfig), logger, ua)
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
