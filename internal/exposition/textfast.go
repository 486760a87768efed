package exposition

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/liftpush/liftpush/internal/metric"
)

// parseText is Parse's fast path for the Prometheus text format. textparse
// lexes every byte through a state machine and costs about 1.5 µs a sample
// of a KSM-shaped file, most of a push's CPU; this reads the canonical form
// of the format in one pass and allocates one labels string a sample.
//
// It accepts only what it can read exactly as textparse.PromParser does,
// and gives the families Parse would give. Anything else (escapes, quoted
// names, NUL bytes, duplicate labels, any error) makes it return ok false
// having emitted nothing, and Parse reads the input with textparse instead,
// so errors and odd inputs keep textparse's answer. FuzzParseText holds the
// two to the same output.
func parseText(b []byte, opts ParseOptions) (fams []metric.Family, st Stats, ok bool) {
	p := newTextParser(b, opts)
	if !p.parse() {
		return nil, st, false
	}
	return p.fams, Stats{Samples: p.samples}, true
}

func newTextParser(b []byte, opts ParseOptions) *textParser {
	// The dedupelabels build needs a symbol table; the default one ignores
	// it.
	sb := labels.NewScratchBuilderWithSymbolTable(labels.NewSymbolTable(), 16)
	return &textParser{b: b, opts: opts, typ: model.MetricTypeUnknown, sb: sb}
}

// streamCut is a place to end a chunk at: before a family's metadata
// rather than inside the family.
type streamCut struct {
	pos, samples int
	state        famState
}

type textParser struct {
	b    []byte
	pos  int
	opts ParseOptions
	// typ is the type of the last TYPE line, of any family: textparse
	// normalises le and quantile values by it.
	typ     model.MetricType
	cur     metric.Family
	started bool
	fams    []metric.Family
	samples int
	ls      []labels.Label
	sb      labels.ScratchBuilder
	// order holds the last series' label names as parsed, and sorted the
	// same names in sorted order, each with its place as parsed; tmp is
	// scratch.
	order, sorted []sortKey
	tmp           []labels.Label
	// When state is not nil (ParseStream), the parser follows the family
	// state through the records, as ParseStream's record scan does.
	state *famState
	// set and dflt are the options' Set and Default labels, extra the
	// two in one; plan is where relabel took each label of its last
	// result from: p.ls[i] for i >= 0, else extra[-1-i].
	set, dflt, extra []labels.Label
	plan             []int32
	planned          bool
	planEmpty        uint64 // which labels of p.ls were empty then
	// Streaming only: records longer than maxRecord are refused (0: no
	// limit). cut is the start of the last metadata block after samples
	// at or after from, with the samples and the state before it.
	maxRecord, from int
	afterSample     bool
	cut             streamCut
}

// parse reads all of b into p.fams; false means textparse must read it.
// textparse stops at a NUL byte, so parse refuses every input with one:
// each part of a record either fails on a NUL byte or, for a comment, is
// searched for one.
func (p *textParser) parse() bool {
	for {
		start := p.pos
		p.skipSpace()
		if p.pos >= len(p.b) {
			p.flush()
			return true
		}
		var ok bool
		switch c := p.b[p.pos]; {
		case c == '\n':
			p.pos++
			ok = true
		case c == '#':
			ok = p.comment()
		case isNameStart(c):
			// textparse makes blanks before a sample part of its name.
			ok = p.pos == start && p.sample()
		}
		if !ok {
			return false
		}
	}
}

func (p *textParser) skipSpace() {
	for p.pos < len(p.b) && (p.b[p.pos] == ' ' || p.b[p.pos] == '\t') {
		p.pos++
	}
}

// eol is the end of the line at pos (the input's end stands for a newline,
// as textparse appends one).
func (p *textParser) eol() int {
	if i := bytes.IndexByte(p.b[p.pos:], '\n'); i >= 0 {
		return p.pos + i
	}
	return len(p.b)
}

// nextLine moves past the newline at end.
func (p *textParser) nextLine(end int) { p.pos = min(end+1, len(p.b)) }

func (p *textParser) comment() bool {
	end := p.eol()
	line := p.b[p.pos:end]
	if bytes.IndexByte(line, 0) >= 0 {
		return false
	}
	// "#" then blanks then HELP or TYPE then blanks is metadata; any other
	// line starting with "#" is a comment.
	rest := bytes.TrimLeft(line[1:], " \t")
	if len(rest) == len(line)-1 || len(rest) < 5 || (!bytes.HasPrefix(rest, []byte("HELP")) && !bytes.HasPrefix(rest, []byte("TYPE"))) ||
		(rest[4] != ' ' && rest[4] != '\t') {
		p.nextLine(end)
		return true
	}
	isType := rest[0] == 'T'
	rest = bytes.TrimLeft(rest[4:], " \t")
	n := nameLen(rest, true)
	if n == 0 {
		return false // a quoted or invalid name
	}
	name, text := rest[:n], rest[n:]
	// textparse drops the one character after the name; blanks alone are
	// read differently.
	if len(bytes.TrimLeft(text, " \t")) == 0 {
		return false
	}
	text = text[1:]
	kind := recHelp
	if isType {
		t, ok := metricTypes[string(text)]
		if !ok {
			return false
		}
		p.begin(name)
		p.cur.Type, p.typ = t, t
		kind = recType
	} else {
		if bytes.IndexByte(text, '\\') >= 0 || !utf8.Valid(text) {
			return false
		}
		p.begin(name)
		p.cur.Help = string(text)
	}
	start := p.pos
	p.nextLine(end)
	return p.follow(kind, start, name)
}

