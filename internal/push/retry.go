package push

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RecoverableError marks a failure worth retrying: a network error, a 5xx,
// or a 429 when the destination allows it. RetryAfter, when non-zero, comes
// from the server and replaces the computed backoff for the next attempt.
type RecoverableError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RecoverableError) Error() string { return e.Err.Error() }
func (e *RecoverableError) Unwrap() error { return e.Err }

// Backoff is an exponential backoff policy: Min, doubled per attempt, capped
// at Max.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before retry number attempt (1 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 1; i < attempt && d < b.Max && d <= math.MaxInt64/2; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry calls send until it succeeds, fails with an error that is not a
// *RecoverableError, or ctx ends. attempt starts at 0; the retries are
// numbered 1, 2, ... so a sender can set the Retry-Attempt header. It returns
// the number of retries made and the last error.
//
// There is no attempt limit on purpose: the bound is ctx, which carries the
// cycle deadline (DESIGN.md section 5: "retries end at cycle_timeout").
func Retry(ctx context.Context, b Backoff, send func(attempt int) error) (int, error) {
	for attempt := 0; ; attempt++ {
		err := send(attempt)
		if err == nil {
			return attempt, nil
		}
		var rec *RecoverableError
		if !errors.As(err, &rec) {
			return attempt, err
		}
		d := b.Delay(attempt + 1)
		if rec.RetryAfter > 0 {
			d = rec.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			// Waiting past the deadline would only burn the budget other
			// destinations and the spool need; give up now.
			return attempt, fmt.Errorf("giving up, next retry in %s is past the cycle deadline: %w", d, err)
		}
		if serr := sleep(ctx, d); serr != nil {
			return attempt, fmt.Errorf("giving up: %w (last error: %w)", serr, err)
		}
	}
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). It returns 0 when the header is absent or
// unusable, which means "use the computed backoff".
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		if s > math.MaxInt64/int(time.Second) {
			// Multiplying would wrap around to a short or negative wait.
			return math.MaxInt64
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
