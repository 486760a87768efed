package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/prometheus/discovery/kubernetes"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

// probeShown bounds the targets a probe lists by name; the rest are
// counted.
const probeShown = 5

// Probe reports each discoverer's first answer (targets found, and for
// Kubernetes the RBAC rules that are missing), then fetches and parses each
// target once, as Collect does, without pushing (check-config --probe).
func (c *Collector) Probe(ctx context.Context) (string, error) {
	var (
		rows []string
		errs []error
	)
	if c.cfg.Scheme != "file" {
		d := c.discovery()
		waitErr := d.wait(ctx, time.Now().Add(time.Duration(c.cfg.ScrapeTimeout)))
		for _, st := range d.status() {
			row := fmt.Sprintf("%s: %d targets", st.name, st.targets)
			if kc, ok := st.config.(*kubernetes.SDConfig); ok {
				missing, err := missingRBAC(ctx, kc, c.ua)
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("%s: %w", st.name, err))
				case len(missing) > 0:
					errs = append(errs, fmt.Errorf("%s: RBAC rules missing for role %s: %s", st.name, kc.Role, strings.Join(missing, "; ")))
				}
			}
			rows = append(rows, row)
		}
		if waitErr != nil {
			return strings.Join(rows, "; "), waitErr
		}
	}
	targets, err := c.targets(ctx)
	if err != nil {
		return strings.Join(rows, "; "), err
	}
	ok := 0
	for _, t := range targets {
		ct, n, err := c.probeTarget(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.url, err))
			continue
		}
		ok++
		if ok <= probeShown {
			rows = append(rows, fmt.Sprintf("%s: %s, %d samples", t.url, ct, n))
		}
	}
	if ok > probeShown {
		rows = append(rows, fmt.Sprintf("and %d more targets answered", ok-probeShown))
	}
	return strings.Join(rows, "; "), errors.Join(errs...)
}

func (c *Collector) probeTarget(ctx context.Context, t *target) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	b, err := c.open(ctx, t)
	if err != nil {
		return "", 0, err
	}
	defer b.Close()
	st, err := exposition.ParseStream(io.Reader(b), b.contentType, exposition.ParseOptions{}, func(metric.Family) error { return nil })
	if err == nil {
		err = b.err()
	}
	if err != nil {
		return "", 0, fmt.Errorf("parsing as %s: %w", b.contentType, err)
	}
	status := "HTTP 200, "
	if c.cfg.Scheme == "file" {
		status = ""
	}
	return status + b.contentType, st.Samples, nil
}
