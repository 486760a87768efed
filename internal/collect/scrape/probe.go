package scrape

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

// Probe fetches and parses each target once, as Collect does, and reports
// per target the content type and the number of samples, without pushing
// them: check-config --probe (issue 12).
func (c *Collector) Probe(ctx context.Context) (string, error) {
	var (
		ok   []string
		errs []error
	)
	for _, sc := range c.cfg.StaticConfigs {
		for _, target := range sc.Targets {
			u := c.displayURL(target)
			body, contentType, err := c.fetch(ctx, target)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", u, err))
				continue
			}
			st, err := exposition.Parse(body, contentType, exposition.ParseOptions{}, func(metric.Family) error { return nil })
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: parsing as %s: %w", u, contentType, err))
				continue
			}
			if contentType == "" {
				contentType = "no Content-Type"
			}
			status := "HTTP 200, "
			if c.cfg.Scheme == "file" {
				status = ""
			}
			ok = append(ok, fmt.Sprintf("%s: %s%s, %d samples", u, status, contentType, st.Samples))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return strings.Join(ok, "; "), nil
}
