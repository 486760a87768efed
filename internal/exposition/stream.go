package exposition

import (
	"bytes"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/liftpush/liftpush/internal/metric"
)

const (
	// streamChunk is about how many bytes ParseStream parses at once: a
	// chunk's families are held until it is parsed, and smaller chunks
	// start the first request sooner. Measured on a 1M-sample file, 256 KiB
	// pushed in 1.45 s and 79 MiB, 4 MiB in 1.74 s and 104 MiB.
	streamChunk = 256 << 10
	// streamMaxRecord bounds one record (a line, or several lines joined by
	// a quoted string that spans newlines) so that memory stays bounded on
	// any input.
	streamMaxRecord = 16 << 20
)

// streamConfig holds what tests vary; ParseStream uses the constants.
type streamConfig struct {
	chunk     int // target chunk size in bytes, at least 1
	maxRecord int // longest record accepted, in bytes
	// poison overwrites each chunk's input after Parse returned, so that a
	// test sees any emitted string that still points into it.
	poison bool
}

// ParseStream parses an exposition read from r in bounded memory: it reads
// about 256 KiB at a time, extended to the end of the last line, and hands
// each chunk to Parse, reusing its buffers. The samples and their families'
// metadata are the ones Parse would produce on the whole input, with two
// exceptions that only malformed or contrived input shows:
//
//   - Parse gives all samples it has gathered for a family the metadata seen
//     last, so a HELP or TYPE line repeated after some of the family's
//     samples changes those samples too; ParseStream only changes the samples
//     of its current chunk (like Parse with ParseOptions.ChunkSamples).
//   - A record longer than 16 MiB (a line without newline, or lines joined by
//     an unterminated quote) is an error, or cut at its first newline.
//
// Families never span chunks: a family continued in the next chunk is
// emitted again, with the same name and metadata, which is what
// ChunkSamples does too.
//
// The Prometheus text format and OpenMetrics are streamed; any other content
// type Parse accepts (protobuf) is read whole and passed to Parse. Stats add
// up over the chunks. A parse error is returned, after the families before
// it were emitted, prefixed with the number of the line it is on; an error
// returned by emit is returned as is.
//
// With opts.BodySizeLimit set, r holding more bytes than that is an error
// wrapping ErrBodySizeLimit, returned after the families of the records
// before the limit; r is never read much past it. A caller that must not
// keep part of a body (a scrape, which fails the target) collects the
// families and drops them on error.
func ParseStream(r io.Reader, contentType string, opts ParseOptions, emit func(metric.Family) error) (Stats, error) {
	return parseStream(r, contentType, opts, streamConfig{chunk: streamChunk, maxRecord: streamMaxRecord}, emit)
}

type streamFormat int

const (
	formatUnsupported streamFormat = iota // Parse refuses the content type
	formatWhole                           // not streamed: handed to Parse whole
	formatText
	formatOpenMetrics
)

// formatOf tells which parser Parse picks for contentType, by asking
// textparse itself.
func formatOf(contentType string) streamFormat {
	p, _ := textparse.New([]byte{}, contentType, labels.NewSymbolTable(), parserOptions)
	switch p.(type) {
	case *textparse.PromParser:
		return formatText
	case *textparse.OpenMetricsParser:
		return formatOpenMetrics
	case nil:
		return formatUnsupported
	}
	return formatWhole
}

func parseStream(r io.Reader, contentType string, opts ParseOptions, cfg streamConfig, emit func(metric.Family) error) (Stats, error) {
	if opts.BodySizeLimit > 0 {
		r = &limitReader{r: r, limit: opts.BodySizeLimit, left: opts.BodySizeLimit}
		// Parse need not count the chunks again.
		opts.BodySizeLimit = 0
	}
	f := formatOf(contentType)
	switch f {
	case formatUnsupported:
		return Parse(nil, contentType, opts, emit) // fails before reading
	case formatWhole:
		b, err := io.ReadAll(r)
		if err != nil {
			return Stats{}, fmt.Errorf("reading exposition: %w", err)
		}
		return Parse(b, contentType, opts, emit)
	}
	cfg.chunk = max(cfg.chunk, 1)
	cfg.maxRecord = max(cfg.maxRecord, 1)
	s := &streamer{
		r:    r,
		ct:   contentType,
		om:   f == formatOpenMetrics,
		opts: opts,
		cfg:  cfg,
		emit: emit,
		buf:  make([]byte, cfg.chunk+cfg.chunk/8+512),
		line: 1,
	}
	s.work = make([]byte, 0, len(s.buf)+512)
	return s.run()
}

// streamer cuts the input into chunks at record boundaries. A chunk is
// parsed with a short prefix in front of it, replayed from the records
// before it, that puts Parse and the textparse parser into the state they
// would be in at that point of the whole input (see famState).
type streamer struct {
	r    io.Reader
	ct   string
	om   bool
	opts ParseOptions
	cfg  streamConfig
	emit func(metric.Family) error

	buf     []byte // pending input is buf[:n]; buf[0] starts a record
	n       int
	eof     bool     // r is exhausted
	rerr    error    // the read error that ended the input
	stopped bool     // the parser stops at a NUL byte before the end of r
	line    int      // line number of buf[0]
	st      famState // state at buf[0]; owns its bytes
	work    []byte   // prefix, chunk and suffix handed to Parse
}

func (s *streamer) run() (Stats, error) {
	var total Stats
	for {
		st, last, err := s.chunk()
		total.Samples += st.Samples
		total.NativeHistograms += st.NativeHistograms
		if err == nil && last {
			err = s.rerr
		}
		if err != nil || last {
			return total, err
		}
	}
}

// chunk parses the next chunk, with parseText when it takes it, and moves
// past it unless it is the last one.
func (s *streamer) chunk() (st Stats, last bool, err error) {
	if !s.om && !s.stopped {
		if st, ok, last, err := s.fastChunk(); ok {
			return st, last, err
		}
	}
	cut, next, last, err := s.next()
	if err != nil {
		return st, false, err
	}
	st, err = s.parseChunk(cut, last)
	if err == nil && !last {
		s.advance(cut, next)
	}
	return st, last, err
}

// prepare puts the replayed state and buf[:cut] into s.work; the chunk
// starts at from, and the replay yields drop samples again.
func (s *streamer) prepare(cut int) (work []byte, from, drop int) {
	work, drop = s.st.replay(s.work[:0])
	from = len(work)
	s.work = append(work, s.buf[:cut]...)
	return s.work, from, drop
}

// advance drops buf[:cut], whose end state is next.
func (s *streamer) advance(cut int, next famState) {
	s.line += bytes.Count(s.buf[:cut], []byte{'\n'})
	s.st = next
	s.st.own()
	s.n = copy(s.buf, s.buf[cut:s.n])
}
