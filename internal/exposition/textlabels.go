package exposition

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

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
		if n > metric.MaxLabelBytes || len(val) > metric.MaxLabelBytes {
			return false // textparse's reading says what is too long
		}
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