// follow updates the family state, when streaming, with the record at
// b[start:pos] that was just read; false refuses a record longer than
// maxRecord.
func (p *textParser) follow(kind recKind, start int, name []byte) bool {
	if p.state == nil {
		return true
	}
	if p.maxRecord > 0 && p.pos-start > p.maxRecord {
		return false
	}
	if kind == recSample {
		p.afterSample = true
	} else {
		if p.afterSample && start > p.from {
			p.cut = streamCut{pos: start, samples: p.samples, state: *p.state}
		}
		p.afterSample = false
	}
	p.state.update(kind, p.b[start:p.pos], name)
	return true
}

var metricTypes = map[string]model.MetricType{
	"counter":   model.MetricTypeCounter,
	"gauge":     model.MetricTypeGauge,
	"histogram": model.MetricTypeHistogram,
	"summary":   model.MetricTypeSummary,
	"untyped":   model.MetricTypeUnknown,
}

// sample reads one sample line: name, optional labels, value, optional
// timestamp.
func (p *textParser) sample() bool {
	b := p.b
	rec := p.pos
	n := nameLen(b[p.pos:], true)
	if n > metric.MaxLabelBytes {
		return false // textparse's reading says what is too long
	}
	name := b[p.pos : p.pos+n]
	p.pos += n
	p.ls = append(p.ls[:0], labels.Label{Name: model.MetricNameLabel, Value: yolo(name)})
	p.skipSpace()
	if p.pos < len(b) && b[p.pos] == '{' {
		p.pos++
		if !p.labels() {
			return false
		}
		p.skipSpace()
	}
	// The value is everything up to a blank, newline or brace.
	start := p.pos
	for p.pos < len(b) && b[p.pos] != ' ' && b[p.pos] != '\t' && b[p.pos] != '\n' && b[p.pos] != '{' {
		p.pos++
	}
	if p.pos == start {
		return false
	}
	v, err := parseFloat(yolo(b[start:p.pos]))
	if err != nil {
		return false
	}
	if math.IsNaN(v) {
		v = math.Float64frombits(value.NormalNaN)
	}
	p.skipSpace()
	var t int64
	hasT := false
	if p.pos < len(b) && b[p.pos] >= '0' && b[p.pos] <= '9' {
		start = p.pos
		for p.pos < len(b) && b[p.pos] >= '0' && b[p.pos] <= '9' {
			p.pos++
		}
		if t, err = strconv.ParseInt(yolo(b[start:p.pos]), 10, 64); err != nil {
			return false
		}
		hasT = true
		p.skipSpace()
	}
	if p.pos < len(b) {
		if b[p.pos] != '\n' {
			return false
		}
		p.pos++
	}
	lset, ok := p.build()
	if !ok {
		return false
	}
	if !p.started || !belongs(p.cur.Name, yolo(name)) {
		p.begin(name)
	}
	if !p.follow(recSample, rec, name) {
		return false
	}
	s := metric.Sample{Labels: lset, Value: v}
	if hasT && p.opts.HonorTimestamps {
		s.T = t
	}
	p.cur.Samples = append(p.cur.Samples, s)
	p.samples++
	if p.opts.ChunkSamples > 0 && len(p.cur.Samples) >= p.opts.ChunkSamples {
		p.flush()
	}
	return true
}

// begin starts family name unless the current one has that name already.
func (p *textParser) begin(name []byte) {
	if p.started && p.cur.Name == yolo(name) {
		return
	}
	p.flush()
	p.cur, p.started = metric.Family{Name: string(name), Type: model.MetricTypeUnknown}, true
}

func (p *textParser) flush() {
	if !p.started || len(p.cur.Samples) == 0 {
		return
	}
	p.fams = append(p.fams, p.cur)
	p.cur.Samples = nil
}

// nameChars classifies bytes for nameLen: 1 may start a label name, 2 may
// start a metric name, 4 may continue a label name, 8 a metric name.
var nameChars = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		if isLabelStart(b) {
			t[c] |= 1
		}
		if isNameStart(b) {
			t[c] |= 2
		}
		if isLabelChar(b) {
			t[c] |= 4
		}
		if isNameChar(b) {
			t[c] |= 8
		}
	}
	return t
}()

// nameLen is the length of the metric name (colons allowed) or label name
// at the start of b.
func nameLen(b []byte, metric bool) int {
	start, char := uint8(1), uint8(4)
	if metric {
		start, char = 2, 8
	}
	if len(b) == 0 || nameChars[b[0]]&start == 0 {
		return 0
	}
	i := 1
	for i < len(b) && nameChars[b[i]]&char != 0 {
		i++
	}
	return i
}

// yolo views b as a string without copying; only for strings that do not
// outlive b (labels.ScratchBuilder copies what it keeps).
func yolo(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseFloat reads a sample value as textparse does: Go's float syntax
// without the forms Go 1.13 added (hex mantissas, underscores).
func parseFloat(s string) (float64, error) {
	if strings.ContainsAny(s, "pP_") {
		return 0, errUnsupportedFloat
	}
	return strconv.ParseFloat(s, 64)
}

var errUnsupportedFloat = errors.New("unsupported character in float")
