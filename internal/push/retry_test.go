package push

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 30 * time.Millisecond, Max: 200 * time.Millisecond}
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{"first retry is min", b, 1, 30 * time.Millisecond},
		{"second doubles", b, 2, 60 * time.Millisecond},
		{"third doubles again", b, 3, 120 * time.Millisecond},
		{"capped at max", b, 4, 200 * time.Millisecond},
		{"stays at max", b, 100, 200 * time.Millisecond},
		{"attempt 0 is min", b, 0, 30 * time.Millisecond},
		{"min equals max", Backoff{Min: time.Second, Max: time.Second}, 5, time.Second},
		{"huge attempt does not overflow", Backoff{Min: time.Millisecond, Max: time.Hour}, 1 << 20, time.Hour},
		{"huge max does not overflow", Backoff{Min: time.Nanosecond, Max: math.MaxInt64}, 100, 1 << 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Delay(tt.attempt); got != tt.want {
				t.Errorf("Delay(%d) = %s, want %s", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"zero seconds", "0", 0},
		{"negative seconds", "-5", 0},
		{"http date in the future", "Sun, 22 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"http date in the past", "Sun, 22 Nov 2026 11:00:00 GMT", 0},
		{"rfc850 date", "Sunday, 22-Nov-26 12:01:00 GMT", time.Minute},
		{"asctime date", "Sun Nov 22 12:00:10 2026", 10 * time.Second},
		{"garbage", "soon", 0},
		{"seconds beyond time.Duration", "20000000000", math.MaxInt64},
		{"fractional seconds", "1.5", 0},
		{"seconds with spaces", " 5 ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

// gapsOf returns the time between each call and the next.
func gapsOf(calls []time.Time) []time.Duration {
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	return gaps
}

// The retry tests run in a synctest bubble: Retry waits on the bubble's
// clock, and the gaps between the sends are the waits, exactly.

func TestRetry(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond}
	errNet := errors.New("connection refused")
	recoverable := &RecoverableError{Err: errNet}
	permanent := errors.New("HTTP 400: bad request")
	tests := []struct {
		name        string
		results     []error // one per attempt; nil = success
		wantRetries int
		wantErr     string
		wantSleeps  []time.Duration
		wantAttempt []int
	}{
		{
			name:        "first attempt succeeds",
			results:     []error{nil},
			wantAttempt: []int{0},
		},
		{
			name:        "recoverable then success, backoff doubles and caps",
			results:     []error{recoverable, recoverable, recoverable, recoverable, nil},
			wantRetries: 4,
			wantSleeps:  []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond},
			wantAttempt: []int{0, 1, 2, 3, 4},
		},
		{
			name:        "permanent error is not retried",
			results:     []error{permanent},
			wantErr:     "HTTP 400: bad request",
			wantAttempt: []int{0},
		},
		{
			name:        "permanent after recoverable",
			results:     []error{recoverable, permanent},
			wantRetries: 1,
			wantErr:     "HTTP 400: bad request",
			wantSleeps:  []time.Duration{10 * time.Millisecond},
			wantAttempt: []int{0, 1},
		},
		{
			name:        "retry-after replaces the backoff",
			results:     []error{&RecoverableError{Err: errors.New("429"), RetryAfter: 3 * time.Second}, nil},
			wantRetries: 1,
			wantSleeps:  []time.Duration{3 * time.Second},
			wantAttempt: []int{0, 1},
		},
		{
			name:        "wrapped recoverable is recognised",
			results:     []error{errorsJoin("sending", recoverable), nil},
			wantRetries: 1,
			wantSleeps:  []time.Duration{10 * time.Millisecond},
			wantAttempt: []int{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					attempts []int
					calls    []time.Time
				)
				retries, err := Retry(t.Context(), b, func(attempt int) error {
					attempts = append(attempts, attempt)
					calls = append(calls, time.Now())
					return tt.results[len(attempts)-1]
				})
				if retries != tt.wantRetries {
					t.Errorf("retries = %d, want %d", retries, tt.wantRetries)
				}
				if got := errString(err); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantSleeps, gapsOf(calls)); diff != "" {
					t.Errorf("sleeps (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantAttempt, attempts); diff != "" {
					t.Errorf("attempt numbers (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestRetryGivesUpBeforeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 70*time.Minute)
		defer cancel()
		var calls []time.Time
		retries, err := Retry(ctx, Backoff{Min: 20 * time.Minute, Max: 10 * time.Hour}, func(int) error {
			calls = append(calls, time.Now())
			return &RecoverableError{Err: errors.New("HTTP 503")}
		})
		// Waits 20m and 40m, then the next 80m would pass the deadline
		// 10m away: it gives up at once, not when the deadline comes.
		if diff := cmp.Diff([]time.Duration{20 * time.Minute, 40 * time.Minute}, gapsOf(calls)); diff != "" {
			t.Errorf("sleeps (-want +got):\n%s", diff)
		}
		if len(calls) != 3 || retries != 2 {
			t.Errorf("calls = %d, retries = %d; want 3 and 2", len(calls), retries)
		}
		if d := time.Since(calls[0]); d != time.Hour {
			t.Errorf("gave up %s after the first send, want 1h, at the last send", d)
		}
		want := "giving up, next retry in 1h20m0s is past the cycle deadline: HTTP 503"
		if got := errString(err); got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
	})
}

func TestRetryRetryAfterPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		start := time.Now()
		_, err := Retry(ctx, Backoff{Min: time.Millisecond, Max: time.Millisecond}, func(int) error {
			return &RecoverableError{Err: errors.New("HTTP 429"), RetryAfter: 2 * time.Hour}
		})
		if d := time.Since(start); d != 0 {
			t.Errorf("waited %s, want no wait", d)
		}
		if want := "giving up, next retry in 2h0m0s is past the cycle deadline: HTTP 429"; errString(err) != want {
			t.Errorf("error = %q, want %q", errString(err), want)
		}
	})
}

func TestRetryContextCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var calls []time.Time
		_, err := Retry(ctx, Backoff{Min: time.Millisecond, Max: time.Millisecond}, func(int) error {
			calls = append(calls, time.Now())
			if len(calls) == 2 {
				cancel()
			}
			return &RecoverableError{Err: errors.New("HTTP 502")}
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if want := "giving up: context canceled (last error: HTTP 502)"; errString(err) != want {
			t.Errorf("error = %q, want %q", errString(err), want)
		}
		if len(calls) != 2 {
			t.Errorf("send called %d times, want 2", len(calls))
		}
		if d := time.Since(calls[0]); d != time.Millisecond {
			t.Errorf("returned %s after the first send, want 1ms: one wait, none after the cancel", d)
		}
	})
}

func TestSleepHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("sleep on a canceled context = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("sleep on a canceled context took %s", d)
		}
		if err := sleep(t.Context(), time.Millisecond); err != nil {
			t.Errorf("sleep(1ms) = %v", err)
		}
		if d := time.Since(start); d != time.Millisecond {
			t.Errorf("sleep(1ms) took %s", d)
		}
	})
}

func errorsJoin(msg string, err error) error { return &wrapped{msg, err} }

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
