package exposition

import (
	"bytes"
	"strings"
)

// recKind is the kind of a record, as far as the family state and the
// cutting of chunks care.
type recKind uint8

const (
	recBlank   recKind = iota // empty or white space only
	recComment                // a comment that is no metadata
	recHelp
	recType
	recUnit   // OpenMetrics only
	recEOF    // OpenMetrics "# EOF"
	recSample // anything else: a sample, or an error for Parse
	recBroken // cut at a newline after streamMaxRecord bytes
)

// scanRecord finds the end of the record at the start of b, the way the
// textparse lexers see it: a line, except that a quoted metric name in HELP,
// TYPE or UNIT, and quoted label names and values, may contain newlines. ok
// is false if b ends before the record does and more input may follow. It
// also returns the name Parse files the record under: the metric name of a
// metadata line as written (without quotes), or the __name__ of a sample,
// which the text parser takes with any white space before it.
//
// For input Parse rejects, the result only needs to be some record end: the
// chunk holding it makes Parse fail there.
func scanRecord(b []byte, atEOF, om bool) (end int, kind recKind, name []byte, ok bool) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 && !atEOF {
		return 0, 0, nil, false
	}
	lineEnd := len(b)
	if nl >= 0 {
		lineEnd = nl + 1
	}
	line := b[:lineEnd]
	i := 0
	if !om {
		i = skipSpace(line, 0)
	}
	if i == len(line) || line[i] == '\n' {
		return lineEnd, recBlank, nil, true
	}
	if line[i] == '#' {
		return scanComment(b, line, i, atEOF, om)
	}
	// A sample: find the newline outside quotes.
	end = lineEnd
	if q := bytes.Count(line, []byte{'"'}); q > 0 && (q%2 == 1 || bytes.IndexByte(line, '\\') >= 0) {
		end = -1
		for j := 0; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, closed := skipQuoted(b, j)
				if !closed {
					j = len(b)
					continue
				}
				j = e - 1
			case '\n':
				end = j + 1
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			if !atEOF {
				return 0, 0, nil, false
			}
			end = len(b)
		}
	}
	return end, recSample, sampleName(b[:end], i), true
}

func scanComment(b, line []byte, i int, atEOF, om bool) (end int, kind recKind, name []byte, ok bool) {
	j := skipSpace(line, i+1)
	if j == i+1 {
		return len(line), recComment, nil, true
	}
	rest := line[j:]
	keyword := func(k string) bool {
		return len(rest) > len(k) && string(rest[:len(k)]) == k && (rest[len(k)] == ' ' || rest[len(k)] == '\t')
	}
	switch {
	case keyword("HELP"):
		kind = recHelp
	case keyword("TYPE"):
		kind = recType
	case om && keyword("UNIT"):
		kind = recUnit
	case om && bytes.HasPrefix(rest, []byte("EOF")):
		return len(line), recEOF, nil, true
	default:
		return len(line), recComment, nil, true
	}
	k := skipSpace(line, j+5)
	if k == len(line) || line[k] != '"' {
		e := k
		if e < len(line) && isNameStart(line[e]) {
			for e++; e < len(line) && isNameChar(line[e]); e++ {
			}
		}
		return len(line), kind, line[k:e], true
	}
	// A quoted name may run past the first newline.
	q, closed := skipQuoted(b, k)
	if !closed {
		if !atEOF {
			return 0, 0, nil, false
		}
		return len(b), kind, b[k+1:], true
	}
	name = b[k+1 : q-1]
	if nl := bytes.IndexByte(b[q:], '\n'); nl >= 0 {
		return q + nl + 1, kind, name, true
	}
	if !atEOF {
		return 0, 0, nil, false
	}
	return len(b), kind, name, true
}

// sampleName returns the metric name of the sample record rec, whose first
// token starts at i, as textparse puts it into __name__.
func sampleName(rec []byte, i int) []byte {
	if i >= len(rec) {
		return nil
	}
	if isNameStart(rec[i]) {
		e := i + 1
		for e < len(rec) && isNameChar(rec[e]) {
			e++
		}
		return rec[:e]
	}
	if rec[i] != '{' {
		return nil
	}
	// {"name", l="v", ...}: the name is the quoted string followed by a
	// comma or the closing brace.
	for j := i + 1; ; {
		j = skipSpace(rec, j)
		if j >= len(rec) {
			return nil
		}
		switch c := rec[j]; {
		case c == '"':
			e, closed := skipQuoted(rec, j)
			if !closed {
				return nil
			}
			if k := skipSpace(rec, e); k < len(rec) && (rec[k] == ',' || rec[k] == '}') {
				return unquoteName(rec[j+1 : e-1])
			}
			j = e
		case isLabelStart(c):
			for j++; j < len(rec) && isLabelChar(rec[j]); j++ {
			}
		default:
			return nil
		}
		if j = skipSpace(rec, j); j >= len(rec) || rec[j] != '=' {
			return nil
		}
		if j = skipSpace(rec, j+1); j >= len(rec) || rec[j] != '"' {
			return nil
		}
		e, closed := skipQuoted(rec, j)
		if !closed {
			return nil
		}
		if j = skipSpace(rec, e); j < len(rec) && rec[j] == ',' {
			j++
		}
	}
}

// nameReplacer is textparse's lvalReplacer, which unquotes names.
var nameReplacer = strings.NewReplacer(`\"`, "\"", `\\`, "\\", `\n`, "\n")

func unquoteName(q []byte) []byte {
	if bytes.IndexByte(q, '\\') < 0 {
		return q
	}
	return []byte(nameReplacer.Replace(string(q)))
}

// skipQuoted returns the index after the string quoted at b[i], and whether
// it is closed within b.
func skipQuoted(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(b), false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func isLabelStart(c byte) bool { return isNameStart(c) && c != ':' }

func isLabelChar(c byte) bool { return isLabelStart(c) || c >= '0' && c <= '9' }
