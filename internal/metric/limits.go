package metric

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxLabelBytes is the longest label name or value, in bytes, a series may
// carry. Prometheus' labels package in its default build (stringlabels)
// stores a string's length in three bytes: longer strings panic with
// "String too long to encode as label" (and one of exactly 16 MiB is stored
// with a wrong length). Whatever builds labels from input checks against
// this first, so that such a value is an error naming the limit, never a
// crash (issue 22).
const MaxLabelBytes = 1<<24 - 1

// ErrLabelTooLong is the error of a label name or value over MaxLabelBytes;
// the errors CheckLabel returns wrap it.
var ErrLabelTooLong = fmt.Errorf("over the limit of %d bytes for a label name or value", MaxLabelBytes)

// CheckLabel returns an error wrapping ErrLabelTooLong when name or value is
// longer than MaxLabelBytes; the error says which, and quotes the long input
// cut (Quote).
func CheckLabel(name, value string) error {
	if len(name) > MaxLabelBytes {
		return fmt.Errorf("label name %s: %w", Quote(name), ErrLabelTooLong)
	}
	if len(value) > MaxLabelBytes {
		return fmt.Errorf("label %s: value of %d bytes: %w", Quote(name), len(value), ErrLabelTooLong)
	}
	return nil
}

// quoteMax bounds the quoted text Quote returns, quotes and escapes
// included; the length note comes on top.
const quoteMax = 256

// Quote returns s quoted as %q does. Input whose quoted form would be longer
// than a few hundred bytes is cut, the cut marked by "…" before the closing
// quote and the input's length in bytes said after it:
// `"abc…" (104857600 bytes)`. Every error that quotes remote input uses it,
// so that a 100 MB line makes a short log line, not a 100 MB one (issue 22).
func Quote[S ~string | ~[]byte](s S) string {
	if len(s) <= quoteMax/10-2 {
		// Short enough that even escaping every rune stays in bounds.
		return strconv.Quote(string(s))
	}
	// Quote rune by rune until the next one would not fit: escapes make
	// the quoted form up to ten times longer than the input.
	out := make([]byte, 1, quoteMax+32)
	out[0] = '"'
	cut := 0 // where the text ends if cut: the last rune that leaves room for …"
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		prev := len(out)
		if r == utf8.RuneError && n == 1 {
			out = fmt.Appendf(out, `\x%02x`, s[i])
		} else {
			out = strconv.AppendQuoteRune(out, r)
			// AppendQuoteRune wraps the rune in single quotes, and
			// escapes ' but not ".
			q := out[prev+1 : len(out)-1]
			switch string(q) {
			case `\'`:
				q = []byte{'\''}
			case `"`:
				q = []byte(`\"`)
			}
			out = append(out[:prev], q...)
		}
		if len(out)+len(`…"`) <= quoteMax {
			cut = len(out)
		}
		if len(out)+len(`"`) > quoteMax {
			return fmt.Sprintf(`%s…" (%d bytes)`, out[:cut], len(s))
		}
		i += n
	}
	return string(append(out, '"'))
}

// Cut returns text that may hold remote input, such as a parser's error
// message that quotes the line it failed on, bounded as Quote bounds quoted
// input: when longer than a few hundred bytes, its start up to a rune
// boundary, "…" and its length, `abc… (104857600 bytes)`. Text that Quote
// can quote itself should be quoted with Quote instead.
func Cut(s string) string {
	if len(s) <= quoteMax {
		return s
	}
	end := quoteMax - len("…")
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:end], len(s))
}
