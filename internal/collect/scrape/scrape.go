// Package scrape collects from /metrics endpoints and exposition files, with
// the target-label semantics of a Prometheus scrape_config.
package scrape

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

// maxBody bounds one scrape's body, so a runaway target cannot take the
// process down with it.
const maxBody = 1 << 30

// Collector scrapes the targets of one scrape job. Collect may run again
// after it returned, never concurrently with itself.
type Collector struct {
	cfg    *config.ScrapeConfig
	client *http.Client
	logger *slog.Logger
	ua     string
	accept string
	shard  shard.Holder // the targets this replica scrapes (shard.go)
}

// New builds the collector of one scrape job. The job's HTTP client is made
// once and reused, so connections stay open across daemon cycles.
func New(cfg *config.ScrapeConfig, logger *slog.Logger, userAgent string) (*Collector, error) {
	c := &Collector{cfg: cfg, logger: logger, ua: userAgent, accept: acceptHeader(cfg.ScrapeProtocols)}
	if cfg.Scheme != "file" {
		client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "scrape/"+cfg.JobName, commoncfg.WithUserAgent(userAgent))
		if err != nil {
			return nil, fmt.Errorf("building HTTP client: %w", err)
		}
		c.client = client
	}
	return c, nil
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "scrape/" + c.cfg.JobName }

// Collect scrapes every target in turn. A failing target yields up 0 and an
// error, while the other targets' series are still returned.
func (c *Collector) Collect(ctx context.Context) ([]metric.Family, error) {
	var (
		out  []metric.Family
		errs []error
	)
	for _, sc := range c.cfg.StaticConfigs {
		for _, target := range sc.Targets {
			tl := c.targetLabels(target, sc.Labels)
			if !c.shard.Get().OwnsLabels(tl) {
				continue // another shard's target (issue 20)
			}
			start := time.Now()
			fams, n, err := c.scrapeTarget(ctx, target, tl, start)
			dur := time.Since(start).Seconds()
			up := 1.0
			if err != nil {
				up = 0
				errs = append(errs, fmt.Errorf("target %s: %w", c.displayURL(target), err))
			}
			out = append(out, fams...)
			// The same report series a Prometheus scrape adds, so that
			// alerts written for up{job=...} keep working.
			out = append(out,
				metric.Gauge("up", "1 if the target was scraped successfully, 0 otherwise.", up, tl),
				metric.Gauge("scrape_duration_seconds", "Duration of the scrape.", dur, tl),
				metric.Gauge("scrape_samples_scraped", "Number of samples the target exposed.", float64(n), tl),
			)
		}
	}
	return out, errors.Join(errs...)
}

// targetLabels are job, instance and the static labels, as Prometheus sets
// them before a scrape.
func (c *Collector) targetLabels(target string, static map[string]string) labels.Labels {
	b := labels.NewScratchBuilder(len(static) + 2)
	for k, v := range static {
		if k != model.JobLabel && k != model.InstanceLabel {
			b.Add(k, v)
		}
	}
	job, instance := c.cfg.JobName, target
	if v, ok := static[model.JobLabel]; ok {
		job = v
	}
	if v, ok := static[model.InstanceLabel]; ok {
		instance = v
	}
	if c.cfg.Scheme == "file" && instance == "" {
		instance = c.cfg.MetricsPath
	}
	b.Add(model.JobLabel, job)
	b.Add(model.InstanceLabel, instance)
	b.Sort()
	return b.Labels()
}

func (c *Collector) scrapeTarget(ctx context.Context, target string, tl labels.Labels, start time.Time) ([]metric.Family, int, error) {
	body, contentType, err := c.fetch(ctx, target)
	if err != nil {
		return nil, 0, err
	}
	ts := start.UnixMilli()
	var (
		fams    []metric.Family
		kept    int
		relabel = c.cfg.MetricRelabelConfigs
		lb      = labels.NewBuilder(labels.EmptyLabels())
	)
	opts := exposition.ParseOptions{HonorTimestamps: c.cfg.HonorTimestamps, Exemplars: true,
		NativeHistograms: c.cfg.ScrapeNativeHistograms != nil && *c.cfg.ScrapeNativeHistograms, AlwaysScrapeClassicHistograms: c.cfg.AlwaysScrapeClassicHistograms, ConvertClassicHistogramsToNHCB: c.cfg.ConvertClassicHistogramsToNHCB}
	st, err := exposition.Parse(body, contentType, opts, func(f metric.Family) error {
		samples := f.Samples[:0]
		for _, s := range f.Samples {
			ls, ok := c.mutate(lb, s.Labels, tl, relabel)
			if !ok {
				continue
			}
			s.Labels = ls
			if s.T == 0 {
				s.T = ts
			}
			samples = append(samples, s)
		}
		kept += len(samples)
		if len(samples) > 0 {
			f.Samples = samples
			fams = append(fams, f)
		}
		return nil
	})
	if err != nil {
		return fams, st.Samples, err
	}
	c.logger.Debug("scraped", "target", c.displayURL(target), "samples", st.Samples, "kept", kept)
	return fams, st.Samples, nil
}

