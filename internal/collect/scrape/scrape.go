// Package scrape collects from /metrics endpoints and exposition files with
// the semantics of a Prometheus 3.16 scrape_config: service discovery,
// target relabelling, limits, and the series a scrape adds (up, ...).
package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	promscrape "github.com/prometheus/prometheus/scrape"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

// maxInFlight bounds the scrapes of one job that run at once: enough for a
// few hundred targets in one round, few enough to bound sockets and memory.
const maxInFlight = 64

// Collector scrapes the targets of one scrape job. Collect may run again
// after it returned, never concurrently with itself.
type Collector struct {
	cfg    *config.ScrapeConfig
	client *http.Client
	logger *slog.Logger
	ua     string
	accept string
	shard  shard.Holder // the targets this replica scrapes (shard.go)
	// hist are the job's native histogram limits (histlimit.go).
	hist histogramLimits

	startOnce sync.Once
	disc      *discoverers // nil for scheme file

	mu sync.Mutex
	// seen holds each target's series hashes of its last scrape, sorted,
	// for scrape_series_added.
	seen map[string][]uint64
	last *cached // set for a job with its own scrape_interval
	// sockets are the clients of targets scraped through a unix socket,
	// by path (socket.go).
	sockets map[string]*http.Client
}

// New builds the collector of one scrape job. The job's HTTP client is made
// once and reused, so connections stay open across daemon cycles.
func New(cfg *config.ScrapeConfig, logger *slog.Logger, userAgent string) (*Collector, error) {
	c := &Collector{cfg: cfg, logger: logger, ua: userAgent, seen: map[string][]uint64{}, hist: newHistogramLimits(cfg)}
	if cfg.Scheme != "file" {
		c.accept = acceptHeader(cfg.ScrapeProtocols, cfg.MetricNameValidationScheme, cfg.MetricNameEscapingScheme)
		client, err := c.newClient()
		if err != nil {
			return nil, fmt.Errorf("building HTTP client: %w", err)
		}
		c.client = client
	}
	return c, nil
}

// newClient builds an HTTP client of the job's http_client_config, with
// the options of a target that needs its own (socket.go).
func (c *Collector) newClient(opts ...commoncfg.HTTPClientOption) (*http.Client, error) {
	return commoncfg.NewClientFromConfig(c.cfg.HTTPClientConfig, "scrape/"+c.cfg.JobName, append(opts, commoncfg.WithUserAgent(c.ua))...)
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "scrape/" + c.cfg.JobName }

// Close stops the job's discoverers.
func (c *Collector) Close(context.Context) error {
	if c.disc != nil {
		c.disc.Close()
	}
	return nil
}

// discovery starts the discoverers on first use, so that building a
// collector (check-config, a reload that keeps nothing) starts no watch.
func (c *Collector) discovery() *discoverers {
	c.startOnce.Do(func() {
		if c.cfg.Scheme != "file" {
			c.disc = startDiscovery(c.cfg.ServiceDiscoveryConfigs, c.cfg.JobName, c.logger, c.ua)
		}
	})
	return c.disc
}

// Collect waits for the job's discovery to answer completely, then scrapes
// every target concurrently. A failing target yields up 0 and an error,
// while the other targets' series are still returned. A discoverer that
// failed or did not answer fails the whole job: a partial target set would
// mark the missing targets' series stale.
func (c *Collector) Collect(ctx context.Context) ([]metric.Family, error) {
	if fams, err, ok := c.notDue(); ok {
		return fams, err
	}
	start := time.Now()
	fams, err := c.collect(ctx)
	if c.cfg.IntervalSet() {
		c.mu.Lock()
		c.last = &cached{start: start, fams: fams, err: err}
		c.mu.Unlock()
	}
	return fams, err
}

// cached is a job's last round, for the cycles before its own
// scrape_interval comes round again.
type cached struct {
	start time.Time
	fams  []metric.Family
	err   error
}

// notDue returns a copy of the last round of a job with its own
// scrape_interval when that interval has not passed since the round began.
// Its samples keep their timestamps: a receiver takes the same sample
// twice as one, and the series stay fresh instead of being marked stale
// in the cycles between two scrapes. A round is due a little early (a
// twentieth of the interval) so that the schedule's jitter never skips one.
func (c *Collector) notDue() ([]metric.Family, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	iv := time.Duration(c.cfg.ScrapeInterval)
	if c.last == nil || time.Since(c.last.start) >= iv-iv/20 {
		return nil, nil, false
	}
	out := make([]metric.Family, len(c.last.fams))
	for i, f := range c.last.fams {
		f.Samples = slices.Clone(f.Samples)
		out[i] = f
	}
	return out, c.last.err, true
}

