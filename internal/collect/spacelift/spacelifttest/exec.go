package spacelifttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/vektah/gqlparser/v2/ast"
)

// gqlError is one entry of a response's "errors".
type gqlError struct {
	Message string `json:"message"`
	Path    []any  `json:"path,omitempty"`
}

// object is a JSON object that keeps the order of the query's fields, as the
// GraphQL spec asks of responses.
type object []field

type field struct {
	key   string
	value any
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// executor runs a validated operation over fixture data: a JSON tree
// (map[string]any, []any, float64, string, bool, nil) whose keys are the
// schema's field names. It implements the parts of the GraphQL execution
// algorithm the tests rely on: field collection with fragments, aliases and
// @skip/@include, __typename, scalar coercion, and null propagation of
// field errors to the nearest nullable parent.
type executor struct {
	schema *ast.Schema
	doc    *ast.QueryDocument
	vars   map[string]any
	// fail returns an error message for a field that must fail, by
	// "Type.field"; empty means resolve normally.
	fail func(typeField string) string
	// resolve computes the fields whose value depends on their arguments
	// (the search connections); ok false means "read the fixture key".
	resolve func(typeName string, f *ast.Field, obj map[string]any) (v any, msg string, ok bool)
	errors  []gqlError
}

func (e *executor) errorf(path []any, format string, args ...any) {
	e.errors = append(e.errors, gqlError{Message: fmt.Sprintf(format, args...), Path: append([]any(nil), path...)})
}

// selectionSet executes set on obj; nil means the object became null
// because a non-null field in it failed.
func (e *executor) selectionSet(obj map[string]any, typeName string, set ast.SelectionSet, path []any) object {
	grouped := e.collect(typeName, set, nil, map[string]bool{})
	out := make(object, 0, len(grouped))
	for _, g := range grouped {
		v := e.field(obj, typeName, g.fields, append(path, g.key))
		if v == nil && g.fields[0].Definition != nil && g.fields[0].Definition.Type.NonNull {
			return nil
		}
		out = append(out, field{g.key, v})
	}
	return out
}

type group struct {
	key    string
	fields []*ast.Field
}

// collect implements CollectFields: merge selections with one response key.
func (e *executor) collect(typeName string, set ast.SelectionSet, groups []group, visited map[string]bool) []group {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !e.include(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			found := false
			for i := range groups {
				if groups[i].key == key {
					groups[i].fields = append(groups[i].fields, s)
					found = true
				}
			}
			if !found {
				groups = append(groups, group{key: key, fields: []*ast.Field{s}})
			}
		case *ast.InlineFragment:
			if !e.include(s.Directives) || (s.TypeCondition != "" && s.TypeCondition != typeName) {
				continue
			}
			groups = e.collect(typeName, s.SelectionSet, groups, visited)
		case *ast.FragmentSpread:
			if !e.include(s.Directives) || visited[s.Name] {
				continue
			}
			visited[s.Name] = true
			frag := e.doc.Fragments.ForName(s.Name)
			if frag == nil || (frag.TypeCondition != "" && frag.TypeCondition != typeName) {
				continue
			}
			groups = e.collect(typeName, frag.SelectionSet, groups, visited)
		}
	}
	return groups
}

func (e *executor) include(dirs ast.DirectiveList) bool {
	if d := dirs.ForName("skip"); d != nil {
		if v, _ := d.ArgumentMap(e.vars)["if"].(bool); v {
			return false
		}
	}
	if d := dirs.ForName("include"); d != nil {
		if v, _ := d.ArgumentMap(e.vars)["if"].(bool); !v {
			return false
		}
	}
	return true
}

// field resolves one response key; nil is null (an error, if any, was
// recorded).
func (e *executor) field(obj map[string]any, typeName string, fields []*ast.Field, path []any) any {
	f := fields[0]
	if f.Name == "__typename" {
		return typeName
	}
	if msg := e.fail(typeName + "." + f.Name); msg != "" {
		e.errorf(path, "%s", msg)
		return nil
	}
	raw := obj[f.Name]
	if e.resolve != nil {
		v, msg, ok := e.resolve(typeName, f, obj)
		if msg != "" {
			e.errorf(path, "%s", msg)
			return nil
		}
		if ok {
			raw = v
		}
	}
	v, _ := e.complete(f.Definition.Type, fields, raw, path, typeName+"."+f.Name)
	return v
}

// complete implements CompleteValue. It returns nil for null; errored tells
// that the null comes from an error already recorded.
func (e *executor) complete(t *ast.Type, fields []*ast.Field, raw any, path []any, where string) (any, bool) {
	if t.NonNull {
		inner := *t
		inner.NonNull = false
		v, errored := e.complete(&inner, fields, raw, path, where)
		if v == nil && !errored {
			e.errorf(path, "Cannot return null for non-nullable field %s.", where)
		}
		return v, v == nil
	}
	if raw == nil {
		return nil, false
	}
	if t.Elem != nil {
		list, ok := raw.([]any)
		if !ok {
			e.errorf(path, "fixture error: %s is not a list", where)
			return nil, true
		}
		out := make([]any, len(list))
		for i, item := range list {
			v, errored := e.complete(t.Elem, fields, item, append(path, i), where)
			if v == nil && t.Elem.NonNull {
				return nil, errored
			}
			out[i] = v
		}
		return out, false
	}
	def := e.schema.Types[t.NamedType]
	switch def.Kind {
	case ast.Object:
		obj, ok := raw.(map[string]any)
		if !ok {
			e.errorf(path, "fixture error: %s is not an object", where)
			return nil, true
		}
		var set ast.SelectionSet
		for _, f := range fields {
			set = append(set, f.SelectionSet...)
		}
		res := e.selectionSet(obj, def.Name, set, path)
		if res == nil {
			return nil, true
		}
		return res, false
	default:
		v, err := coerce(t.NamedType, raw)
		if err != nil {
			e.errorf(path, "%s: %v", where, err)
			return nil, true
		}
		return v, false
	}
}

// coerce implements result coercion for the built-in scalars.
func coerce(typeName string, raw any) (any, error) {
	switch typeName {
	case "Int":
		f, ok := raw.(float64)
		if !ok || f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
			return nil, fmt.Errorf("Int cannot represent %v", raw)
		}
		return int64(f), nil
	case "Float":
		f, ok := raw.(float64)
		if !ok {
			return nil, fmt.Errorf("Float cannot represent %v", raw)
		}
		return f, nil
	case "Boolean":
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("Boolean cannot represent %v", raw)
		}
		return b, nil
	case "String", "ID":
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("%s cannot represent %v", typeName, raw)
		}
		return s, nil
	default:
		return raw, nil
	}
}

// hiddenFields reports the first field of op that the fake pretends not to
// know ("Type.field"), the way an older API version would reject it.
func hiddenFields(doc *ast.QueryDocument, set ast.SelectionSet, hidden map[string]bool, seen map[string]bool) string {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.ObjectDefinition != nil && hidden[s.ObjectDefinition.Name+"."+s.Name] {
				return fmt.Sprintf("Cannot query field %q on type %q.", s.Name, s.ObjectDefinition.Name)
			}
			if m := hiddenFields(doc, s.SelectionSet, hidden, seen); m != "" {
				return m
			}
		case *ast.InlineFragment:
			if m := hiddenFields(doc, s.SelectionSet, hidden, seen); m != "" {
				return m
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if frag := doc.Fragments.ForName(s.Name); frag != nil {
				if m := hiddenFields(doc, frag.SelectionSet, hidden, seen); m != "" {
					return m
				}
			}
		}
	}
	return ""
}