// mutate applies target labels with honor_labels semantics, then
// metric_relabel_configs, like Prometheus' mutateSampleLabels.
func (c *Collector) mutate(lb *labels.Builder, ls, target labels.Labels, rcs []*relabel.Config) (labels.Labels, bool) {
	lb.Reset(ls)
	if c.cfg.HonorLabels {
		target.Range(func(l labels.Label) {
			if ls.Get(l.Name) == "" {
				lb.Set(l.Name, l.Value)
			}
		})
	} else {
		var conflicting []string
		target.Range(func(l labels.Label) {
			if ls.Has(l.Name) {
				conflicting = append(conflicting, l.Name)
			}
			lb.Set(l.Name, l.Value)
		})
		// A scraped label that clashes with a target label survives as
		// exported_<name> (exported_exported_<name> if that exists too).
		for _, name := range conflicting {
			exported := "exported_" + name
			for ls.Has(exported) {
				exported = "exported_" + exported
			}
			lb.Set(exported, ls.Get(name))
		}
	}
	if len(rcs) > 0 && !relabel.ProcessBuilder(lb, rcs...) {
		return labels.EmptyLabels(), false
	}
	out := lb.Labels()
	if out.Get(model.MetricNameLabel) == "" {
		return out, false
	}
	return out, true
}

func (c *Collector) targetURL(target string) *url.URL {
	u := &url.URL{Scheme: c.cfg.Scheme, Host: target, Path: c.cfg.MetricsPath}
	if len(c.cfg.Params) > 0 {
		u.RawQuery = c.cfg.Params.Encode()
	}
	return u
}

func (c *Collector) displayURL(target string) string {
	if c.cfg.Scheme == "file" {
		return "file://" + c.cfg.MetricsPath
	}
	return c.targetURL(target).String()
}

// fetch returns the body and its content type.
func (c *Collector) fetch(ctx context.Context, target string) ([]byte, string, error) {
	if c.cfg.Scheme == "file" {
		b, err := os.ReadFile(c.cfg.MetricsPath)
		if err != nil {
			return nil, "", fmt.Errorf("reading exposition file: %w", err)
		}
		return b, exposition.ContentTypeOf(b), nil
	}
	timeout := time.Duration(c.cfg.ScrapeTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.targetURL(target).String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", c.accept)
	// The common HTTP client disables Go's transparent gzip; ask for it and
	// decode below, as Prometheus does.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("scraping: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, "", fmt.Errorf("server returned HTTP status %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	}
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, "", fmt.Errorf("decoding gzip body: %w", err)
		}
		defer gz.Close()
		r = gz
	}
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading body: %w", err)
	}
	if len(b) > maxBody {
		return nil, "", fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

// protocolHeaders maps scrape_protocols names to media types (the names are
// Prometheus' own, so a pasted scrape job keeps working).
var protocolHeaders = map[string]string{
	"PrometheusProto":      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	"PrometheusText0.0.4":  "text/plain;version=0.0.4",
	"PrometheusText1.0.0":  "text/plain;version=1.0.0",
	"OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
	"OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
}

// acceptHeader lists the protocols by falling q-value, then */*.
func acceptHeader(protocols []string) string {
	var b strings.Builder
	q := len(protocolHeaders) + 1
	for _, p := range protocols {
		fmt.Fprintf(&b, "%s;q=0.%d,", protocolHeaders[p], q)
		q--
	}
	fmt.Fprintf(&b, "*/*;q=0.%d", q)
	return b.String()
}
