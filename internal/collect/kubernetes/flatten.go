package kubernetes

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Limits that keep one pathological object (a CRD holding a huge or deeply
// nested document) from exhausting memory. Real Deployments yield about 15
// series at depth < 10.
const (
	maxSeriesPerObject = 10000
	maxDepth           = 64
)

// flattener implements the kube-api-exporter naming: every numeric or
// boolean leaf of an object becomes <prefix><kind>_<json keys joined by _>,
// labelled {namespace, name}. A list contributes no name part; instead its
// key becomes a label whose value is the element's index, as
// dwnld/kube-api-exporter does, so that
// .spec.template.spec.containers[0].ports[1].containerPort becomes
// k8s_deployment_spec_template_spec_containerPort{containers="0",ports="1"}.
//
// Strings and nulls are skipped, which also skips int-or-string fields
// holding a percentage ("25%"); booleans are 1 and 0. Keys are walked in
// sorted order so output is stable. A flattener is reused across objects to
// keep its buffers, and is not safe for concurrent use.
type flattener struct {
	out    sink
	prefix string // "k8s_<kind>" or "kube_<kind>"
	kind   string // for HELP: "Deployment"
	gv     string // for HELP: "apps/v1"

	name   []byte   // metric name being built
	path   []byte   // JSON path being built, for HELP
	pairs  []string // label pairs: namespace, name, then one per enclosing list
	keys   [][]string
	seen   map[string]struct{}
	series int
	// truncated counts objects cut short by the limits above.
	truncated int
}

func newFlattener(out sink, prefix, kind, groupVersion string) *flattener {
	return &flattener{
		out:    out,
		prefix: prefix + string(appendNamePart(nil, strings.ToLower(kind))),
		kind:   kind,
		gv:     groupVersion,
		seen:   map[string]struct{}{},
	}
}

// object flattens one object. namespace is empty for cluster-scoped ones.
func (f *flattener) object(obj map[string]any, namespace, name string) {
	f.name = append(f.name[:0], f.prefix...)
	f.path = f.path[:0]
	f.pairs = append(f.pairs[:0], "namespace", namespace, "name", name)
	clear(f.seen)
	f.series = 0
	if !f.walkMap(obj, "", 0) {
		f.truncated++
	}
}

// walkMap walks the entries of m, whose own key is parent. It returns false
// when a limit cut the walk short.
func (f *flattener) walkMap(m map[string]any, parent string, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	for len(f.keys) <= depth {
		f.keys = append(f.keys, nil)
	}
	keys := f.keys[depth][:0]
	for k := range m {
		// managedFields is bookkeeping of the apiserver and annotations are
		// free-form strings: both only cost time.
		if parent == "metadata" && (k == "managedFields" || k == "annotations") {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	f.keys[depth] = keys
	ok := true
	for _, k := range keys {
		v := m[k]
		nameMark, pathMark := len(f.name), len(f.path)
		if _, isList := v.([]any); !isList {
			f.name = append(f.name, '_')
			f.name = appendNamePart(f.name, k)
		}
		f.path = append(f.path, '.')
		f.path = append(f.path, k...)
		ok = f.walkValue(v, k, depth+1) && ok
		f.name, f.path = f.name[:nameMark], f.path[:pathMark]
		if f.series >= maxSeriesPerObject {
			return false
		}
	}
	return ok
}

// walkValue handles one value found under key.
func (f *flattener) walkValue(v any, key string, depth int) bool {
	switch v := v.(type) {
	case map[string]any:
		return f.walkMap(v, key, depth)
	case []any:
		return f.walkList(v, key, depth)
	case bool:
		if v {
			f.emit(1)
		} else {
			f.emit(0)
		}
	case int64:
		f.emit(float64(v))
	case float64:
		f.emit(v)
	case int:
		f.emit(float64(v))
	case int32:
		f.emit(float64(v))
	case json.Number:
		if x, err := v.Float64(); err == nil {
			f.emit(x)
		}
	}
	return true
}

// walkList labels each element with its index under a label named after
// the list's key. A list nested directly in a list, or a key that clashes
// with a label already in use, gets "_index" appended until it is unique.
func (f *flattener) walkList(l []any, key string, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	label := f.uniqueLabel(labelName(key))
	pathMark, pairsMark := len(f.path), len(f.pairs)
	f.path = append(f.path, "[]"...)
	f.pairs = append(f.pairs, label, "")
	ok := true
	for i, e := range l {
		f.pairs[pairsMark+1] = strconv.Itoa(i)
		ok = f.walkValue(e, key, depth+1) && ok
		if f.series >= maxSeriesPerObject {
			ok = false
			break
		}
	}
	f.path, f.pairs = f.path[:pathMark], f.pairs[:pairsMark]
	return ok
}

func (f *flattener) uniqueLabel(l string) string {
	for {
		clash := l == "__name__"
		for i := 0; i < len(f.pairs); i += 2 {
			if f.pairs[i] == l {
				clash = true
				break
			}
		}
		if !clash {
			return l
		}
		l += "_index"
	}
}

// emit records the current leaf. Two leaves can map to one series when
// keys differ only in characters that sanitising replaces ("a.b" and
// "a_b"); the first one in key order wins, since a receiver rejects two
// values for one series in one request.
func (f *flattener) emit(v float64) {
	if f.series >= maxSeriesPerObject {
		return
	}
	id := make([]byte, 0, len(f.name)+32)
	id = append(id, f.name...)
	for i := 4; i < len(f.pairs); i++ { // the first four are the same for the whole object
		id = append(id, 0xff)
		id = append(id, f.pairs[i]...)
	}
	if _, dup := f.seen[string(id)]; dup {
		return
	}
	f.seen[string(id)] = struct{}{}
	f.series++
	fam := f.out.family(f.name, f.help)
	f.out.add(fam, v, f.pairs...)
}

func (f *flattener) help() string {
	return "Field " + string(f.path) + " of Kubernetes " + f.kind + " objects (" + f.gv + ")."
}
