package metric

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// WriteText renders families in the Prometheus text format (0.0.4), or in
// OpenMetrics 1.0 when openMetrics is set. Timestamps are left out: this is
// what `liftpush collect` prints and what a Pushgateway accepts. Native
// histogram samples are left out: neither format can carry them.
//
// Families that share a name (the up series of several targets, the
// self-metrics of several collectors, the chunks of one big family) are
// written as one, at the first one's place: both formats allow a family's
// HELP and TYPE once, and parsers such as expfmt reject a second TYPE line.
func WriteText(w io.Writer, families []Family, openMetrics bool) error {
	families = mergeFamilies(families)
	bw := bufio.NewWriter(w)
	for i := range families {
		f := &families[i]
		name := f.Name
		typ := string(f.Type)
		if openMetrics {
			if f.Type == model.MetricTypeCounter {
				name = strings.TrimSuffix(name, "_total")
			}
		} else {
			name = textFamilyName(f)
			if f.Type == model.MetricTypeUnknown || f.Type == "" || f.Type == model.MetricTypeInfo || f.Type == model.MetricTypeStateset || f.Type == model.MetricTypeGaugeHistogram {
				// The text format knows fewer types; untyped is the honest one.
				typ = "untyped"
			}
		}
		// A UTF-8 name that is not a legacy name is quoted, as in text
		// format 1.0.0 and what Parse accepts; written bare it would make
		// the whole exposition unparsable.
		name = quoteName(name, model.LegacyValidation.IsValidMetricName(name))
		if f.Help != "" {
			bw.WriteString("# HELP ")
			bw.WriteString(name)
			bw.WriteByte(' ')
			bw.WriteString(escapeHelp(f.Help, openMetrics))
			bw.WriteByte('\n')
		}
		if typ == "" {
			typ = "unknown"
		}
		bw.WriteString("# TYPE ")
		bw.WriteString(name)
		bw.WriteByte(' ')
		bw.WriteString(typ)
		bw.WriteByte('\n')
		if openMetrics && f.Unit != "" {
			bw.WriteString("# UNIT " + name + " " + f.Unit + "\n")
		}
		for _, s := range f.Samples {
			if s.Extra != nil && s.IsHistogram() {
				// Neither text format has native histograms; the
				// Pushgateway gets them in protobuf instead.
				continue
			}
			writeSeries(bw, s.Labels)
			bw.WriteByte(' ')
			bw.WriteString(FormatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	if openMetrics {
		bw.WriteString("# EOF\n")
	}
	return bw.Flush()
}

// mergeFamilies returns families with same-name families merged into the
// first one, in first-seen order. The input is not modified.
func mergeFamilies(families []Family) []Family {
	index := make(map[string]int, len(families))
	dup := false
	for _, f := range families {
		if _, ok := index[f.Name]; ok {
			dup = true
			break
		}
		index[f.Name] = 0
	}
	if !dup {
		return families
	}
	clear(index)
	out := make([]Family, 0, len(families))
	for _, f := range families {
		i, ok := index[f.Name]
		if !ok {
			index[f.Name] = len(out)
			f.Samples = slices.Clip(f.Samples)
			out = append(out, f)
			continue
		}
		m := &out[i]
		m.Samples = append(m.Samples, f.Samples...)
		if m.Help == "" {
			m.Help = f.Help
		}
		if m.Unit == "" {
			m.Unit = f.Unit
		}
		if m.Type == "" || m.Type == model.MetricTypeUnknown {
			m.Type = f.Type
		}
	}
	return out
}

// textFamilyName is the name the text format's HELP and TYPE lines need. An
// OpenMetrics counter family "x" has samples "x_total" (and an info family
// "x" has "x_info"); in the text format the metadata names the series
// itself, or parsers such as expfmt (the Pushgateway's) read the series as
// untyped and drop its help.
func textFamilyName(f *Family) string {
	var suffix string
	switch f.Type {
	case model.MetricTypeCounter:
		suffix = "_total"
	case model.MetricTypeInfo:
		suffix = "_info"
	default:
		return f.Name
	}
	if strings.HasSuffix(f.Name, suffix) {
		return f.Name
	}
	for _, s := range f.Samples {
		if s.Labels.Get(model.MetricNameLabel) == f.Name+suffix {
			return f.Name + suffix
		}
	}
	return f.Name
}

func writeSeries(bw *bufio.Writer, ls labels.Labels) {
	name := ls.Get(model.MetricNameLabel)
	first := true
	if model.LegacyValidation.IsValidMetricName(name) {
		bw.WriteString(name)
	} else {
		// {"my.metric",label="v"}
		bw.WriteByte('{')
		bw.WriteString(quoteName(name, false))
		first = false
	}
	ls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if first {
			bw.WriteByte('{')
			first = false
		} else {
			bw.WriteByte(',')
		}
		bw.WriteString(quoteName(l.Name, model.LegacyValidation.IsValidLabelName(l.Name)))
		bw.WriteString(`="`)
		bw.WriteString(labelValueEscaper.Replace(l.Value))
		bw.WriteByte('"')
	})
	if !first {
		bw.WriteByte('}')
	}
}

var (
	labelValueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper       = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// quoteName returns name, or name quoted and escaped unless it is legacy.
func quoteName(name string, legacy bool) string {
	if legacy {
		return name
	}
	return `"` + labelValueEscaper.Replace(name) + `"`
}

func escapeHelp(s string, openMetrics bool) string {
	if openMetrics {
		return labelValueEscaper.Replace(s)
	}
	return helpEscaper.Replace(s)
}

// FormatValue renders a sample value as the exposition formats do.
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
