package exposition

import (
	"bytes"

	"github.com/liftpush/liftpush/internal/metric"
)

// locate returns the line number of the record of chunk Parse failed on,
// given how many samples it read: the first sample record after those, or a
// record before it that fails on its own (a bad HELP or TYPE line). Parse
// reports no position itself.
func (s *streamer) locate(chunk []byte, parsed int) int {
	line := s.line
	for pos := 0; pos < len(chunk); {
		end, kind, _, _ := scanRecord(chunk[pos:], true, s.om)
		if end <= 0 {
			end = len(chunk) - pos
		}
		rec := chunk[pos : pos+end]
		if kind == recSample {
			if parsed == 0 {
				return line
			}
			parsed--
		} else if parsed == 0 && s.fails(rec, kind) {
			return line
		}
		line += bytes.Count(rec, []byte{'\n'})
		pos += end
	}
	return line
}

func (s *streamer) fails(rec []byte, kind recKind) bool {
	b := append([]byte(nil), rec...)
	if !bytes.HasSuffix(b, []byte{'\n'}) {
		b = append(b, '\n')
	}
	if s.om && kind != recEOF {
		b = append(b, "# EOF\n"...)
	}
	_, err := Parse(b, s.ct, ParseOptions{}, func(metric.Family) error { return nil })
	return err != nil
}
