package push

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestWithStall runs in a synctest bubble: the watcher ticks every second
// (a quarter of the stall timeout, at most a second) on the bubble's clock.
func TestWithStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, prog, stop := WithStall(t.Context(), 10*time.Second)
		defer stop()
		// Idle with nothing pending is not a stall.
		time.Sleep(time.Minute)
		prog.Begin()
		time.Sleep(9 * time.Second)
		// An acceptance restarts the count.
		prog.End(true)
		prog.Begin()
		<-ctx.Done()
		if d := time.Since(start); d != 79*time.Second {
			t.Errorf("stalled after %s, want 79s: 10s after the last acceptance at 69s", d)
		}
		if cause := context.Cause(ctx); !errors.Is(cause, ErrStalled) || cause.Error() != "receiver stalled: nothing accepted for 10s" {
			t.Errorf("cause = %v, want ErrStalled after 10s", cause)
		}
	})
}

func TestWithStallStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, prog, stop := WithStall(t.Context(), 10*time.Second)
		prog.Begin()
		time.Sleep(5 * time.Second)
		stop()
		time.Sleep(time.Minute)
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			t.Errorf("cause after stop = %v, want context.Canceled", cause)
		}
	})
}

func TestWithStallOff(t *testing.T) {
	ctx, prog, stop := WithStall(t.Context(), 0)
	defer stop()
	if ctx != t.Context() || prog != nil {
		t.Errorf("WithStall(0) = %v, %v; want ctx itself and no Progress", ctx, prog)
	}
	prog.Begin() // a nil Progress watches nothing
	prog.End(false)
}
