package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// next scans records from buf[0] until the chunk is big enough, and returns
// where to cut, the state at the cut and whether this is the last chunk.
func (s *streamer) next() (cut int, st famState, last bool, err error) {
	st = s.st
	var (
		cand        int // start of the last metadata block after samples
		candState   famState
		afterSample bool // the last record that was no blank line or comment was a sample
		pos         int
	)
	for pos < s.cfg.chunk && !s.stopped {
		if pos == s.n {
			if s.eof {
				break
			}
			s.fill()
			continue
		}
		rec, err := s.scan(pos)
		if err == errTruncated {
			s.n = pos // drop the partial record; run returns the read error
			break
		}
		if err != nil && pos > 0 {
			// Parse the records before this one first; the next chunk
			// starts with it and fails.
			break
		}
		if err != nil {
			return 0, st, false, err
		}
		switch rec.kind {
		case recHelp, recType, recUnit:
			if afterSample && pos > 0 {
				cand, candState = pos, st
			}
			afterSample = false
		case recSample:
			afterSample = true
		}
		st.update(rec.kind, s.buf[pos:rec.end], rec.name)
		pos = rec.end
	}
	if pos >= s.cfg.chunk && cand > 0 && !s.stopped {
		// Cut before the metadata of a family rather than inside one.
		pos, st = cand, candState
	}
	for pos == s.n && !s.eof && !s.stopped {
		s.fill()
	}
	return pos, st, s.stopped || (pos == s.n && s.eof), nil
}

// fill reads more input into buf, growing it when full. A read error ends
// the input like EOF; the chunk then ends with the last complete record and
// the error is returned after it was parsed.
func (s *streamer) fill() {
	if s.n == len(s.buf) {
		b := make([]byte, 2*len(s.buf))
		copy(b, s.buf[:s.n])
		s.buf = b
	}
	for range 100 {
		k, err := s.r.Read(s.buf[s.n:])
		s.n += k
		if err == io.EOF {
			s.eof = true
			return
		}
		if err != nil {
			s.eof, s.rerr = true, fmt.Errorf("reading exposition: %w", err)
			return
		}
		if k > 0 {
			return
		}
	}
	s.eof, s.rerr = true, fmt.Errorf("reading exposition: %w", io.ErrNoProgress)
}

// record is a record found by scan; end is absolute in buf.
type record struct {
	end  int
	kind recKind
	name []byte
}

// errTruncated tells that the input ended early, by a read error, within a
// record.
var errTruncated = errors.New("truncated record")

// scan returns the record starting at buf[pos], reading more input as needed.
func (s *streamer) scan(pos int) (record, error) {
	for {
		end, kind, name, ok := scanRecord(s.buf[pos:s.n], s.eof && s.rerr == nil, s.om)
		if ok && end <= s.cfg.maxRecord {
			rec := record{end: pos + end, kind: kind, name: name}
			if (rec.end < s.n || !s.eof) && bytes.IndexByte(s.buf[pos:rec.end], 0) >= 0 {
				rec = s.nulRecord(pos, rec)
			}
			return rec, nil
		}
		if ok || s.n-pos >= s.cfg.maxRecord {
			// No end within the limit: most likely a stray quote, which
			// Parse will report; cut at the first newline if there is one.
			if nl := bytes.IndexByte(s.buf[pos:pos+s.cfg.maxRecord], '\n'); nl >= 0 {
				return record{end: pos + nl + 1, kind: recBroken}, nil
			}
			return record{}, fmt.Errorf("line %d: longer than the limit of %d bytes for one record", s.line+bytes.Count(s.buf[:pos], []byte{'\n'}), s.cfg.maxRecord)
		}
		if s.eof {
			return record{}, errTruncated
		}
		// Read until the pending part of the record at least doubled, so
		// that rescanning a long record costs linear time.
		for want := 2*(s.n-pos) + 1; s.n-pos < want && !s.eof; {
			s.fill()
		}
	}
}
