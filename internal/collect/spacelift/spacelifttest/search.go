package spacelifttest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// The search connections page over lists in the fixture:
//   - searchStacks over the root's "stacks";
//   - searchSchedulableRuns over a pool's "schedulableRuns" (each
//     {stackId, position, run{id, createdAt, state}}), ordered by position
//     when orderBy asks for it.
//
// A missing list is an empty connection. Cursors are "cursor:<offset>", the
// offset of the next item; anything else is an invalid cursor, as a real
// server would answer.
func search(typeName string, f *ast.Field, obj map[string]any, vars map[string]any, mode Mode) (any, string, bool) {
	var key string
	switch typeName + "." + f.Name {
	case "Query.searchStacks":
		key = "stacks"
	case "WorkerPool.searchSchedulableRuns", "PublicWorkerPool.searchSchedulableRuns":
		key = "schedulableRuns"
	default:
		return nil, "", false
	}
	input, _ := f.ArgumentMap(vars)["input"].(map[string]any)
	items, _ := obj[key].([]any)
	items = append([]any(nil), items...)
	if order, ok := input["orderBy"].(map[string]any); ok {
		field, _ := order["field"].(string)
		desc := strings.EqualFold(fmt.Sprint(order["direction"]), "DESC")
		sort.SliceStable(items, func(i, j int) bool {
			a, b := number(items[i], field), number(items[j], field)
			if desc {
				return a > b
			}
			return a < b
		})
	}
	start := 0
	after, hasAfter := input["after"].(string)
	if hasAfter {
		n, err := strconv.Atoi(strings.TrimPrefix(after, "cursor:"))
		if !strings.HasPrefix(after, "cursor:") || err != nil || n < 0 || n > len(items) {
			return nil, fmt.Sprintf("invalid cursor %q", after), false
		}
		start = n
	}
	end := len(items)
	if first, ok := toInt(input["first"]); ok && first >= 0 && start+first < end {
		end = start + first
	}
	edges := make([]any, 0, end-start)
	for _, it := range items[start:end] {
		edges = append(edges, map[string]any{"node": it})
	}
	info := map[string]any{"hasNextPage": end < len(items), "hasPreviousPage": start > 0, "endCursor": nil}
	if end > start {
		info["endCursor"] = "cursor:" + strconv.Itoa(end)
	}
	if key == "stacks" && mode.StuckStackCursor && hasAfter {
		info["endCursor"], info["hasNextPage"] = after, true
	}
	return map[string]any{"edges": edges, "pageInfo": info}, "", true
}

// number reads a numeric field of a fixture object for ordering.
func number(item any, field string) float64 {
	m, _ := item.(map[string]any)
	f, _ := m[field].(float64)
	return f
}

// toInt reads an Int argument, an int64 from a literal or a coerced
// variable.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int64:
		return int(n), true
	case int:
		return n, true
	case float64:
		return int(n), true
	}
	return 0, false
}
