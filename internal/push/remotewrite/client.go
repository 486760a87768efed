// Package remotewrite is the Prometheus remote-write 1.0 destination:
// gogo-marshalled prompb.WriteRequest, snappy block format, sharded batches
// that keep every series in order, classified retries.
package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// Client is one remote-write destination. It is safe for concurrent use;
// Deliver is called once per cycle.
type Client struct {
	cfg    *config.RemoteWriteConfig
	client *http.Client
	url    string
	ua     string
	logger *slog.Logger
	clock  push.Clock
}

// New builds the destination of one remote_write entry.
func New(cfg *config.RemoteWriteConfig, logger *slog.Logger, userAgent string) (*Client, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: building HTTP client: %w", cfg.Name, err)
	}
	return &Client{
		cfg:    cfg,
		client: client,
		url:    cfg.URL.String(),
		ua:     userAgent,
		logger: logger.With("destination", cfg.Name),
		clock:  push.RealClock,
	}, nil
}

// Name implements push.Destination.
func (c *Client) Name() string { return c.cfg.Name }

// Endpoint implements push.Destination; credentials in the URL are redacted.
func (c *Client) Endpoint() string { return c.cfg.URL.Redacted() }

// Deliver implements push.Destination.
func (c *Client) Deliver(ctx context.Context, groups []metric.Group) push.Report {
	w := c.NewWriter(ctx)
	for gi := range groups {
		for fi := range groups[gi].Families {
			w.Append(&groups[gi].Families[fi])
		}
		for fi := range groups[gi].Self {
			w.Append(&groups[gi].Self[fi])
		}
	}
	return w.Close()
}

// store sends one encoded request; push.Classifier sorts the answer.
func (c *Client) store(parent context.Context, body []byte, attempt int) error {
	ctx, cancel := context.WithTimeout(parent, time.Duration(c.cfg.RemoteTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, string(v))
	}
	// Set after the user's headers: the protocol's own are not
	// overridable (config validation also refuses them).
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", c.ua)
	if attempt > 0 {
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
	}
	return push.Classifier{
		RetryOn429: c.cfg.QueueConfig.RetryOnRateLimit,
		Permanent:  permanent5xx,
		Clock:      c.clock,
	}.Do(parent, c.client, req)
}

// permanent5xx recognises 5xx answers that will never succeed. Prometheus
// 2.x answers 500 "too old sample" when out_of_order_time_window is set and
// a sample is older than it, and some receivers answer 5xx for "out of
// bounds"; retrying them would loop until the deadline for nothing.
func permanent5xx(body string) bool {
	return strings.Contains(body, "too old sample") || strings.Contains(body, "out of bounds")
}
