package push

import (
	"testing"
	"time"
)

// FuzzParseRetryAfter: the header comes from the receiver, so any value
// must give a wait that is never negative.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-5", "1.5", "Sun, 22 Nov 2026 12:00:30 GMT", "Sunday, 22-Nov-26 12:01:00 GMT", "Sun Nov 22 12:00:10 2026", "99999999999999999999", "20000000000"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := ParseRetryAfter(v, now); d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %s, want >= 0", v, d)
		}
	})
}
