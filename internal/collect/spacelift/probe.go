package spacelift

import (
	"context"
	"fmt"
	"time"
)

// Probe exchanges the API key for a token, and nothing more, and reports
// how long the token is valid: check-config --probe (issue 12). A wrong key
// ID or secret fails with ErrInvalidAPIKey. The token is kept, as a Collect
// would keep it.
func (c *Collector) Probe(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.jwt = ""
	if _, err := c.exchangeKey(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: API key %s exchanged for a token valid until %s (%s)",
		c.url, c.keyID, c.validUntil.UTC().Format(time.RFC3339), time.Until(c.validUntil).Round(time.Second)), nil
}
