package exposition

import (
	"bytes"
	"encoding/binary"
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
	return &textParser{b: b, opts: opts, typ: model.MetricTypeUnknown}
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

// labels reads the label pairs after "{" up to and including "}". As in
// textparse, blanks may surround every token, the comma between pairs may
// be missing and a trailing comma is allowed.
func (p *textParser) labels() bool {
	b := p.b
	for {
		p.skipSpace()
		if p.pos >= len(b) {
			return false
		}
		if b[p.pos] == '}' {
			p.pos++
			return true
		}
		n := nameLen(b[p.pos:], false)
		if n == 0 {
			return false
		}
		lname := yolo(b[p.pos : p.pos+n])
		p.pos += n
		// The canonical form is name="value": blanks around "=" are
		// looked for only when it is not there.
		if p.pos+1 < len(b) && b[p.pos] == '=' && b[p.pos+1] == '"' {
			p.pos += 2
		} else {
			p.skipSpace()
			if p.pos >= len(b) || b[p.pos] != '=' {
				return false
			}
			p.pos++
			p.skipSpace()
			if p.pos >= len(b) || b[p.pos] != '"' {
				return false
			}
			p.pos++
		}
		start, high := p.pos, false
		p.pos += plainASCII(b[p.pos:])
	scan:
		for ; p.pos < len(b); p.pos++ {
			switch valueStops[b[p.pos]] {
			case stopHigh:
				high = true
			case stopEnd:
				break scan
			}
		}
		// Escapes, multi-line values and NUL bytes are left to textparse.
		if p.pos >= len(b) || b[p.pos] != '"' {
			return false
		}
		val := b[start:p.pos]
		p.pos++
		if high && !utf8.Valid(val) {
			return false
		}
		v := yolo(val)
		if (p.typ == model.MetricTypeSummary && lname == model.QuantileLabel) ||
			(p.typ == model.MetricTypeHistogram && lname == model.BucketLabel) {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = labels.FormatOpenMetricsFloat(f)
			}
		}
		p.ls = append(p.ls, labels.Label{Name: lname, Value: v})
		if p.pos < len(b) && b[p.pos] == ',' {
			p.pos++
		} else {
			p.skipSpace()
			if p.pos < len(b) && b[p.pos] == ',' {
				p.pos++
			}
		}
	}
}

// plainASCII is the length of the run at the start of b, in whole words of
// eight bytes, without a byte a label value's scan stops at: '"', '\\',
// newline, NUL or one above 0x7f.
func plainASCII(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// has(x, c) is non-zero when a byte of x is c (a classic bit trick:
	// subtracting one from every byte borrows into the high bit only
	// from a zero byte).
	has := func(x, c uint64) uint64 { y := x ^ (ones * c); return (y - ones) &^ y & highs }
	n := 0
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(b[n:])
		if x&highs|has(x, '"')|has(x, '\\')|has(x, '\n')|has(x, 0) != 0 {
			break
		}
		n += 8
	}
	return n
}

// build sorts the labels, applies the Set and Default labels of the
// options, and returns the labels; ok is false for a duplicate label name.
func (p *textParser) build() (labels.Labels, bool) {
	same := p.sortLabels()
	for i := 1; i < len(p.ls) && !same; i++ {
		if p.ls[i].Name == p.ls[i-1].Name {
			return labels.EmptyLabels(), false
		}
	}
	if !p.opts.Set.IsEmpty() || !p.opts.Default.IsEmpty() {
		p.relabel(same)
	}
	p.sb.Reset()
	for _, l := range p.ls {
		p.sb.Add(l.Name, l.Value)
	}
	return p.sb.Labels(), true
}

