package push

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrStalled ends a delivery whose receiver accepted nothing for the stall
// timeout while requests were pending. A push of a large file has no overall
// deadline (DESIGN.md section 5, "Deadlines"): it goes on for as long as the
// receiver keeps accepting, and only a receiver that stops is given up on.
var ErrStalled = errors.New("receiver stalled")

// Progress watches one delivery for a stall. A nil *Progress watches
// nothing, so senders call it unconditionally.
type Progress struct {
	d      time.Duration
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	pending int
	last    time.Time // last acceptance, or when work began after idling
}

// WithStall returns a context that ends with cause ErrStalled once the
// requests reported through the returned Progress go unaccepted for d.
// With d <= 0 it returns ctx and a nil Progress. Call stop when the
// delivery is over.
func WithStall(ctx context.Context, d time.Duration) (_ context.Context, _ *Progress, stop func()) {
	if d <= 0 {
		return ctx, nil, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	p := &Progress{d: d, cancel: cancel, last: time.Now()}
	done := make(chan struct{})
	go p.watch(ctx, done)
	return ctx, p, func() {
		close(done)
		cancel(context.Canceled)
	}
}

func (p *Progress) watch(ctx context.Context, done <-chan struct{}) {
	tick := min(p.d/4, time.Second)
	for {
		select {
		case <-done:
			return
		default:
		}
		if sleep(ctx, tick) != nil {
			return
		}
		p.mu.Lock()
		idle := time.Since(p.last)
		stalled := p.pending > 0 && idle >= p.d
		p.mu.Unlock()
		if stalled {
			p.cancel(fmt.Errorf("%w: nothing accepted for %s", ErrStalled, idle.Round(time.Millisecond)))
			return
		}
	}
}

// Begin reports a request about to be sent.
func (p *Progress) Begin() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.pending == 0 {
		// Time spent idle (parsing, or waiting for data) is not a stall.
		p.last = time.Now()
	}
	p.pending++
	p.mu.Unlock()
}

// End reports that a request finished; accepted means the receiver took it.
func (p *Progress) End(accepted bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.pending--
	if accepted {
		p.last = time.Now()
	}
	p.mu.Unlock()
}

// ErrShutdown ends a delivery that was still running when the process had
// to stop (SIGTERM, after shutdown_timeout).
var ErrShutdown = errors.New("shutting down")
