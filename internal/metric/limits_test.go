package metric_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", `say "hi"`, `"say \"hi\""`},
		{"empty", "", `""`},
		{"single quote kept", strings.Repeat("'", 40), strconv.Quote(strings.Repeat("'", 40))},
		{"fits whole", strings.Repeat("b", 254), strconv.Quote(strings.Repeat("b", 254))},
		{"cut", long, `"` + strings.Repeat("a", 251) + `…" (300 bytes)`},
		{"cut before an escape", strings.Repeat("a", 250) + "\n" + long, `"` + strings.Repeat("a", 250) + `…" (551 bytes)`},
		{"invalid UTF-8 escaped", strings.Repeat("\xff", 100), `"` + strings.Repeat(`\xff`, 62) + `…" (100 bytes)`},
		{"runes never split", strings.Repeat("é", 200), `"` + strings.Repeat("é", 125) + `…" (400 bytes)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metric.Quote(tc.in); got != tc.want {
				t.Errorf("Quote(%.40q...) =\n%s\nwant\n%s", tc.in, got, tc.want)
			}
			if got := metric.Quote([]byte(tc.in)); got != tc.want {
				t.Errorf("Quote([]byte) differs from Quote(string): %s", got)
			}
		})
	}
}

// TestQuoteHugeInput is the log line of issue 22: a 100 MB line quoted in
// an error.
func TestQuoteHugeInput(t *testing.T) {
	in := strings.Repeat("x", 100<<20)
	got := metric.Quote(in)
	if len(got) > 300 {
		t.Errorf("Quote of 100 MiB is %d bytes long", len(got))
	}
	if !strings.HasSuffix(got, `…" (104857600 bytes)`) {
		t.Errorf("Quote of 100 MiB does not say its length: %s", got)
	}
}

// FuzzQuote holds Quote to strconv.Quote: the same text when it fits, else
// a prefix of it, cut between two escapes, followed by the length.
func FuzzQuote(f *testing.F) {
	f.Add("plain")
	f.Add(strings.Repeat("\x00\xff\"'\\é😀", 40))
	f.Add(strings.Repeat("a", 253) + "\t")
	f.Fuzz(func(t *testing.T, s string) {
		got, full := metric.Quote(s), strconv.Quote(s)
		if got == full {
			if len(got) > 256 {
				t.Errorf("Quote of %d bytes not cut: %d bytes", len(s), len(got))
			}
			return
		}
		suffix := `…" (` + strconv.Itoa(len(s)) + ` bytes)`
		head, ok := strings.CutSuffix(got, suffix)
		if !ok {
			t.Fatalf("cut Quote %s does not end in %s", got, suffix)
		}
		if len(head)+len(`…"`) > 256 {
			t.Errorf("cut Quote is %d bytes before its length note", len(head)+len(`…"`))
		}
		if !strings.HasPrefix(full, head) {
			t.Errorf("cut Quote %s is no prefix of %s", head, full)
		}
		if len(full) <= 256 {
			t.Errorf("Quote cut %s, whose quoted form %s fits", head, full)
		}
		// The cut ends an escape or a rune: closed, the head is a quoted
		// string of a prefix of s.
		if u, err := strconv.Unquote(head + `"`); err != nil || !strings.HasPrefix(s, u) {
			t.Errorf("cut inside an escape or a rune: %s (%v)", head, err)
		}
	})
}

func TestCheckLabel(t *testing.T) {
	over := strings.Repeat("v", metric.MaxLabelBytes+1)
	for _, tc := range []struct {
		name, lname, value, want string
	}{
		{"fine", "a", "b", ""},
		{"value at the limit", "a", over[1:], ""},
		{"value over", "path", over, `label "path": value of 16777216 bytes: over the limit of 16777215 bytes for a label name or value`},
		{"name over", over, "b", `label name "` + strings.Repeat("v", 251) + `…" (16777216 bytes): over the limit of 16777215 bytes for a label name or value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := metric.CheckLabel(tc.lname, tc.value)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckLabel: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("CheckLabel error:\n%v\nwant\n%s", err, tc.want)
			}
			if !errors.Is(err, metric.ErrLabelTooLong) {
				t.Errorf("error does not wrap ErrLabelTooLong")
			}
		})
	}
}

// TestMaxLabelBytesFitsTheLabelsLibrary shows that the limit is the labels
// library's: a value of MaxLabelBytes is kept intact, and one of 17 MiB
// still panics there. When a newer library lifts its bound, this test says
// the limit may grow.
func TestMaxLabelBytesFitsTheLabelsLibrary(t *testing.T) {
	v := strings.Repeat("v", metric.MaxLabelBytes)
	if got := labels.FromStrings("a", v).Get("a"); len(got) != len(v) {
		t.Fatalf("a value of MaxLabelBytes comes back with %d bytes", len(got))
	}
	defer func() {
		if recover() == nil {
			t.Log("the labels library no longer panics on a 17 MiB value; MaxLabelBytes may be raised")
		}
	}()
	labels.FromStrings("a", strings.Repeat("v", 17<<20))
}

func TestCut(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"short", "expected a value", "expected a value"},
		{"at the bound", strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"cut", strings.Repeat("a", 257), strings.Repeat("a", 253) + "… (257 bytes)"},
		{"runes never split", strings.Repeat("é", 200), strings.Repeat("é", 126) + "… (400 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metric.Cut(tc.in); got != tc.want {
				t.Errorf("Cut =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
