package pushgateway

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
)

// contentType is the Content-Type of each body format.
var contentType = map[string]string{
	config.FormatText:     string(expfmt.NewFormat(expfmt.TypeTextPlain)),
	config.FormatProtobuf: string(expfmt.NewFormat(expfmt.TypeProtoDelim)),
}

// encode renders families in format, without timestamps: the Pushgateway
// refuses pushed timestamps (400 "pushed metrics must not have
// timestamps").
func encode(buf *bytes.Buffer, format string, fams []metric.Family) error {
	if format == config.FormatText {
		return metric.WriteText(buf, fams, false)
	}
	for i := range fams {
		if _, err := protodelim.MarshalTo(buf, toDTO(&fams[i])); err != nil {
			return fmt.Errorf("encoding %s: %w", fams[i].Name, err)
		}
	}
	return nil
}

// toDTO converts a wire family (see wireFamily) into the client_model
// message. Histogram and summary series are folded back into one metric per
// label set, as the text format parser would.
func toDTO(f *metric.Family) *dto.MetricFamily {
	mf := &dto.MetricFamily{Name: proto.String(f.Name)}
	if f.Help != "" {
		mf.Help = proto.String(f.Help)
	}
	switch f.Type {
	case model.MetricTypeCounter:
		mf.Type = dto.MetricType_COUNTER.Enum()
	case model.MetricTypeGauge:
		mf.Type = dto.MetricType_GAUGE.Enum()
	case model.MetricTypeHistogram:
		mf.Type = dto.MetricType_HISTOGRAM.Enum()
	case model.MetricTypeGaugeHistogram:
		mf.Type = dto.MetricType_GAUGE_HISTOGRAM.Enum()
	case model.MetricTypeSummary:
		mf.Type = dto.MetricType_SUMMARY.Enum()
	default:
		mf.Type = dto.MetricType_UNTYPED.Enum()
	}
	histogramType := f.Type == model.MetricTypeHistogram || f.Type == model.MetricTypeGaugeHistogram
	if !histogramType && f.Type != model.MetricTypeSummary {
		mf.Metric = make([]*dto.Metric, 0, len(f.Samples))
		for _, s := range f.Samples {
			m := &dto.Metric{Label: labelPairs(s.Labels, "")}
			v := proto.Float64(s.Value)
			switch f.Type {
			case model.MetricTypeCounter:
				m.Counter = &dto.Counter{Value: v}
			case model.MetricTypeGauge:
				m.Gauge = &dto.Gauge{Value: v}
			default:
				m.Untyped = &dto.Untyped{Value: v}
			}
			mf.Metric = append(mf.Metric, m)
		}
		return mf
	}
	// Histogram or summary: one metric per label set without le/quantile.
	special := model.BucketLabel
	if f.Type == model.MetricTypeSummary {
		special = model.QuantileLabel
	}
	byKey := map[uint64]*dto.Metric{}
	for _, s := range f.Samples {
		h, _ := s.Labels.HashWithoutLabels(nil, model.MetricNameLabel, special)
		m, ok := byKey[h]
		if !ok {
			m = &dto.Metric{Label: labelPairs(s.Labels, special)}
			if histogramType {
				m.Histogram = &dto.Histogram{}
			} else {
				m.Summary = &dto.Summary{}
			}
			byKey[h] = m
			mf.Metric = append(mf.Metric, m)
		}
		name := s.Labels.Get(model.MetricNameLabel)
		switch {
		case m.Histogram != nil && s.Extra != nil && s.IsHistogram():
			setNative(m.Histogram, s.Extra)
		case name == f.Name+"_sum":
			if m.Histogram != nil {
				m.Histogram.SampleSum = proto.Float64(s.Value)
			} else {
				m.Summary.SampleSum = proto.Float64(s.Value)
			}
		case name == f.Name+"_count":
			if m.Histogram != nil {
				m.Histogram.SampleCount = proto.Uint64(uint64(s.Value))
			} else {
				m.Summary.SampleCount = proto.Uint64(uint64(s.Value))
			}
		case m.Histogram != nil:
			le, err := strconv.ParseFloat(s.Labels.Get(model.BucketLabel), 64)
			if err != nil {
				le = math.Inf(1)
			}
			m.Histogram.Bucket = append(m.Histogram.Bucket, &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCount: proto.Uint64(uint64(s.Value))})
		default:
			q, err := strconv.ParseFloat(s.Labels.Get(model.QuantileLabel), 64)
			if err != nil {
				continue
			}
			m.Summary.Quantile = append(m.Summary.Quantile, &dto.Quantile{Quantile: proto.Float64(q), Value: proto.Float64(s.Value)})
		}
	}
	return mf
}

func labelPairs(ls labels.Labels, skip string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, ls.Len()-1)
	ls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel || l.Name == skip {
			return
		}
		out = append(out, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
	})
	return out
}