// sortLabels sorts p.ls by name. The series of a family mostly list the
// same label names in the same order, unsorted in kube-state-metrics'
// output; the order found for the last series is reused when the names
// match, which costs a comparison a label instead of a sort.
// It reports whether the names were the last series' (which had no
// duplicate).
func (p *textParser) sortLabels() (same bool) {
	ls := p.ls
	same = len(ls) == len(p.order)
	for i := 0; same && i < len(ls); i++ {
		same = ls[i].Name == p.order[i].name
	}
	if !same {
		p.order = p.order[:0]
		for i, l := range ls {
			p.order = append(p.order, sortKey{l.Name, i})
		}
		p.sorted = append(p.sorted[:0], p.order...)
		sortKeys(p.sorted)
	}
	p.tmp = append(p.tmp[:0], ls...)
	for i, k := range p.sorted {
		ls[i] = p.tmp[k.at]
	}
	return same
}

// sortKey is a label name and its place in the series as parsed.
type sortKey struct {
	name string
	at   int
}

func sortKeys(ks []sortKey) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && less(ks[j].name, ks[j-1].name); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

// relabel applies the options' Set and Default labels to the sorted p.ls
// as applyLabels does on textparse's labels, merging the three sorted
// lists: a Set value wins, an empty one removes the label; a Default value
// fills in a label that is missing then; an empty value is no label.
//
// The merge depends only on the names and on which values are empty: for a
// series with the last one's names (same) and empty values, it replays the
// plan the last merge recorded, where each label of the result came from.
func (p *textParser) relabel(same bool) {
	if p.extra == nil {
		p.set, p.dflt = labelsOf(p.opts.Set), labelsOf(p.opts.Default)
		p.extra = append(append(make([]labels.Label, 0, len(p.set)+len(p.dflt)), p.set...), p.dflt...)
	}
	var empty uint64
	for i, l := range p.ls {
		if l.Value == "" && i < 64 {
			empty |= 1 << i
		}
	}
	out := p.tmp[:0]
	if same && p.planned && empty == p.planEmpty {
		for _, src := range p.plan {
			if src >= 0 {
				out = append(out, p.ls[src])
			} else {
				out = append(out, p.extra[-1-src])
			}
		}
		p.ls, p.tmp = out, p.ls
		return
	}
	ls, set, dflt := p.ls, p.set, p.dflt
	li, si, di := 0, 0, 0
	p.plan = p.plan[:0]
	for li < len(ls) || si < len(set) || di < len(dflt) {
		// The smallest name at the head of the three lists.
		var name string
		switch {
		case li < len(ls):
			name = ls[li].Name
		case si < len(set):
			name = set[si].Name
		default:
			name = dflt[di].Name
		}
		if si < len(set) && set[si].Name < name {
			name = set[si].Name
		}
		if di < len(dflt) && dflt[di].Name < name {
			name = dflt[di].Name
		}
		v, src, fromSet := "", int32(0), false
		if si < len(set) && set[si].Name == name {
			v, src, fromSet = set[si].Value, int32(-1-si), true
			si++
		}
		if li < len(ls) && ls[li].Name == name {
			if !fromSet {
				v, src = ls[li].Value, int32(li)
			}
			li++
		}
		if di < len(dflt) && dflt[di].Name == name {
			if v == "" {
				v, src = dflt[di].Value, int32(-1-len(set)-di)
			}
			di++
		}
		if v != "" {
			out = append(out, labels.Label{Name: name, Value: v})
			p.plan = append(p.plan, src)
		}
	}
	p.planned, p.planEmpty = len(ls) <= 64, empty
	p.ls, p.tmp = out, p.ls
}

func labelsOf(ls labels.Labels) []labels.Label {
	var out []labels.Label
	ls.Range(func(l labels.Label) { out = append(out, l) })
	return out
}

// less is a < b, deciding most label names on their first byte without a
// call into the runtime.
func less(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
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

// valueStops marks the bytes that end the plain run of a label value.
var valueStops = func() (t [256]uint8) {
	t['"'], t['\\'], t['\n'], t[0] = stopEnd, stopEnd, stopEnd, stopEnd
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = stopHigh
	}
	return t
}()

const (
	stopEnd = 1 + iota
	stopHigh
)

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
