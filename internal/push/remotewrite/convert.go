package remotewrite

import (
	"fmt"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// v2ToV1 turns a spooled 2.0 request body into a 1.0 one with the same
// series, samples, native histograms, exemplars and metadata: the receiver
// was found not to speak 2.0 after the record was written, and its data
// must still arrive.
func v2ToV1(body []byte) ([]byte, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var in writev2.Request
	if err := in.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("decoding 2.0: %w", err)
	}
	sym := func(ref uint32) (string, error) {
		if int(ref) >= len(in.Symbols) {
			return "", fmt.Errorf("symbol ref %d past the table's %d", ref, len(in.Symbols))
		}
		return in.Symbols[ref], nil
	}
	var out prompb.WriteRequest
	seen := map[string]bool{}
	for _, ts := range in.Timeseries {
		if len(ts.LabelsRefs)%2 != 0 {
			return nil, fmt.Errorf("odd label refs")
		}
		var (
			lbls []prompb.Label
			name string
		)
		for i := 0; i < len(ts.LabelsRefs); i += 2 {
			n, err := sym(ts.LabelsRefs[i])
			if err != nil {
				return nil, err
			}
			v, err := sym(ts.LabelsRefs[i+1])
			if err != nil {
				return nil, err
			}
			if n == "__name__" {
				name = v
			}
			lbls = append(lbls, prompb.Label{Name: n, Value: v})
		}
		samples := make([]prompb.Sample, len(ts.Samples))
		for i, s := range ts.Samples {
			samples[i] = prompb.Sample{Value: s.Value, Timestamp: s.Timestamp}
		}
		var hists []prompb.Histogram
		for _, h := range ts.Histograms {
			if h.IsFloatHistogram() {
				hists = append(hists, prompb.FromFloatHistogram(h.Timestamp, h.ToFloatHistogram()))
			} else {
				hists = append(hists, prompb.FromIntHistogram(h.Timestamp, h.ToIntHistogram()))
			}
		}
		var exemplars []prompb.Exemplar
		for _, e := range ts.Exemplars {
			if len(e.LabelsRefs)%2 != 0 {
				return nil, fmt.Errorf("odd exemplar label refs")
			}
			pe := prompb.Exemplar{Value: e.Value, Timestamp: e.Timestamp}
			for i := 0; i < len(e.LabelsRefs); i += 2 {
				n, err := sym(e.LabelsRefs[i])
				if err != nil {
					return nil, err
				}
				v, err := sym(e.LabelsRefs[i+1])
				if err != nil {
					return nil, err
				}
				pe.Labels = append(pe.Labels, prompb.Label{Name: n, Value: v})
			}
			exemplars = append(exemplars, pe)
		}
		out.Timeseries = append(out.Timeseries, prompb.TimeSeries{Labels: lbls, Samples: samples, Histograms: hists, Exemplars: exemplars})
		if m := ts.Metadata; name != "" && !seen[name] && m.Type != writev2.Metadata_METRIC_TYPE_UNSPECIFIED {
			seen[name] = true
			help, err := sym(m.HelpRef)
			if err != nil {
				return nil, err
			}
			unit, err := sym(m.UnitRef)
			if err != nil {
				return nil, err
			}
			// The two enums share their numbers.
			out.Metadata = append(out.Metadata, prompb.MetricMetadata{Type: prompb.MetricMetadata_MetricType(m.Type), MetricFamilyName: name, Help: help, Unit: unit})
		}
	}
	b, err := out.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding 1.0: %w", err)
	}
	return snappy.Encode(nil, b), nil
}
