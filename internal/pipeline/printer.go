package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// Printer is the destination of `liftpush collect`: it writes what would be
// pushed as an exposition, so what is printed went through exactly the path
// a push takes.
type Printer struct {
	W           io.Writer
	OpenMetrics bool
}

// Name implements push.Destination.
func (*Printer) Name() string { return "stdout" }

// Endpoint implements push.Destination.
func (*Printer) Endpoint() string { return "-" }

// Probe implements push.Destination: stdout needs no check.
func (*Printer) Probe(context.Context) (string, error) { return "standard output", nil }

// Stats implements push.Destination.
func (*Printer) Stats() push.Stats { return push.Stats{} }

// Close implements push.Destination.
func (*Printer) Close(context.Context) error { return nil }

// Open implements push.Destination.
func (pr *Printer) Open(context.Context, push.Options) push.Delivery { return &printing{pr: pr} }

// printing holds the families until Close: the exposition formats want
// every family once, however many groups it came in.
type printing struct {
	pr   *Printer
	fams []metric.Family
}

func (p *printing) Write(g *metric.Group) {
	p.fams = append(p.fams, g.Families...)
	p.fams = append(p.fams, g.Self...)
}

func (p *printing) Close() push.Report {
	rep := push.Report{Sent: metric.Samples(p.fams)}
	if err := metric.WriteText(p.pr.W, p.fams, p.pr.OpenMetrics); err != nil {
		rep = push.Report{Err: fmt.Errorf("writing exposition: %w", err)}
		rep.Drop("error", metric.Samples(p.fams))
	}
	return rep
}
