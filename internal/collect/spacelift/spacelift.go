// Package spacelift collects a Spacelift account's worker-pool queue, usage
// and aggregate metrics from its GraphQL API, under the names and with the
// semantics of Spacelift's own Prometheus exporter (promex), so dashboards,
// alerts and autoscalers built on promex keep working.
package spacelift

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/liftpush/liftpush/internal/shard"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/shurcooL/graphql"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// Collector queries one Spacelift account.
//
// A Collector lives as long as the process: in daemon mode it keeps the JWT
// across cycles and exchanges the API key again only 30 s before the token
// expires; in one-shot mode the process exchanges once. It also remembers
// what the API turned out not to support (the extras, or some roots for
// machine sessions), so that later cycles do not pay for the failed attempt
// again; after recheckAfter it tries again. Collect calls are serialized.
type Collector struct {
	logger       *slog.Logger
	url          string
	keyID        string
	inlineSecret string
	secretFile   string
	timeout      time.Duration
	gql          *graphql.Client
	// stacks turns on the paginated stack listing (spacelift.stacks);
	// maxStackPages bounds it.
	stacks        bool
	maxStackPages int

	mu         sync.Mutex
	jwt        string
	validUntil time.Time
	exchanges  int // successful token exchanges so far, for the debug log
	// noExtras is set when the API rejected a document with the extra
	// fields; until recheckAfter has passed only the core selection is
	// asked for.
	noExtras      bool
	noExtrasSince time.Time
	// split is set when the API refused some roots to this machine
	// session; until recheckAfter has passed each root is asked for in its
	// own document.
	split      bool
	splitSince time.Time
	// gatedLogged avoids repeating the long explanation every cycle.
	gatedLogged bool
}

// New builds the collector from a validated config. userAgent is sent as
// User-Agent ("liftpush/<version>").
func New(cfg *config.SpaceliftConfig, logger *slog.Logger, userAgent string) (*Collector, error) {
	if cfg == nil {
		return nil, errors.New("spacelift: no configuration")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("spacelift: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pool, err := certPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("spacelift: ca_file: %w", err)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	endpoint := strings.TrimSuffix(strings.TrimRight(cfg.Endpoint, "/"), "/graphql")
	c := &Collector{
		logger:        logger,
		url:           endpoint + "/graphql",
		keyID:         cfg.APIKeyID,
		inlineSecret:  string(cfg.APIKeySecret),
		secretFile:    cfg.APIKeySecretFile,
		timeout:       time.Duration(cfg.Timeout),
		stacks:        cfg.Stacks,
		maxStackPages: defaultMaxStackPages,
	}
	c.setTransport(base, userAgent)
	return c, nil
}

// setTransport sends the GraphQL requests through liftpush's transport
// over base (tests put an in-memory network there).
func (c *Collector) setTransport(base http.RoundTripper, userAgent string) {
	c.gql = graphql.NewClient(c.url, &http.Client{Transport: &transport{next: base, userAgent: userAgent}})
}

// certPool returns the system pool plus the CAs in file: ca_file adds trust,
// it does not replace it.
func certPool(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// recheckAfter is how long a daemon trusts what it learned about the API's
// limits. Spacelift gets upgraded under a running liftpush; after an hour
// the cheaper combined document with the extras is tried again.
const recheckAfter = time.Hour

func (c *Collector) recheck(now time.Time) {
	if c.noExtras && now.Sub(c.noExtrasSince) >= recheckAfter {
		c.noExtras = false
	}
	if c.split && now.Sub(c.splitSince) >= recheckAfter {
		c.split = false
	}
}

// Name implements the collector contract.
func (c *Collector) Name() string { return "spacelift" }

// Close implements collect.Collector; nothing runs between cycles.
func (c *Collector) Close(context.Context) error { return nil }

// SetShard implements collect.Collector: one account cannot be split, so
// the pipeline runs Spacelift on shard 0 only.
func (c *Collector) SetShard(shard.Owner) {}

// Watch implements collect.Collector: the API has nothing to watch.
func (c *Collector) Watch(context.Context) {}

// Collect queries the API once (plus one request per page of stacks when
// spacelift.stacks is on) and returns every series it could build. A
// partial answer comes back together with an error; an API that refuses
// some roots to machine sessions is not an error (see fetchSplit). A failed
// stack listing is a partial answer: the pool series stay.
func (c *Collector) Collect(ctx context.Context) ([]metric.Family, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.recheck(start)
	snap, err := c.fetch(ctx)
	if c.stacks && snap.answered() {
		// Skipped when the main query got nothing: the same token or
		// outage would fail the listing too, and only repeat the error.
		n := &nullCheck{}
		var serr error
		snap.stacks, serr = c.fetchStacks(ctx, n)
		err = errors.Join(append([]error{err, serr}, n.errs...)...)
	}
	fams := families(snap, c.logger)
	fams = append(fams,
		metric.Gauge("spacelift_scrape_duration_seconds",
			"The duration in seconds of the request to the Spacelift API for metrics",
			time.Since(start).Seconds(), labels.EmptyLabels()),
		buildInfo())
	if err != nil {
		return fams, fmt.Errorf("spacelift: %w", err)
	}
	return fams, nil
}
