// Package remotewrite is the Prometheus remote-write destination: series are
// batched into shards that keep every series in order (writer.go), each
// batch is encoded into one request body (format.go), a WriteClient sends a
// body and classifies the answer, and with a spool every body is a record
// whose life is told in lifecycle.go.
package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

// WriteClient puts one encoded request body on the wire, in the shape of
// Prometheus' remote.WriteClient: the writer needs nothing else from HTTP,
// so unit tests swap in a fake.
type WriteClient interface {
	// Store sends body, encoded as the protobuf message (for example
	// config.WriteRequestV1), and classifies the answer: a Result on 2xx,
	// a *push.RecoverableError worth retrying, or a final error
	// (*push.HTTPError for an answer). attempt > 0 is a retry.
	Store(ctx context.Context, body []byte, message string, attempt int) (Result, error)
	Name() string
	// Endpoint names the receiver, credentials redacted.
	Endpoint() string
}

// Client is one remote-write destination. It is safe for concurrent use.
type Client struct {
	cfg    *config.RemoteWriteConfig
	wc     WriteClient
	logger *slog.Logger
	// v1Only is set once the receiver has shown it does not speak 2.0;
	// from then on this process sends it 1.0 (fallback.go).
	v1Only atomic.Bool
	// spoke2 is set once the receiver wrote samples of a 2.0 request: a
	// 400 is then about the data, never about the message (fallback.go).
	spoke2 atomic.Bool
	// accepted counts requests accepted, which tells a body refused
	// with 429 for ever from a receiver refusing everything (split.go).
	accepted atomic.Int64
	// queue is the write-ahead spool; nil without spool.dir (spooled.go).
	queue *spool.Queue
	// tenants routes series by label when the entry has
	// headers_from_labels (tenants.go); nil otherwise.
	tenants *tenants

	mu sync.Mutex
	// series holds the data series of the last cycle, after
	// relabelling, for staleness markers (series.go); nil until read from
	// the spool.
	series *seriesTable
	// lastShard is the shard of the last cycle (reshard.go); nil until
	// read from the spool.
	lastShard *string

	metaSchedule metadataSchedule
}

// New builds the destination of one validated remote_write entry, sending
// over HTTP.
func New(cfg *config.RemoteWriteConfig, logger *slog.Logger, userAgent string) (*Client, error) {
	if _, ok := formats[cfg.ProtobufMessage]; !ok {
		return nil, fmt.Errorf("remote_write %s: protobuf_message %q is not supported", cfg.Name, cfg.ProtobufMessage)
	}
	client, err := newHTTPClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: building HTTP client: %w", cfg.Name, err)
	}
	// A tenant (tenants.go) is the entry with its own headers, over the
	// same HTTP client and connections.
	writeClient := func(cfg *config.RemoteWriteConfig) WriteClient {
		var wc WriteClient = &httpClient{cfg: cfg, client: client, url: cfg.URL.String(), ua: userAgent}
		if cfg.LogFailedRequests {
			wc = &failedRequestLogger{WriteClient: wc, logger: logger.With("destination", cfg.Name)}
		}
		return wc
	}
	c := newClient(cfg, writeClient(cfg), logger)
	if len(cfg.HeadersFromLabels) > 0 {
		c.tenants = newTenants(c, writeClient)
	}
	return c, nil
}

func newClient(cfg *config.RemoteWriteConfig, wc WriteClient, logger *slog.Logger) *Client {
	return &Client{cfg: cfg, wc: wc, logger: logger.With("destination", cfg.Name)}
}

// Name implements push.Destination.
func (c *Client) Name() string { return c.wc.Name() }

// Endpoint implements push.Destination; credentials in the URL are redacted.
func (c *Client) Endpoint() string { return c.wc.Endpoint() }

// Stats implements push.Destination.
func (c *Client) Stats() push.Stats {
	if c.tenants != nil {
		return push.Stats{Spool: c.tenants.spoolStats()}
	}
	if c.queue == nil {
		return push.Stats{}
	}
	st := c.queue.Stats()
	return push.Stats{Spool: &push.SpoolState{Records: st.Records, Bytes: st.Bytes, Oldest: st.Oldest, Corrupt: st.Corrupt}}
}

// Close implements push.Destination: the spool's removals become durable,
// so that a power cut does not bring back records already delivered.
func (c *Client) Close(ctx context.Context) error {
	if c.tenants != nil {
		return c.tenants.closeAll(ctx)
	}
	if c.queue == nil {
		return nil
	}
	return c.queue.Sync()
}

// httpClient is the WriteClient of a remote_write entry.
type httpClient struct {
	cfg    *config.RemoteWriteConfig
	client *http.Client
	url    string
	ua     string
}

func (h *httpClient) Name() string { return h.cfg.Name }

func (h *httpClient) Endpoint() string { return config.RedactURL(h.cfg.URL.URL) }

// Result is what a receiver answered to an accepted request.
type Result struct {
	Status int
	// Samples, Histograms and Exemplars are the receiver's
	// X-Prometheus-Remote-Write-*-Written counts, read on 2.0 requests only;
	// WrittenKnown is false when it sent none of these headers (as every
	// receiver without 2.0 does) and on 1.0 requests.
	Samples, Histograms, Exemplars int
	WrittenKnown                   bool
}

// Store implements WriteClient; attempt > 0 sets Retry-Attempt. It is the
// one step that puts bytes on the wire, shared by fresh batches, replays
// and the probe.
func (c *httpClient) Store(ctx context.Context, body []byte, message string, attempt int) (Result, error) {
	f, ok := formats[message]
	if !ok {
		return Result{}, fmt.Errorf("unknown protobuf message %q", message)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Duration(c.cfg.RemoteTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("building request: %w", err)
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, string(v))
	}
	// Set after the user's headers: the protocol's own are not
	// overridable (config validation also refuses them).
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", f.contentType)
	req.Header.Set("X-Prometheus-Remote-Write-Version", f.version)
	req.Header.Set("User-Agent", c.ua)
	if attempt > 0 {
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
	}
	ans, err := push.Classifier{
		RetryOn429: c.cfg.QueueConfig.RetryOnRateLimit,
		Permanent:  permanent5xx,
	}.Do(ctx, c.client, req)
	if err != nil {
		return Result{}, err
	}
	if !f.written {
		return Result{Status: ans.Status}, nil
	}
	return resultOf(ans), nil
}

// resultOf reads the -Written headers of the remote-write 2.0 spec.
func resultOf(a push.Answer) Result {
	r := Result{Status: a.Status}
	for _, h := range []struct {
		name string
		dst  *int
	}{
		{"X-Prometheus-Remote-Write-Samples-Written", &r.Samples},
		{"X-Prometheus-Remote-Write-Histograms-Written", &r.Histograms},
		{"X-Prometheus-Remote-Write-Exemplars-Written", &r.Exemplars},
	} {
		v := a.Header.Get(h.name)
		if v == "" {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			*h.dst, r.WrittenKnown = n, true
		}
	}
	return r
}

// permanent5xx recognises 5xx answers that will never succeed. Prometheus
// 2.x answers 500 "too old sample" when out_of_order_time_window is set and
// a sample is older than it, and some receivers answer 5xx for "out of
// bounds"; retrying them would loop until the deadline for nothing.
func permanent5xx(body string) bool {
	return strings.Contains(body, "too old sample") || strings.Contains(body, "out of bounds")
}