func (c *Collector) collect(ctx context.Context) ([]metric.Family, error) {
	targets, err := c.targets(ctx)
	if err != nil {
		return nil, err
	}
	var limitErr error
	if lim := c.cfg.TargetLimit; lim > 0 && uint(len(targets)) > lim {
		// As in Prometheus: over target_limit, no target is scraped and
		// each reports up 0.
		limitErr = fmt.Errorf("target_limit exceeded: %d targets, limit %d", len(targets), lim)
	}
	results := make([]result, len(targets))
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for i, t := range targets {
		if limitErr != nil {
			results[i] = c.failed(t, limitErr, time.Now())
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = c.scrapeTarget(ctx, t)
		}()
	}
	wg.Wait()
	var (
		out  []metric.Family
		errs []error
	)
	for _, r := range results {
		out = append(out, r.families...)
		out = append(out, r.report...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if limitErr != nil {
		c.logger.Warn("scrape job over its target limit, no target scraped", "targets", len(targets), "target_limit", c.cfg.TargetLimit)
		return out, limitErr
	}
	return out, errors.Join(errs...)
}

// target is one scrape target: its URL and the labels its series get.
type target struct {
	url     string
	socket  string        // __unix_socket__: dial this socket instead of the URL's host
	labels  labels.Labels // job, instance and the other public target labels
	timeout time.Duration
	key     string // identity across cycles: labels and URL
}

// targets returns the job's targets after relabelling, deduplicated as in
// Prometheus, and the shard's part of them.
func (c *Collector) targets(ctx context.Context) ([]*target, error) {
	if c.cfg.Scheme == "file" {
		return c.fileTargets(), nil
	}
	d := c.discovery()
	deadline := time.Now().Add(time.Duration(c.cfg.ScrapeInterval))
	if dl, ok := ctx.Deadline(); ok {
		// Leave the scrapes their timeout, and delivery the rest.
		deadline = dl.Add(-time.Duration(c.cfg.ScrapeTimeout))
		if half := time.Now().Add(time.Until(dl) / 2); deadline.Before(half) {
			deadline = half
		}
	}
	if err := d.wait(ctx, deadline); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return c.buildTargets(d.groups())
}

// fileTargets are the one file of a scheme file job, once per static
// target when the job lists some: the target, when not empty, is the
// instance label, and the group's labels are added.
func (c *Collector) fileTargets() []*target {
	groups := c.cfg.StaticTargets()
	if len(groups) == 0 {
		groups = []*targetgroup.Group{{Targets: []model.LabelSet{{}}}}
	}
	var out []*target
	for _, g := range groups {
		for _, tl := range g.Targets {
			lb := labels.NewBuilder(labels.EmptyLabels())
			for k, v := range g.Labels {
				if !strings.HasPrefix(string(k), model.ReservedLabelPrefix) {
					lb.Set(string(k), string(v))
				}
			}
			lb.Set(model.JobLabel, c.cfg.JobName)
			lb.Set(model.InstanceLabel, c.cfg.MetricsPath)
			if addr := tl[model.AddressLabel]; addr != "" {
				lb.Set(model.InstanceLabel, string(addr))
			}
			ls := lb.Labels()
			if !c.shard.Get().OwnsLabels(ls) {
				continue
			}
			out = append(out, &target{url: "file://" + c.cfg.MetricsPath, labels: ls, timeout: time.Duration(c.cfg.ScrapeTimeout), key: ls.String()})
		}
	}
	return out
}

// buildTargets runs Prometheus' own target building (relabel_configs,
// __address__, __scheme__, __metrics_path__, __param_*, the instance
// default) on each group.
func (c *Collector) buildTargets(groups []*targetgroup.Group) ([]*target, error) {
	var (
		out     []*target
		errs    []error
		dropped int
		seen    = map[string]bool{}
		lb      = labels.NewBuilder(labels.EmptyLabels())
		buf     []*promscrape.Target
	)
	for _, tg := range groups {
		var fails []error
		buf, fails = promscrape.TargetsFromGroup(tg, &c.cfg.ScrapeConfig, buf, lb)
		errs = append(errs, fails...)
		for _, t := range buf {
			ls := t.Labels(lb)
			if ls.IsEmpty() {
				dropped++
				continue
			}
			if !c.shard.Get().OwnsLabels(ls) {
				continue // another shard's target, after relabelling (issue 20)
			}
			u := t.URL().String()
			socket := t.GetValue(socketLabel)
			key := ls.String() + " " + u
			if socket != "" {
				key += " unix:" + socket
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			timeout := time.Duration(c.cfg.ScrapeTimeout)
			if v, err := model.ParseDuration(t.GetValue(model.ScrapeTimeoutLabel)); err == nil && v > 0 {
				timeout = time.Duration(v)
			}
			out = append(out, &target{url: u, socket: socket, labels: ls, timeout: timeout, key: key})
		}
	}
	for _, err := range errs {
		// As Prometheus: an invalid target is logged and left out; the
		// others are scraped.
		c.logger.Warn("target left out", "err", err)
	}
	c.logger.Debug("targets", "active", len(out), "dropped", dropped)
	return out, nil
}
