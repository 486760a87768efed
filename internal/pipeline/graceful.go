package pipeline

import (
	"context"
	"time"

	"github.com/liftpush/liftpush/internal/push"
)

// Graceful returns a context for work that must survive a stop request:
// it ends grace after stop ends (cause push.ErrShutdown), or when the
// returned cancel is called. `run --once` and `push` use it so that SIGTERM
// lets in-flight data land, as the daemon's drain does.
func Graceful(stop context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(stop))
	unhook := context.AfterFunc(stop, func() {
		t := time.AfterFunc(grace, func() { cancel(push.ErrShutdown) })
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() {
		unhook()
		cancel(context.Canceled)
	}
}
