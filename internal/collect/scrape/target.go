package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

// result is one target's scrape: its series, the series Prometheus adds
// about the scrape, and its error.
type result struct {
	families []metric.Family
	report   []metric.Family
	err      error
}

// errLimit marks a scrape that broke one of the job's limits: as in
// Prometheus, none of its samples is kept.
var errLimit = errors.New("limit exceeded")

// counts are what the report series say about one scrape.
type counts struct {
	scraped, kept, added int
	bytes                int64
}

func (c *Collector) scrapeTarget(ctx context.Context, t *target) result {
	start := time.Now()
	fams, n, err := c.scrapeOnce(ctx, t, start)
	dur := time.Since(start)
	if err != nil {
		// Nothing of a failed scrape is kept, as Prometheus rolls it back;
		// the target's series go stale.
		c.logger.Warn("scrape failed", "target", t.url, "err", err)
		r := c.failed(t, err, start)
		r.report = c.report(t, start, dur, 0, counts{scraped: n.scraped, kept: n.kept, bytes: n.bytes})
		return r
	}
	return result{families: fams, report: c.report(t, start, dur, 1, n)}
}

func (c *Collector) failed(t *target, err error, start time.Time) result {
	c.mu.Lock()
	delete(c.seen, t.key)
	c.mu.Unlock()
	return result{report: c.report(t, start, 0, 0, counts{}), err: fmt.Errorf("target %s: %w", t.url, err)}
}

// scrapeOnce fetches and parses one target, applying the target labels,
// metric_relabel_configs and the limits as it streams.
func (c *Collector) scrapeOnce(ctx context.Context, t *target, start time.Time) ([]metric.Family, counts, error) {
	var n counts
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	body, err := c.open(ctx, t)
	if err != nil {
		return nil, n, err
	}
	defer body.Close()
	ts := start.UnixMilli()
	var (
		fams   []metric.Family
		lb     = labels.NewBuilder(labels.EmptyLabels())
		hashes []uint64
		limErr error
	)
	st, err := c.parse(body, exposition.ParseOptions{
		HonorTimestamps:                c.cfg.HonorTimestamps,
		Exemplars:                      true,
		NativeHistograms:               c.cfg.ScrapeNativeHistogramsEnabled(),
		AlwaysScrapeClassicHistograms:  c.cfg.AlwaysScrapeClassicHistogramsEnabled(),
		ConvertClassicHistogramsToNHCB: c.cfg.ConvertClassicHistogramsToNHCBEnabled(),
	}, func(f metric.Family) error {
		samples := f.Samples[:0]
		var stamped []metric.Sample // the target's own timestamps, untracked
		for _, s := range f.Samples {
			ls, ok := c.mutate(lb, s.Labels, t.labels, c.cfg.MetricRelabelConfigs)
			if !ok {
				continue
			}
			if limErr == nil {
				limErr = c.checkLabels(ls)
			}
			s.Labels = ls
			own := s.T != 0
			if !own {
				s.T = ts
			}
			if s.IsHistogram() && c.hist.active() && limErr == nil {
				s.Extra, limErr = c.hist.apply(s.Extra)
			}
			if own && !c.cfg.TrackTimestampsStaleness {
				stamped = append(stamped, s)
			} else {
				samples = append(samples, s)
			}
			hashes = append(hashes, ls.Hash())
		}
		n.kept += len(samples) + len(stamped)
		if lim := c.cfg.SampleLimit; lim > 0 && uint(n.kept) > lim && limErr == nil {
			limErr = fmt.Errorf("sample_limit exceeded: more than %d samples after metric relabelling: %w", lim, errLimit)
		}
		if limErr != nil {
			// Keep parsing to count what the target exposed, as
			// Prometheus does, but hold nothing.
			hashes = hashes[:0]
			return nil
		}
		if len(samples) > 0 {
			tracked := f
			tracked.Samples = samples
			fams = append(fams, tracked)
		}
		if len(stamped) > 0 {
			// As in Prometheus without track_timestamps_staleness: a
			// series with its own timestamps gets no stale marker.
			f.Samples, f.Untracked = stamped, true
			fams = append(fams, f)
		}
		return nil
	})
	n.scraped = st.Samples
	n.bytes = body.read()
	if err == nil {
		err = body.err()
	}
	if err != nil {
		return nil, n, err
	}
	if limErr != nil {
		return nil, n, limErr
	}
	n.added = c.added(t.key, hashes)
	return fams, n, nil
}

