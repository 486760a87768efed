package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/liftpush/liftpush/internal/metric"
)

// Limits on hostile input (issue 22). A label name or value longer than
// metric.MaxLabelBytes panics in the labels library textparse builds every
// series with, so it is looked for before textparse builds the series, and
// fails the parse with an error naming the limit. The checks cost nothing
// on ordinary input: no string of a series is longer than the series' text,
// nor than a protobuf body, so they only look when those are longer than
// the limit.

// checkSeriesText checks the text of one series as the text and OpenMetrics
// parsers return it (Series) against metric.MaxLabelBytes: the metric name,
// label names and label values, unescaped as textparse unescapes them. The
// parser read the series without error, so its tokens are quoted strings
// and the runs of bytes between separators.
//
// It also checks a whole text or OpenMetrics body, lines starting with "#"
// left out, where textparse builds labels before Parse sees the series:
// the NHCB parser reads ahead, and exemplars are not part of the series
// text. There, the value, timestamp and exemplar tokens are checked too,
// and a token of a malformed line may be checked whole where textparse
// would split it: only inputs with tokens over the limit are refused.
func checkSeriesText(series []byte) error {
	return checkTokens(series, false)
}

// checkBodyText checks a whole text or OpenMetrics body (see
// checkSeriesText).
func checkBodyText(b []byte) error {
	return checkTokens(b, true)
}

func checkTokens(series []byte, body bool) error {
	if len(series) <= metric.MaxLabelBytes {
		return nil
	}
	var (
		name    string // the label name the next value belongs to
		isValue bool   // the token follows "="
	)
	for i := 0; i < len(series); {
		if body && (i == 0 || series[i-1] == '\n') {
			if j := skipSpace(series, i); j < len(series) && series[j] == '#' {
				// A comment, HELP, TYPE or UNIT line: no labels.
				if nl := bytes.IndexByte(series[j:], '\n'); nl >= 0 {
					i = j + nl + 1
				} else {
					i = len(series)
				}
				continue
			}
		}
		var tok []byte
		switch c := series[i]; {
		case c == '=':
			isValue = true
			i++
			continue
		case c == '{' || c == '}' || c == ',':
			isValue = false
			i++
			continue
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '\n':
			isValue = false
			i++
			continue
		case c == '"':
			end, _ := skipQuoted(series, i)
			tok = series[i+1 : max(end-1, i+1)]
			i = end
		default:
			j := i
			for j < len(series) && !isTokenEnd(series[j]) {
				j++
			}
			tok, i = series[i:j], j
		}
		s := yolo(tok)
		if len(tok) > metric.MaxLabelBytes {
			// Unescaping may bring it within the limit.
			s = unescaper.Replace(s)
		}
		if isValue {
			if err := metric.CheckLabel(name, s); err != nil {
				return err
			}
			isValue = false
			continue
		}
		// A name: a label's if "=" follows, else the metric's, which is
		// the value of __name__.
		if j := skipSpace(series, i); j < len(series) && series[j] == '=' {
			name = s
			if err := metric.CheckLabel(s, ""); err != nil {
				return err
			}
		} else if err := metric.CheckLabel(model.MetricNameLabel, s); err != nil {
			return err
		}
	}
	return nil
}

func isTokenEnd(c byte) bool {
	switch c {
	case '{', '}', ',', '=', ' ', '\t', '"', '\n':
		return true
	}
	return false
}

// unescaper unescapes quoted names and values as textparse does.
var unescaper = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n")

// checkProtoLabels checks a delimited protobuf body (MetricFamily messages,
// each after its varint length) against metric.MaxLabelBytes: the family
// names, with the suffix the parser adds for histograms and summaries, and
// every label name and value, exemplars' too. The protobuf parser builds a
// series' labels
// inside Next, so nothing can be checked between reading a series and
// building it. Malformed input is left to the parser to report.
func checkProtoLabels(b []byte) error {
	if len(b) <= metric.MaxLabelBytes {
		return nil
	}
	for len(b) > 0 {
		size, n := protowire.ConsumeVarint(b)
		if n < 0 || size > uint64(len(b)-n) {
			return nil
		}
		if err := checkProtoFamily(b[n : n+int(size)]); err != nil {
			return err
		}
		b = b[n+int(size):]
	}
	return nil
}

