// Package push defines where collected metrics go and how delivery is
// retried. Each sink lives in its own subpackage.
package push

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/liftpush/liftpush/internal/metric"
)

// Destination delivers one cycle's groups to one receiver.
//
// Deliver is called once per cycle and never concurrently with itself; the
// pipeline calls different destinations concurrently. It must return by the
// time ctx is done (ctx carries the cycle deadline) and report what happened
// to every sample it was given: sent, or dropped with a reason. The groups are
// shared between destinations and must not be modified.
type Destination interface {
	Name() string
	Endpoint() string
	Deliver(ctx context.Context, groups []metric.Group) Report
}

// Report is the outcome of one delivery, in samples.
type Report struct {
	Destination string
	Sent        int
	// Retried counts samples re-sent after a recoverable failure.
	Retried int
	// Dropped maps a short reason ("http_400", "timeout", ...) to samples.
	Dropped map[string]int
	// Err is the first error that made the delivery incomplete, if any.
	Err error
}

// Drop records n samples dropped for reason.
func (r *Report) Drop(reason string, n int) {
	if n == 0 {
		return
	}
	if r.Dropped == nil {
		r.Dropped = map[string]int{}
	}
	r.Dropped[reason] += n
}

// DroppedTotal sums the dropped samples over all reasons.
func (r Report) DroppedTotal() int {
	n := 0
	for _, v := range r.Dropped {
		n += v
	}
	return n
}

// DropSummary renders the drop reasons as "reason=n,reason=n" in a stable
// order, for the one summary log line.
func (r Report) DropSummary() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.Dropped)) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", k, r.Dropped[k])
	}
	return b.String()
}

// LogAttr renders the report as the destination's part of a summary line:
// destination.<name>.sent=... retried=... dropped=... [dropped_by_reason=...].
func (r Report) LogAttr() slog.Attr {
	g := []any{"sent", r.Sent, "retried", r.Retried, "dropped", r.DroppedTotal()}
	if len(r.Dropped) > 0 {
		g = append(g, "dropped_by_reason", r.DropSummary())
	}
	return slog.Group("destination."+r.Destination, g...)
}
