// Package pushgateway is the Prometheus Pushgateway destination.
//
// Each collector gets its own group, /metrics/job/<job>/collector/<name>
// plus the configured grouping labels, so a failing collector never wipes
// another's last good values; a scrape target's series go to the target's
// own group (its job and instance), so that a Prometheus scraping the
// Pushgateway with honor_labels: true sees the labels a direct scrape would
// give (DESIGN.md section 5).
package pushgateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

const (
	// parallel bounds the groups pushed at once. The Pushgateway applies
	// writes one at a time anyway; a few in flight hide the round trips.
	parallel = 4
)

// backoff paces retries of 5xx and network errors; the bound is the
// destination's context, not an attempt count.
var backoff = push.Backoff{Min: 50 * time.Millisecond, Max: 5 * time.Second}

// Client is one Pushgateway destination. Its deliveries never overlap (see
// push.Destination); Close comes after the last one.
type Client struct {
	cfg    *config.PushgatewayConfig
	client *http.Client
	base   string
	ua     string
	logger *slog.Logger

	mu     sync.Mutex
	pushed map[string][]labels.Label // path -> grouping key, for delete_on_shutdown
}

// New builds the destination of one pushgateway entry; cfg must have been
// validated (its Job and Name are filled in then).
func New(cfg *config.PushgatewayConfig, logger *slog.Logger, userAgent string) (*Client, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("pushgateway %s: building HTTP client: %w", cfg.Name, err)
	}
	push.BoundRedirects(client)
	return &Client{
		cfg:    cfg,
		client: client,
		base:   strings.TrimSuffix(cfg.URL.String(), "/"),
		ua:     userAgent,
		logger: logger.With("destination", cfg.Name),
		pushed: map[string][]labels.Label{},
	}, nil
}

// Name implements push.Destination.
func (c *Client) Name() string { return c.cfg.Name }

// Endpoint implements push.Destination; credentials in the URL are redacted.
func (c *Client) Endpoint() string { return config.RedactURL(c.cfg.URL.URL) }

// request is one group's push.
type request struct {
	*body
	method string
}

// delivery buffers one delivery's groups: a Pushgateway group is replaced
// as a whole, so nothing can be sent before all of its data is in.
type delivery struct {
	c      *Client
	ctx    context.Context
	opts   push.Options
	groups []metric.Group
}

// Open implements push.Destination.
func (c *Client) Open(ctx context.Context, opts push.Options) push.Delivery {
	return &delivery{c: c, ctx: ctx, opts: opts}
}

// Write implements push.Delivery. Parts of one collector's data (a streamed
// file) end up in the same Pushgateway group.
func (d *delivery) Write(g *metric.Group) { d.groups = append(d.groups, *g) }

// Close implements push.Delivery: it pushes every group under the
// destination's own timeout, when it has one.
func (d *delivery) Close() push.Report {
	ctx := d.ctx
	if t := time.Duration(d.c.cfg.Timeout); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	ctx, prog, stop := push.WithStall(ctx, d.opts.Stall)
	defer stop()
	return d.c.deliver(ctx, prog, d.groups)
}

