package exposition

import (
	"bytes"
	"fmt"

	"github.com/liftpush/liftpush/internal/metric"
)

// parseChunk parses buf[:cut] behind the replayed state.
func (s *streamer) parseChunk(cut int, last bool) (Stats, error) {
	work, _, drop := s.prepare(cut)
	if s.om && (!last || s.rerr != nil) {
		work = append(work, "# EOF\n"...)
		s.work = work
	}
	emit, emitFailed := s.dropping(drop)
	st, err := Parse(work, s.ct, s.opts, emit)
	st.Samples = max(st.Samples-drop, 0)
	s.poison()
	if err != nil && !*emitFailed {
		err = fmt.Errorf("line %d: %w", s.locate(s.buf[:cut], st.Samples), err)
	}
	return st, err
}

// dropping wraps s.emit to drop the first n samples, the ones the replayed
// prefix yields again; failed is set when s.emit failed.
func (s *streamer) dropping(n int) (emit func(metric.Family) error, failed *bool) {
	failed = new(bool)
	return func(f metric.Family) error {
		if n > 0 {
			k := min(n, len(f.Samples))
			f.Samples, n = f.Samples[k:], n-k
			if len(f.Samples) == 0 {
				return nil
			}
		}
		if err := s.emit(f); err != nil {
			*failed = true
			return err
		}
		return nil
	}, failed
}

// poison overwrites the chunk Parse read, in tests, so that any emitted
// string still pointing into it shows.
func (s *streamer) poison() {
	if s.cfg.poison {
		for i := range s.work {
			s.work[i] = '!'
		}
	}
}

// fastChunk reads the next chunk of the text format with parseText, which
// follows the family state as it reads: about a chunk up to its last
// newline, without the record scan next does. ok is false, having read
// more input at most, when parseText refuses the chunk (or there is no
// whole line in it); next and parseChunk then take it.
func (s *streamer) fastChunk() (st Stats, ok, last bool, err error) {
	for s.n < s.cfg.chunk && !s.eof {
		s.fill()
	}
	cut := s.n
	if !s.eof || s.rerr != nil {
		// A line may continue in the input not read yet.
		cut = bytes.LastIndexByte(s.buf[:s.n], '\n') + 1
	}
	if cut == 0 {
		return st, false, false, nil
	}
	work, from, drop := s.prepare(cut)
	var next famState
	p := newTextParser(work, s.opts)
	p.state, p.maxRecord, p.from = &next, s.cfg.maxRecord, from
	if !p.parse() {
		return Stats{}, false, false, nil
	}
	fams, n := p.fams, p.samples
	if c := p.cut; c.pos > 0 && (cut < s.n || !s.eof) {
		// End before the metadata of the last family rather than inside
		// the family: the samples after it are read again next time.
		cut, n, next = c.pos-from, c.samples, c.state
		fams = firstSamples(fams, n)
	}
	// next points into s.work: advance copies it out before poison.
	s.advance(cut, next)
	s.poison()
	st.Samples = max(n-drop, 0)
	emit, _ := s.dropping(drop)
	for _, f := range fams {
		if err := emit(f); err != nil {
			return st, true, false, err
		}
	}
	return st, true, s.n == 0 && s.eof, nil
}

// firstSamples cuts fams after its first n samples.
func firstSamples(fams []metric.Family, n int) []metric.Family {
	for i := range fams {
		if n <= len(fams[i].Samples) {
			fams[i].Samples = fams[i].Samples[:n]
			if n == 0 {
				return fams[:i]
			}
			return fams[:i+1]
		}
		n -= len(fams[i].Samples)
	}
	return fams
}
