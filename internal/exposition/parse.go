package exposition

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/liftpush/liftpush/internal/metric"
)

// ParseOptions tunes Parse.
type ParseOptions struct {
	// HonorTimestamps keeps timestamps found in the exposition; otherwise
	// every sample gets T == 0 (the caller's time).
	HonorTimestamps bool
	// ChunkSamples, when positive, splits a family into several Family
	// values of at most this many samples, so that a huge file streams
	// through the callback instead of being held at once.
	ChunkSamples int
	// Set labels are put on every series, over its own values; an empty
	// value removes the label (`push --label`).
	Set labels.Labels
	// Default labels are added to series that lack them (job, external
	// labels). With Set or Default given, labels with an empty value are
	// dropped, as labels.Builder drops them.
	Default labels.Labels

	// The histogram options are scrape_config's, with Prometheus 3.16's
	// meaning (scrape/scrape.go hands them to textparse the same way).
	//
	// NativeHistograms (scrape_native_histograms) keeps the native form of
	// a histogram. Off, only classic buckets are read: a histogram exposed
	// as native only then yields its +Inf bucket, _sum and _count.
	NativeHistograms bool
	// AlwaysScrapeClassicHistograms keeps the classic buckets of a
	// histogram that is also native, or converted to NHCB; otherwise the
	// native form replaces them.
	AlwaysScrapeClassicHistograms bool
	// ConvertClassicHistogramsToNHCB turns classic histograms into native
	// histograms with custom buckets.
	ConvertClassicHistogramsToNHCB bool
	// Exemplars keeps the exemplars of OpenMetrics and protobuf input.
	Exemplars bool
	// BodySizeLimit, when positive, is the most bytes the input may have
	// (Prometheus' body_size_limit): a longer one fails with an error
	// wrapping ErrBodySizeLimit. ParseStream emits the families of the
	// records before the limit first, as after any read error.
	BodySizeLimit int64
}

// Stats counts what Parse read.
type Stats struct {
	Samples int
	// NativeHistograms counts the native histogram samples among Samples.
	NativeHistograms int
}

// Parse decodes an exposition body in the Prometheus text, OpenMetrics or
// protobuf format (chosen by contentType, like Prometheus' scrape loop) and
// calls emit for every family, in input order. emit takes ownership of the
// family. Parse never panics on malformed input; it returns an error naming
// what was wrong, after having emitted the families before the error. A
// label name or value longer than metric.MaxLabelBytes is such an error,
// wrapping metric.ErrLabelTooLong. Errors quote input cut to a few hundred
// bytes (metric.Quote).
func Parse(b []byte, contentType string, opts ParseOptions, emit func(metric.Family) error) (Stats, error) {
	if opts.BodySizeLimit > 0 && int64(len(b)) > opts.BodySizeLimit {
		return Stats{}, bodySizeError(opts.BodySizeLimit)
	}
	p, err := newParser(b, contentType, opts)
	if err != nil {
		return Stats{}, err
	}
	if _, ok := p.(*textparse.PromParser); ok && !opts.ConvertClassicHistogramsToNHCB {
		if fams, st, ok := parseText(b, opts); ok {
			for _, f := range fams {
				if err := emit(f); err != nil {
					return st, err
				}
			}
			return st, nil
		}
	}
	return parseWith(p, opts, emit)
}

// parserOptions are the options the streaming reader gives textparse, for
// text input that has no native histograms.
var parserOptions = textparse.ParserOptions{
	FallbackContentType:                     "text/plain",
	KeepClassicOnClassicAndNativeHistograms: true,
}

// textparseOptions are the options Parse gives textparse for opts.
func textparseOptions(opts ParseOptions) textparse.ParserOptions {
	return textparse.ParserOptions{
		FallbackContentType:                     "text/plain",
		IgnoreNativeHistograms:                  !opts.NativeHistograms,
		KeepClassicOnClassicAndNativeHistograms: opts.AlwaysScrapeClassicHistograms,
		ConvertClassicHistogramsToNHCB:          opts.ConvertClassicHistogramsToNHCB,
	}
}

func newParser(b []byte, contentType string, opts ParseOptions) (textparse.Parser, error) {
	p, err := textparse.New(b, contentType, labels.NewSymbolTable(), textparseOptions(opts))
	if p == nil {
		return nil, fmt.Errorf("unsupported content type %s: %w", metric.Quote(contentType), err)
	}
	// The label limit is checked before textparse builds labels: the
	// protobuf parser builds them inside Next, and so does the NHCB parser
	// when it collects a histogram's buckets; exemplars have labels of
	// their own. Elsewhere parseWith checks each series' text.
	var lerr error
	if _, ok := p.(*textparse.ProtobufParser); ok {
		lerr = checkProtoLabels(b)
	} else if opts.ConvertClassicHistogramsToNHCB || opts.Exemplars {
		lerr = checkBodyText(b)
	}
	if lerr != nil {
		return nil, fmt.Errorf("parsing exposition: %w", lerr)
	}
	return p, nil
}

