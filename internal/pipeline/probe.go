package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/liftpush/liftpush/internal/config"
)

// ProbeResult is the outcome of one part's probe.
type ProbeResult struct {
	// Part names the collector ("spacelift", "scrape/<job>") or the
	// destination ("remote_write/<name>").
	Part   string
	Detail string
	Err    error
}

// Probe builds the collectors and destinations cfg describes and probes
// them all in parallel, each under timeout (check-config --probe, issue
// 12). The results are in pipeline order: collectors by source, then
// destinations by kind. cfg is not changed; the spool is never opened, so
// a running liftpush may hold it. The error is for a configuration that
// cannot be built.
func Probe(ctx context.Context, cfg *config.Config, opts Options, timeout time.Duration) ([]ProbeResult, error) {
	c := *cfg
	c.Spool.Dir = ""
	p, err := New(&c, opts)
	if err != nil {
		return nil, err
	}
	type part struct {
		name string
		p    interface {
			Probe(ctx context.Context) (string, error)
		}
	}
	var parts []part
	for _, col := range p.collectors {
		parts = append(parts, part{col.Name(), col})
	}
	for i, d := range p.destinations {
		// Unnamed entries are named after their kind and URL already.
		name := d.Name()
		if kind := p.built.kinds[i]; !strings.HasPrefix(name, kind+"/") {
			name = kind + "/" + name
		}
		parts = append(parts, part{name, d})
	}
	out := make([]ProbeResult, len(parts))
	var wg sync.WaitGroup
	for i, pt := range parts {
		out[i].Part = pt.name
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			detail, err := pt.p.Probe(ctx)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("no answer within --probe.timeout=%s: %w", timeout, err)
			}
			out[i].Detail, out[i].Err = detail, err
		})
	}
	wg.Wait()
	return out, nil
}