// deliver pushes the groups. On a collector's success its groups
// are replaced (PUT, or POST with method: post); on its failure only its
// self-metrics are POSTed, which leaves its last good values and its last
// success timestamp in the Pushgateway while liftpush_collector_up turns 0.
func (c *Client) deliver(ctx context.Context, prog *push.Progress, groups []metric.Group) push.Report {
	rep := push.Report{Destination: c.cfg.Name}
	reqs := c.plan(groups, &rep)
	var (
		mu   sync.Mutex
		next = make(chan request)
		wg   sync.WaitGroup
		// halt is the first push.FinalError (an untrusted certificate,
		// a redirect loop, an unreadable secret file): every later group
		// would meet it too, so none is sent (issue 22).
		halt atomic.Pointer[push.FinalError]
	)
	for range min(parallel, len(reqs)) {
		wg.Go(func() {
			for r := range next {
				if ferr := halt.Load(); ferr != nil {
					mu.Lock()
					rep.Drop(ferr.Reason, r.samples)
					mu.Unlock()
					continue
				}
				prog.Begin()
				sent, retried, reason, err := c.send(ctx, r)
				prog.End(err == nil)
				if ferr := (*push.FinalError)(nil); errors.As(err, &ferr) {
					halt.CompareAndSwap(nil, ferr)
				}
				mu.Lock()
				rep.Sent += sent
				rep.Retried += retried
				if err != nil {
					rep.Drop(reason, r.samples)
					if rep.Err == nil {
						rep.Err = err
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, r := range reqs {
		next <- r
	}
	close(next)
	wg.Wait()
	return rep
}

// plan splits the groups into Pushgateway groups and picks each one's
// method. What cannot be pushed is counted in rep.
func (c *Client) plan(groups []metric.Group, rep *push.Report) []request {
	var (
		order  []*body
		byPath = map[string]*body{}
		lb     = labels.NewBuilder(labels.EmptyLabels())
	)
	get := func(key []labels.Label, target, up bool) *body {
		p := groupPath(key)
		b, ok := byPath[p]
		if !ok {
			b = newBody(key, target)
			b.up = up
			byPath[p] = b
			order = append(order, b)
		}
		// A collector streamed in parts is up only if every part is.
		b.up = b.up && up
		return b
	}
	add := func(b *body, f *metric.Family, self bool) {
		for i := range f.Samples {
			s := &f.Samples[i]
			if value.IsStaleNaN(s.Value) {
				// The Pushgateway has no staleness: a PUT without
				// the series is what removes it. Nothing is sent,
				// so nothing is counted.
				continue
			}
			if reason := b.add(lb, f, s, self); reason != "" {
				rep.Drop(reason, 1)
			}
		}
	}
	for gi := range groups {
		g := &groups[gi]
		if g.Collector == "" {
			// Process-wide series (liftpush_build_info, destination
			// self-metrics): the job's own group, no collector.
			b := get(c.key(), false, true)
			for fi := range g.Families {
				add(b, &g.Families[fi], true)
			}
			for fi := range g.Self {
				add(b, &g.Self[fi], true)
			}
			continue
		}
		own := get(c.key(labels.Label{Name: collectorLabel, Value: g.Collector}), false, g.Up)
		for fi := range g.Families {
			f := &g.Families[fi]
			for si := range f.Samples {
				s := &f.Samples[si]
				b := own
				// Scraped series carry instance, built-in ones never do
				// (DESIGN.md section 4): the target gets its own group.
				if inst := s.Labels.Get(model.InstanceLabel); inst != "" {
					job := s.Labels.Get(model.JobLabel)
					if job == "" {
						job = c.cfg.Job
					}
					b = get(c.targetKey(job, inst), true, g.Up)
				}
				if value.IsStaleNaN(s.Value) {
					continue
				}
				if reason := b.add(lb, f, s, false); reason != "" {
					rep.Drop(reason, 1)
				}
			}
		}
		for fi := range g.Self {
			add(own, &g.Self[fi], true)
		}
	}
	reqs := make([]request, 0, len(order))
	for _, b := range order {
		healthy := b.up
		if b.target && !healthy {
			// A partly failed scrape job: targets that answered are
			// pushed in full, the others only get their up series.
			healthy = targetUp(b)
		}
		method := strings.ToUpper(c.cfg.Method)
		if !healthy {
			method = http.MethodPost
			rep.Drop("collector_failed", b.onlySelf())
		}
		if len(b.fams) == 0 && !healthy {
			continue
		}
		reqs = append(reqs, request{body: b, method: method})
	}
	return reqs
}

// targetUp reports whether the target's own up series is 1.
func targetUp(b *body) bool {
	i, ok := b.index["up"]
	if !ok {
		return false
	}
	for _, s := range b.fams[i].Samples {
		if s.Value != 1 {
			return false
		}
	}
	return true
}

// key is a built-in group's grouping key: job, extra, then the configured
// grouping labels in name order.
func (c *Client) key(extra ...labels.Label) []labels.Label {
	key := []labels.Label{{Name: model.JobLabel, Value: c.cfg.Job}}
	key = append(key, extra...)
	for _, n := range slices.Sorted(maps.Keys(c.cfg.Grouping)) {
		key = append(key, labels.Label{Name: n, Value: c.cfg.Grouping[n]})
	}
	return key
}

func (c *Client) targetKey(job, instance string) []labels.Label {
	key := []labels.Label{{Name: model.JobLabel, Value: job}, {Name: model.InstanceLabel, Value: instance}}
	for _, n := range slices.Sorted(maps.Keys(c.cfg.Grouping)) {
		key = append(key, labels.Label{Name: n, Value: c.cfg.Grouping[n]})
	}
	return key
}

// send pushes one group with retries. It returns the samples sent, the
// samples re-sent, and on failure the drop reason and the error.
func (c *Client) send(ctx context.Context, r request) (sent, retried int, reason string, err error) {
	var buf bytes.Buffer
	format := formatFor(c.cfg.Format, r.fams)
	if err := encode(&buf, format, r.fams); err != nil {
		c.logger.Error("encoding group failed", "group", keyString(r.key), "err", err)
		return 0, 0, "encoding", err
	}
	c.mu.Lock()
	// A 400 still creates the group in the Pushgateway, so every attempted
	// group is one to delete at shutdown.
	c.pushed[r.path] = r.key
	c.mu.Unlock()
	retries, err := push.Retry(ctx, backoff, func(attempt int) error {
		return c.do(ctx, r.method, r.path, contentType[format], buf.Bytes(), attempt)
	})
	retried = retries * r.samples
	if err == nil {
		c.logger.Debug("pushed group", "group", keyString(r.key), "method", r.method, "samples", r.samples, "bytes", buf.Len())
		return r.samples, retried, "", nil
	}
	reason = push.DropReason(ctx, err)
	var herr *push.HTTPError
	errors.As(err, &herr)
	err = fmt.Errorf("pushing group %s: %w", keyString(r.key), err)
	if herr != nil && herr.Status == http.StatusBadRequest {
		// A data error: the gateway's message says which metric is
		// inconsistent; retrying the same body cannot succeed.
		c.logger.Error("pushgateway rejected the group, not retried", "group", keyString(r.key), "method", r.method, "samples", r.samples, "status", herr.Status, "body", herr.Quoted())
	} else {
		c.logger.Error("pushing group failed, samples dropped", "group", keyString(r.key), "method", r.method, "samples", r.samples, "reason", reason, "err", err)
	}
	return 0, retried, reason, err
}

// do sends one request. It returns nil on 2xx, a *push.RecoverableError for
// network errors, 5xx and 429, and an *httpError for what must not be
// retried.
func (c *Client) do(ctx context.Context, method, path, ctype string, payload []byte, attempt int) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", c.ua)
	if attempt > 0 {
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
	}
	// 429 is not something a Pushgateway says, but a proxy in front of it
	// may; its Retry-After is honoured.
	_, err = push.Classifier{RetryOn429: true}.Do(ctx, c.client, req)
	return err
}

// Stats implements push.Destination: the Pushgateway keeps the last value
// of every group itself, so there is no spool (a spool would only replay
// values the gateway has already replaced).
func (c *Client) Stats() push.Stats { return push.Stats{} }

// Close implements push.Destination: it deletes every group this
// destination pushed when delete_on_shutdown is set, so that a
// decommissioned pusher leaves no frozen values behind. A daemon closes at
// graceful exit and when a reload drops the destination; run --once and
// push build it with delete_on_shutdown off, as their groups are what they
// came to push. It is a no-op otherwise.
func (c *Client) Close(ctx context.Context) error {
	if !c.cfg.DeleteOnShutdown {
		return nil
	}
	c.mu.Lock()
	paths := slices.Sorted(maps.Keys(c.pushed))
	keys := maps.Clone(c.pushed)
	c.mu.Unlock()
	var errs []error
	for _, p := range paths {
		// DELETE answers 202, also for a group that is already gone.
		_, err := push.Retry(ctx, backoff, func(attempt int) error {
			return c.do(ctx, http.MethodDelete, p, "", nil, attempt)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting group %s: %w", keyString(keys[p]), err))
			continue
		}
		c.logger.Info("deleted group at shutdown", "group", keyString(keys[p]))
	}
	return errors.Join(errs...)
}