// parse streams the body, but for a job that converts classic histograms
// to native ones: the conversion needs each histogram whole, so that body
// is read whole (within body_size_limit) and parsed at once.
func (c *Collector) parse(b *body, opts exposition.ParseOptions, emit func(metric.Family) error) (exposition.Stats, error) {
	if !opts.ConvertClassicHistogramsToNHCB {
		return exposition.ParseStream(b, b.contentType, opts, emit)
	}
	all, err := io.ReadAll(b)
	if err != nil {
		return exposition.Stats{}, fmt.Errorf("reading body: %w", err)
	}
	return exposition.Parse(all, b.contentType, opts, emit)
}

// checkLabels applies label_limit, label_name_length_limit and
// label_value_length_limit to a series' final labels, and the legacy name
// check when the job asks for it.
func (c *Collector) checkLabels(ls labels.Labels) error {
	cfg := c.cfg
	if lim := cfg.LabelLimit; lim > 0 && uint(ls.Len()) > lim {
		return fmt.Errorf("label_limit exceeded: series %s has %d labels, limit %d: %w", cut(ls.Get(model.MetricNameLabel)), ls.Len(), lim, errLimit)
	}
	var err error
	ls.Range(func(l labels.Label) {
		switch {
		case err != nil:
		case cfg.LabelNameLengthLimit > 0 && uint(len(l.Name)) > cfg.LabelNameLengthLimit:
			err = fmt.Errorf("label_name_length_limit exceeded: label name %s is %d bytes long, limit %d: %w", cut(l.Name), len(l.Name), cfg.LabelNameLengthLimit, errLimit)
		case cfg.LabelValueLengthLimit > 0 && uint(len(l.Value)) > cfg.LabelValueLengthLimit:
			err = fmt.Errorf("label_value_length_limit exceeded: label %s has a value %d bytes long, limit %d: %w", cut(l.Name), len(l.Value), cfg.LabelValueLengthLimit, errLimit)
		}
	})
	if err == nil && cfg.MetricNameValidationScheme == model.LegacyValidation && !ls.IsValid(model.LegacyValidation) {
		err = fmt.Errorf("invalid metric name or label names under metric_name_validation_scheme legacy: %s", cut(ls.String()))
	}
	return err
}

// cut quotes s, cut to a length fit for a log line.
func cut(s string) string {
	const max = 200
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
}

// added counts the series of this scrape that the target's previous scrape
// did not have (scrape_series_added), and remembers them.
func (c *Collector) added(key string, hashes []uint64) int {
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	c.mu.Lock()
	prev := c.seen[key]
	c.seen[key] = hashes
	c.mu.Unlock()
	n := 0
	for _, h := range hashes {
		if _, found := slices.BinarySearch(prev, h); !found {
			n++
		}
	}
	return n
}

// report builds the series a Prometheus scrape adds for each target.
func (c *Collector) report(t *target, start time.Time, dur time.Duration, up float64, n counts) []metric.Family {
	ts := start.UnixMilli()
	g := func(name, help string, v float64) metric.Family {
		f := metric.Gauge(name, help, v, t.labels)
		f.Samples[0].T = ts
		return f
	}
	out := []metric.Family{
		g("up", "1 if the target was scraped successfully, 0 otherwise.", up),
		g("scrape_duration_seconds", "Duration of the scrape.", dur.Seconds()),
		g("scrape_samples_scraped", "Number of samples the target exposed.", float64(n.scraped)),
		g("scrape_samples_post_metric_relabeling", "Number of samples remaining after metric relabeling was applied.", float64(n.kept)),
		g("scrape_series_added", "Number of series in the last scrape that were not in the one before.", float64(n.added)),
	}
	if c.cfg.ExtraScrapeMetrics != nil && *c.cfg.ExtraScrapeMetrics {
		out = append(out,
			g("scrape_timeout_seconds", "The configured scrape timeout for a target.", t.timeout.Seconds()),
			g("scrape_sample_limit", "The configured sample limit for a target. Returns zero if there is no limit configured.", float64(c.cfg.SampleLimit)),
			g("scrape_body_size_bytes", "The uncompressed size of the last scrape response, if successful. Scrapes failing because body_size_limit is exceeded report -1, other scrape failures report 0.", float64(n.bytes)),
		)
	}
	return out
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
