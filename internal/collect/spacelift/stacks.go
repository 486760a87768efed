package spacelift

import (
	"context"
	"fmt"
)

// The stack listing (spacelift.stacks, issue 13) pages through searchStacks
// in requests of its own, after the cycle's one combined query. Spacelift's
// exporter refused per-stack series because listing stacks is expensive
// (spacelift-io/prometheus-exporter#19); as an opt-in of a once-a-cycle job
// it costs one request per stackPageSize stacks.
const (
	stackPageSize = 50
	// defaultMaxStackPages bounds a listing that would otherwise follow a
	// server's cursors forever: 200 pages are 10,000 stacks.
	defaultMaxStackPages = 200
)

// fetchStacks lists every stack, each once. A failed page ends the listing
// with an error and the stacks of the pages before it; a listing cut short
// by the page limit or a repeated cursor is logged, not an error, and keeps
// what it got.
func (c *Collector) fetchStacks(ctx context.Context, n *nullCheck) ([]stack, error) {
	var out []stack
	seen := map[string]struct{}{}
	cursors := map[string]struct{}{}
	in := SearchInput{First: stackPageSize}
	for page := 1; ; page++ {
		if page > c.maxStackPages {
			c.logger.Warn("Stopped listing Spacelift stacks at the page limit; the stacks beyond it have no spacelift_stack_state series this cycle",
				"pages", c.maxStackPages, "stacks", len(out))
			return out, nil
		}
		q := &stacksPage{}
		x, err := c.runWith(ctx, q, map[string]any{"input": in})
		if x != nil {
			c.logErrors(x)
		}
		if err != nil {
			return out, fmt.Errorf("searchStacks (page %d): %w", page, err)
		}
		conn := q.SearchStacks
		if conn == nil || conn.Edges == nil || conn.PageInfo == nil || conn.PageInfo.HasNextPage == nil {
			n.fail(fmt.Sprintf("searchStacks (page %d)", page))
			return out, nil
		}
		for i, e := range conn.Edges {
			if e == nil || e.Node == nil || e.Node.ID == nil || e.Node.Name == nil {
				n.fail(fmt.Sprintf("searchStacks.edges.%d (page %d)", i, page))
				continue
			}
			if e.Node.State == nil {
				// state is nullable: without one there is no series to set.
				continue
			}
			if _, dup := seen[*e.Node.ID]; dup {
				continue
			}
			seen[*e.Node.ID] = struct{}{}
			s := stack{id: *e.Node.ID, name: *e.Node.Name, state: *e.Node.State}
			if e.Node.Space != nil {
				s.space = *e.Node.Space
			}
			out = append(out, s)
		}
		if !*conn.PageInfo.HasNextPage {
			return out, nil
		}
		next := conn.PageInfo.EndCursor
		if next == nil {
			n.errs = append(n.errs, fmt.Errorf("searchStacks (page %d): hasNextPage without an endCursor", page))
			return out, nil
		}
		if _, again := cursors[*next]; again {
			c.logger.Warn("Spacelift returned a stack cursor it had returned before; stopped listing stacks",
				"cursor", *next, "pages", page, "stacks", len(out))
			return out, nil
		}
		cursors[*next] = struct{}{}
		in.After = next
	}
}
