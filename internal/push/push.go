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
	"time"

	"github.com/liftpush/liftpush/internal/metric"
)

// Destination is one receiver. Each delivery (one cycle, or one push of a
// file) is opened, fed and closed; a destination keeps what must outlive a
// delivery, such as the Pushgateway groups to delete at shutdown.
//
// Open is never called while another delivery of the same destination is
// open; the pipeline opens different destinations concurrently.
type Destination interface {
	Name() string
	// Endpoint names the receiver in log lines, credentials redacted.
	Endpoint() string
	// Open starts a delivery bounded by ctx: by the time ctx is done, Close
	// returns. ctx may have no deadline (push FILE); opts.Stall then bounds
	// a receiver that stops accepting.
	Open(ctx context.Context, opts Options) Delivery
	// Probe checks, cheaply and without writing anything, that deliveries
	// would work (check-config --probe). It returns what it found, or an
	// error that says how to fix it; neither holds a secret.
	Probe(ctx context.Context) (detail string, err error)
	// Stats describes what the destination holds between deliveries.
	Stats() Stats
	// Close ends the destination: after the last delivery of a process,
	// or when a reload drops it. It makes what the destination keeps
	// durable (spool removals) and does its shutdown work (the
	// Pushgateway's delete_on_shutdown) within ctx.
	Close(ctx context.Context) error
}

// Stats is what a destination holds between deliveries.
type Stats struct {
	// Spool is the destination's spool; nil without one.
	Spool *SpoolState
}

// Options tunes one delivery.
type Options struct {
	// Stall, when positive, ends the delivery once the receiver has
	// accepted nothing for this long while a request was pending.
	Stall time.Duration
	// Cycle, when not zero, is the time of a collection cycle in ms.
	// Destinations with staleness then mark every data series that the
	// previous cycle delivered and this one lacks with a stale NaN at
	// Cycle, as a Prometheus scrape does (DESIGN.md section 5,
	// "Staleness"). Self-metrics are never marked.
	Cycle int64
	// Shard is the part of the work this cycle collected, "I/N" (""
	// unsharded). When it differs from the last cycle's, the series that
	// moved now belong to another replica, which may already have
	// written them: this cycle sends no stale markers (issue 20).
	Shard string
}

// Delivery takes one delivery's data as it is produced.
//
// Write and Close are called from one goroutine. Write may block while the
// destination's requests are in flight, which keeps memory bounded for any
// input size; it must not modify g, and may keep references to it until
// Close. Close waits for every sample to be sent or dropped and reports
// what happened to each of them.
type Delivery interface {
	Write(g *metric.Group)
	Close() Report
}

// Report is the outcome of one delivery, in samples.
type Report struct {
	Destination string
	Sent        int
	// Retried counts samples re-sent after a recoverable failure.
	Retried int
	// Dropped maps a short reason ("http_400", "timeout", ...) to samples.
	Dropped map[string]int
	// Spooled counts samples left in the spool for a later delivery;
	// Replayed counts samples of earlier deliveries sent from it.
	Spooled, Replayed int
	// Spool describes the destination's spool after the delivery; nil
	// without one.
	Spool *SpoolState
	// Err is the first error that made the delivery incomplete, if any.
	Err error
}

// SpoolState is what a destination's spool holds.
type SpoolState struct {
	Records int
	Bytes   int64
	// Oldest is the creation time of the oldest record; zero when empty.
	Oldest time.Time
	// Corrupt counts the records and state files this process moved
	// aside because they failed verification.
	Corrupt int
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
// destination.<name>.sent=... retried=... dropped=... [spooled=...
// replayed=...] [dropped_by_reason=...].
func (r Report) LogAttr() slog.Attr {
	g := []any{"sent", r.Sent, "retried", r.Retried, "dropped", r.DroppedTotal()}
	if r.Spool != nil {
		g = append(g, "spooled", r.Spooled, "replayed", r.Replayed)
	}
	if len(r.Dropped) > 0 {
		g = append(g, "dropped_by_reason", r.DropSummary())
	}
	return slog.Group("destination."+r.Destination, g...)
}
