package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/common/model"
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
func ParseStream(r io.Reader, contentType string, opts ParseOptions, emit func(metric.Family) error) (Stats, error) {
	return parseStream(r, contentType, opts, streamConfig{chunk: streamChunk, maxRecord: streamMaxRecord}, emit)
}

// DetectContentType is ContentTypeOf for a file of the given size, reading
// only its tail: OpenMetrics iff the content ends with "# EOF", optionally
// followed by newlines. A failing read is taken as "not OpenMetrics"; the
// reads that follow will report it.
func DetectContentType(r io.ReaderAt, size int64) string {
	var buf [4096]byte
	// Find the end of the content without its trailing newlines.
	end := size
	for end > 0 {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if n, _ := r.ReadAt(b, start); n < len(b) {
			return ContentTypeOf(nil)
		}
		t := bytes.TrimRight(b, "\n")
		if len(t) > 0 {
			end = start + int64(len(t))
			break
		}
		end = start
	}
	if end == 0 {
		return ContentTypeOf(nil)
	}
	start := max(0, end-int64(len("# EOF")))
	b := buf[:end-start]
	if n, _ := r.ReadAt(b, start); n < len(b) {
		return ContentTypeOf(nil)
	}
	return ContentTypeOf(b)
}

type streamFormat int

const (
	formatUnsupported streamFormat = iota // Parse refuses the content type
	formatWhole                           // not streamed: handed to Parse whole
	formatText
	formatOpenMetrics
)

// parserOptions are the options Parse gives textparse. Classic buckets are
// what remote-write 1.0 and the Pushgateway's text format carry; keep them
// when a target sends both.
var parserOptions = textparse.ParserOptions{
	FallbackContentType:                     "text/plain",
	KeepClassicOnClassicAndNativeHistograms: true,
}

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
			return record{}, fmt.Errorf("line %d: longer than %d bytes", s.line+bytes.Count(s.buf[:pos], []byte{'\n'}), s.cfg.maxRecord)
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

// famState follows Parse's current family (and the parser's last TYPE, which
// normalizes le and quantile label values) through the records, keeping the
// few records that recreate it. It mirrors Parse: a metadata line starts a
// new family unless it names the current one, and a sample does unless it
// belongs to the current one.
type famState struct {
	started bool
	name    []byte // Parse's cur.Name
	// first is the record that started the family; a sample is replayed too
	// and its sample dropped.
	first       []byte
	firstSample bool
	// help, typ and unit are the family's metadata records after first.
	help, typ, unit []byte
	// lastType is the last TYPE record; foreignType tells that it came
	// before first, i.e. is another family's.
	lastType    []byte
	foreignType bool
}

func (f *famState) update(kind recKind, rec, name []byte) {
	switch kind {
	case recHelp, recType, recUnit:
		if !f.started || !bytes.Equal(f.name, name) {
			f.begin(rec, name, false)
		} else {
			switch kind {
			case recHelp:
				f.help = rec
			case recType:
				f.typ = rec
			case recUnit:
				f.unit = rec
			}
		}
		if kind == recType {
			f.lastType, f.foreignType = rec, false
		}
	case recSample:
		if !f.started || !belongsBytes(f.name, name) {
			f.begin(rec, name, true)
		}
	}
}

func (f *famState) begin(rec, name []byte, sample bool) {
	f.started, f.name, f.first, f.firstSample = true, name, rec, sample
	f.help, f.typ, f.unit = nil, nil, nil
	f.foreignType = f.lastType != nil
}

// own copies the records out of the input buffer, which is about to be
// reused.
func (f *famState) own() {
	fields := []*[]byte{&f.name, &f.first, &f.help, &f.typ, &f.unit, &f.lastType}
	size := 0
	for _, p := range fields {
		size += len(*p)
	}
	arena := make([]byte, 0, size)
	for _, p := range fields {
		if *p == nil {
			continue
		}
		start := len(arena)
		arena = append(arena, *p...)
		*p = arena[start:len(arena):len(arena)]
	}
}

// replay appends the records that recreate the state to dst and returns how
// many samples they yield.
func (f *famState) replay(dst []byte) ([]byte, int) {
	if !f.started {
		return dst, 0
	}
	if f.foreignType {
		dst = appendRecord(dst, f.lastType)
		// Leave the family of lastType for one that first surely does not
		// continue (its name differs from first's and is no prefix of it),
		// so that first starts its family as it did in the input.
		reset := "a"
		if len(f.name) > 0 && f.name[0] == 'a' {
			reset = "b"
		}
		dst = append(dst, "# HELP "+reset+" x\n"...)
	}
	for _, r := range [][]byte{f.first, f.typ, f.help, f.unit} {
		if r != nil {
			dst = appendRecord(dst, r)
		}
	}
	if f.firstSample {
		return dst, 1
	}
	return dst, 0
}

func appendRecord(dst, rec []byte) []byte {
	dst = append(dst, rec...)
	if !bytes.HasSuffix(rec, []byte{'\n'}) {
		dst = append(dst, '\n')
	}
	return dst
}

// belongsBytes is belongs on bytes.
func belongsBytes(family, series []byte) bool {
	if bytes.Equal(series, family) {
		return true
	}
	if !bytes.HasPrefix(series, family) {
		return false
	}
	rest := series[len(family):]
	for _, s := range familySuffixes {
		if string(rest) == s {
			return true
		}
	}
	return false
}

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
