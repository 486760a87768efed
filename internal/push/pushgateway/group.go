package pushgateway

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
)

// collectorLabel names a built-in collector's group (DESIGN.md section 5).
const collectorLabel = "collector"

// reportSeries are the series a scrape adds about a target, as Prometheus
// does. When a target fails they are all that is pushed to its group, so
// its last good data stays in the Pushgateway while up turns 0.
var reportSeries = map[string]bool{
	"up":                                    true,
	"scrape_duration_seconds":               true,
	"scrape_samples_scraped":                true,
	"scrape_samples_post_metric_relabeling": true,
	"scrape_series_added":                   true,
}

// body is one Pushgateway group in the making: its grouping key and the
// families pushed to it, with the grouping labels taken out of the series.
type body struct {
	// key is the grouping key, job first, the rest sorted; it is also the
	// URL path.
	key  []labels.Label
	path string
	// target is set for a scrape target's group (job and instance);
	// otherwise the group is a collector's or the process's.
	target bool
	// up is the owning collector's outcome; for a target, whether the
	// target's own up series is 1.
	up bool

	fams    []metric.Family
	self    []bool // per family: self-metrics or a target's report series
	index   map[string]int
	seen    map[uint64]struct{}
	samples int
}

func newBody(key []labels.Label, target bool) *body {
	return &body{key: key, path: groupPath(key), target: target, index: map[string]int{}, seen: map[uint64]struct{}{}}
}

// add puts one sample of f into the body, with the grouping labels removed:
// the Pushgateway adds them back from the URL. It returns the drop reason,
// or "" when the sample was kept.
func (b *body) add(lb *labels.Builder, f *metric.Family, s *metric.Sample, self bool) string {
	name := s.Labels.Get(model.MetricNameLabel)
	lb.Reset(s.Labels)
	for _, k := range b.key {
		v := s.Labels.Get(k.Name)
		if v == "" {
			continue
		}
		// The job of a built-in collector's series is replaced by the
		// destination's job on purpose (pushgateway.job); any other
		// grouping label with another value would be silently
		// overwritten by the Pushgateway, so the series is refused.
		if v != k.Value && k.Name != model.JobLabel {
			return "grouping_label_conflict"
		}
		lb.Del(k.Name)
	}
	ls := lb.Labels()
	if !validLegacy(ls) {
		return "invalid_labels"
	}
	// One series twice in a body makes the Pushgateway reject the whole
	// group with 400; keep the first.
	h := ls.Hash()
	if _, dup := b.seen[h]; dup {
		return "duplicate_series"
	}
	b.seen[h] = struct{}{}
	wname, typ := wireFamily(f, name)
	if s.Extra != nil && s.IsHistogram() {
		wname, typ = f.Name, nativeFamilyType(f)
	}
	i, ok := b.index[wname]
	if !ok {
		i = len(b.fams)
		b.index[wname] = i
		help := ""
		if typ != model.MetricTypeUnknown || wname == f.Name {
			help = f.Help
		}
		b.fams = append(b.fams, metric.Family{Name: wname, Help: help, Type: typ})
		b.self = append(b.self, self || (b.target && reportSeries[wname]))
	}
	b.fams[i].Samples = append(b.fams[i].Samples, metric.Sample{Labels: ls, Value: s.Value, Extra: s.Extra})
	b.samples++
	return ""
}

// onlySelf keeps the self-metric families and returns how many samples it
// removed.
func (b *body) onlySelf() int {
	kept := b.fams[:0]
	removed := 0
	for i, f := range b.fams {
		if b.self[i] {
			kept = append(kept, f)
		} else {
			removed += len(f.Samples)
		}
	}
	b.fams = kept
	b.samples -= removed
	return removed
}

// wireFamily names the family a series is pushed in, with the type the
// Pushgateway's text and protobuf formats know. A histogram's _bucket, _sum
// and _count stay under the histogram; a counter is named after its series
// (an OpenMetrics counter "x" has series "x_total"); any other series that
// does not fit its family's type (OpenMetrics _created, gauge histograms,
// info, stateset) becomes an untyped family of its own, as the text format
// parser would make it.
func wireFamily(f *metric.Family, series string) (string, model.MetricType) {
	switch f.Type {
	case model.MetricTypeHistogram:
		if series == f.Name+"_bucket" || series == f.Name+"_sum" || series == f.Name+"_count" {
			return f.Name, model.MetricTypeHistogram
		}
	case model.MetricTypeSummary:
		if series == f.Name || series == f.Name+"_sum" || series == f.Name+"_count" {
			return f.Name, model.MetricTypeSummary
		}
	case model.MetricTypeCounter:
		if series == f.Name || series == f.Name+"_total" {
			return series, model.MetricTypeCounter
		}
	case model.MetricTypeGauge:
		if series == f.Name {
			return series, model.MetricTypeGauge
		}
	}
	return series, model.MetricTypeUnknown
}

// validLegacy accepts what Pushgateway 1.5.1 accepts: legacy metric and
// label names (no UTF-8 names yet) and UTF-8 values.
func validLegacy(ls labels.Labels) bool {
	ok := true
	ls.Range(func(l labels.Label) {
		switch {
		case l.Name == model.MetricNameLabel:
			if !model.LegacyValidation.IsValidMetricName(l.Value) {
				ok = false
			}
		case !model.LegacyValidation.IsValidLabelName(l.Name) || strings.HasPrefix(l.Name, "__") || !model.LabelValue(l.Value).IsValid():
			ok = false
		}
	})
	return ok && ls.Has(model.MetricNameLabel)
}

// groupPath renders a grouping key as the Pushgateway's URL path,
// /metrics/job/<job>/<name>/<value>....
//
// A value that is empty or holds anything but letters, digits and
// "_.:~-" is sent as <name>@base64/<URL-safe base64>. The Pushgateway
// requires it for "/" and for empty values; using it for "+", "%" or spaces
// as well avoids depending on how a proxy or Pushgateway version unescapes
// paths (client_golang's push package uses url.QueryEscape there, which
// turns a space into a "+" that the path is never decoded from).
func groupPath(key []labels.Label) string {
	var b strings.Builder
	b.WriteString("/metrics")
	for _, l := range key {
		b.WriteByte('/')
		b.WriteString(l.Name)
		switch {
		case l.Value == "":
			// "=" is the Pushgateway's spelling of an empty value.
			b.WriteString("@base64/=")
		case plainSegment(l.Value):
			b.WriteByte('/')
			b.WriteString(l.Value)
		default:
			b.WriteString("@base64/")
			b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(l.Value)))
		}
	}
	return b.String()
}

func plainSegment(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '_', r == '.', r == ':', r == '~', r == '-':
		default:
			return false
		}
	}
	// "." and ".." are path segments with a meaning of their own.
	return s != "." && s != ".."
}

// keyString renders a grouping key for logs: {job="x",collector="y"}.
func keyString(key []labels.Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range key {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}
