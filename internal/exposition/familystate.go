package exposition

import "bytes"

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