// parseTextparse is Parse through textparse only, for every format and
// input.
func parseTextparse(b []byte, contentType string, opts ParseOptions, emit func(metric.Family) error) (Stats, error) {
	p, err := newParser(b, contentType, opts)
	if err != nil {
		return Stats{}, err
	}
	return parseWith(p, opts, emit)
}

func parseWith(p textparse.Parser, opts ParseOptions, emit func(metric.Family) error) (Stats, error) {
	var st Stats
	var (
		cur     metric.Family
		started bool
		lset    labels.Labels
		lb      = labels.NewBuilder(labels.EmptyLabels())
		ex      exemplar.Exemplar
		// The protobuf parser's labels were checked before it started
		// (newParser); its Series text is no exposition text.
		_, proto = p.(*textparse.ProtobufParser)
	)
	flush := func() error {
		if !started || len(cur.Samples) == 0 {
			return nil
		}
		f := cur
		cur.Samples = nil
		return emit(f)
	}
	// begin starts family name unless the current one has that name
	// already (HELP and TYPE lines of one family).
	begin := func(name string) error {
		if started && cur.Name == name {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		cur, started = metric.Family{Name: name, Type: model.MetricTypeUnknown}, true
		return nil
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return st, ferr
			}
			return st, fmt.Errorf("parsing exposition: %w", parseError{err})
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			if err := begin(string(name)); err != nil {
				return st, err
			}
			cur.Type = typ
		case textparse.EntryHelp:
			name, help := p.Help()
			if err := begin(string(name)); err != nil {
				return st, err
			}
			cur.Help = string(help)
		case textparse.EntryUnit:
			name, unit := p.Unit()
			if err := begin(string(name)); err != nil {
				return st, err
			}
			cur.Unit = string(unit)
		case textparse.EntrySeries, textparse.EntryHistogram:
			var (
				s      metric.Sample
				ts     *int64
				series []byte
			)
			if et == textparse.EntrySeries {
				series, ts, s.Value = p.Series()
			} else {
				var (
					h   *histogram.Histogram
					fh  *histogram.FloatHistogram
					err error
				)
				series, ts, h, fh = p.Histogram()
				if s.Extra, err = newHistogramExtra(h, fh); err != nil {
					if ferr := flush(); ferr != nil {
						return st, ferr
					}
					return st, fmt.Errorf("parsing exposition: native histogram %s: %w", metric.Quote(series), err)
				}
			}
			if !proto {
				if err := checkSeriesText(series); err != nil {
					if ferr := flush(); ferr != nil {
						return st, ferr
					}
					return st, fmt.Errorf("parsing exposition: series %s: %w", metric.Quote(series), err)
				}
			}
			p.Labels(&lset)
			if !opts.Set.IsEmpty() || !opts.Default.IsEmpty() {
				lset = applyLabels(lb, lset, opts)
			}
			name := lset.Get(model.MetricNameLabel)
			if name == "" {
				// The parsers accept {""} or {a="b"} with no name; a series
				// without a name cannot be stored anywhere, and Prometheus
				// fails such a scrape too.
				if ferr := flush(); ferr != nil {
					return st, ferr
				}
				return st, fmt.Errorf("parsing exposition: series %s has no metric name", metric.Cut(lset.String()))
			}
			if !started || !belongs(cur.Name, name) {
				if err := begin(name); err != nil {
					return st, err
				}
			}
			s.Labels = lset
			if ts != nil && opts.HonorTimestamps {
				s.T = *ts
			}
			if opts.Exemplars {
				s.Extra = readExemplars(p, s.Extra, &ex)
			}
			if s.IsHistogram() {
				st.NativeHistograms++
			}
			cur.Samples = append(cur.Samples, s)
			st.Samples++
			if opts.ChunkSamples > 0 && len(cur.Samples) >= opts.ChunkSamples {
				if err := flush(); err != nil {
					return st, err
				}
			}
		}
	}
	return st, flush()
}

// familySuffixes are the series name suffixes a family's samples may carry
// (OpenMetrics section "Suffixes" plus the Prometheus text format's).
var familySuffixes = []string{"_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info"}

func belongs(family, series string) bool {
	if series == family {
		return true
	}
	rest, ok := strings.CutPrefix(series, family)
	if !ok {
		return false
	}
	for _, s := range familySuffixes {
		if rest == s {
			return true
		}
	}
	return false
}

// applyLabels puts opts' Set and Default labels on lset.
func applyLabels(lb *labels.Builder, lset labels.Labels, opts ParseOptions) labels.Labels {
	lb.Reset(lset)
	opts.Set.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	opts.Default.Range(func(l labels.Label) {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	})
	return lb.Labels()
}