// Field numbers of io.prometheus.client's messages, and the MetricType
// values whose series get a suffix.
const (
	familyName, familyType, familyMetric        = 1, 3, 4
	metricLabel, metricCounter, metricHistogram = 1, 3, 7
	counterExemplar                             = 2
	histogramBucket, histogramExemplars         = 3, 16
	bucketExemplar                              = 3
	exemplarLabel                               = 1
	pairName, pairValue                         = 1, 2
	typeSummary                                 = 2
	typeHistogram, typeGaugeHistogram           = 4, 5
)

func checkProtoFamily(b []byte) error {
	var (
		name []byte
		typ  uint64
	)
	err := eachField(b, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case familyName:
			name = v
		case familyType:
			typ = x
		case familyMetric:
			return eachField(v, checkProtoMetric)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The parser names a summary's series name_count and name_sum, and a
	// histogram's name_bucket too.
	suffix := ""
	switch typ {
	case typeSummary:
		suffix = "_count"
	case typeHistogram, typeGaugeHistogram:
		suffix = "_bucket"
	}
	if len(name)+len(suffix) > metric.MaxLabelBytes {
		return metric.CheckLabel(model.MetricNameLabel, string(name)+suffix)
	}
	return nil
}

// checkProtoMetric checks one field of a Metric: a label, or the labels of
// an exemplar of a counter or a histogram.
func checkProtoMetric(num protowire.Number, v []byte, _ uint64) error {
	// exemplar returns a func checking the labels of the Exemplar
	// messages in field num.
	exemplar := func(num protowire.Number) func(protowire.Number, []byte, uint64) error {
		return func(n protowire.Number, v []byte, _ uint64) error {
			if n != num {
				return nil
			}
			return eachField(v, func(n protowire.Number, v []byte, _ uint64) error {
				if n != exemplarLabel {
					return nil
				}
				return checkProtoPair(v)
			})
		}
	}
	switch num {
	case metricLabel:
		return checkProtoPair(v)
	case metricCounter:
		return eachField(v, exemplar(counterExemplar))
	case metricHistogram:
		return eachField(v, func(n protowire.Number, v []byte, x uint64) error {
			switch n {
			case histogramBucket:
				return eachField(v, exemplar(bucketExemplar))
			case histogramExemplars:
				return exemplar(histogramExemplars)(n, v, x)
			}
			return nil
		})
	}
	return nil
}

// checkProtoPair checks a LabelPair message.
func checkProtoPair(b []byte) error {
	var name, value []byte
	if err := eachField(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case pairName:
			name = v
		case pairValue:
			value = v
		}
		return nil
	}); err != nil {
		return err
	}
	return metric.CheckLabel(yolo(name), yolo(value))
}

// eachField calls f with every field of the message b: v holds a
// length-delimited field's bytes, x a varint field's value. It stops at the
// first malformed field, which the parser will report.
func eachField(b []byte, f func(num protowire.Number, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil
		}
		b = b[n:]
		if err := f(num, v, x); err != nil {
			return err
		}
	}
	return nil
}

// ErrBodySizeLimit is the error of an input longer than
// ParseOptions.BodySizeLimit; the errors Parse and ParseStream return wrap it.
var ErrBodySizeLimit = errors.New("body size limit exceeded")

func bodySizeError(limit int64) error {
	return fmt.Errorf("reading exposition: %w: more than %d bytes", ErrBodySizeLimit, limit)
}

// limitReader reads r and fails, rather than ending as io.LimitReader does,
// when r holds more than limit bytes: a body cut at the limit would parse
// as a shorter, valid one.
type limitReader struct {
	r           io.Reader
	limit, left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, bodySizeError(l.limit)
	}
	// One byte more than is left tells whether the input goes on.
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n, l.left = int(l.left), -1
		return n, bodySizeError(l.limit)
	}
	l.left -= int64(n)
	return n, err
}

// parseError is an error of textparse, whose text is bounded with
// metric.Cut: textparse quotes the whole line it failed on, which may be
// 100 MB long (issue 22).
type parseError struct{ err error }

func (e parseError) Error() string { return metric.Cut(e.err.Error()) }
func (e parseError) Unwrap() error { return e.err }
