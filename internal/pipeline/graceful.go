package pipeline

import (
	"context"
	"errors"
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

// StuckGrace is how long a stage may take to return once its context is
// cancelled before it is abandoned. Every stage should return at once; one
// blocked in a call that ignores its context (a read from a FIFO, a hung
// NFS mount) must not keep the process alive after SIGTERM (issue 22).
const StuckGrace = time.Second

// ErrAbandoned says that a stage was still running StuckGrace after its
// context was cancelled at shutdown_timeout, and was left behind: the
// process exits 1 without it.
var ErrAbandoned = errors.New("a stage did not stop when cancelled at shutdown_timeout")

// Bounded runs work under Graceful(stop, grace) and waits for it to
// return, but no longer than grace + StuckGrace after stop ends. Then it
// returns ErrAbandoned with work still running; the caller is expected to
// exit, which ends it, and must not read what work writes.
func Bounded(stop context.Context, grace time.Duration, work func(context.Context)) error {
	ctx, cancel := Graceful(stop, grace)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(ctx)
	}()
	select {
	case <-done:
		return nil
	case <-stop.Done():
	}
	t := time.NewTimer(grace + StuckGrace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return ErrAbandoned
	}
}
