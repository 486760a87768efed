package exposition

import (
	"bytes"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/liftpush/liftpush/internal/metric"
)

// Bounds on re-reading a record with a NUL byte (nulRecord).
const (
	nulMaxLines = 32
	nulMaxBytes = 64 << 10
)

// nulRecord re-reads the record at buf[pos] that scanRecord found to hold a
// NUL byte, rec, with textparse itself: its lexers skip NUL bytes in some
// states (so that "# HE\x00LP" is a HELP line) and take one for the end of
// the input in others, which scanRecord does not follow. The record ends at
// the first line end where it parses on its own, and Parse stops after it
// if a sample after it would not be read. If no line end within bounds
// parses, Parse fails on the record and rec is as good as any.
func (s *streamer) nulRecord(pos int, rec record) record {
	for end, lines := pos, 0; lines < nulMaxLines && end-pos < nulMaxBytes; {
		nl := bytes.IndexByte(s.buf[end:s.n], '\n')
		switch {
		case nl >= 0:
			end = end + nl + 1
		case s.eof && end < s.n:
			end = s.n // the last line, without newline
		case s.eof:
			return rec
		default:
			s.fill()
			continue
		}
		lines++
		b := s.buf[pos:end]
		kind, name, n, ok := s.entry(b, "")
		if !ok {
			continue
		}
		if n2, ok2 := s.entryCount(b, "a 1\n"); ok2 && n2 == n {
			s.stopped = true
		}
		return record{end: end, kind: kind, name: name}
	}
	return rec
}

// entry reads b (and extra) with the parser Parse uses and returns the kind
// and name of the first entry, how many samples Parse takes from it, and
// whether Parse reads it without error.
func (s *streamer) entry(b []byte, extra string) (kind recKind, name []byte, samples int, ok bool) {
	samples, ok = s.entryCount(b, extra)
	if !ok {
		return 0, nil, 0, false
	}
	p, _ := textparse.New(s.withEOF(b, extra), s.ct, labels.NewSymbolTable(), parserOptions)
	if p == nil {
		return 0, nil, 0, false
	}
	et, err := p.Next()
	if err != nil {
		return recBlank, nil, samples, true
	}
	switch et {
	case textparse.EntryHelp:
		n, _ := p.Help()
		return recHelp, bytes.Clone(n), samples, true
	case textparse.EntryType:
		n, _ := p.Type()
		return recType, bytes.Clone(n), samples, true
	case textparse.EntryUnit:
		n, _ := p.Unit()
		return recUnit, bytes.Clone(n), samples, true
	case textparse.EntrySeries:
		var l labels.Labels
		p.Labels(&l)
		return recSample, []byte(l.Get(model.MetricNameLabel)), samples, true
	}
	return recComment, nil, samples, true
}

// entryCount is how many samples Parse reads from b and extra, and whether
// without error.
func (s *streamer) entryCount(b []byte, extra string) (int, bool) {
	st, err := Parse(s.withEOF(b, extra), s.ct, ParseOptions{}, func(metric.Family) error { return nil })
	return st.Samples, err == nil
}

// withEOF returns a copy of b and extra, closed by "# EOF" for OpenMetrics.
func (s *streamer) withEOF(b []byte, extra string) []byte {
	out := append(append(make([]byte, 0, len(b)+len(extra)+6), b...), extra...)
	if s.om {
		out = append(out, "# EOF\n"...)
	}
	return out
}
