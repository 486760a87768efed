package exposition

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// hostileSizes are the lengths inflate blows one byte of a fuzz input up to
// (issue 22): past Quote's bound, past the parsers' buffers, and one over
// metric.MaxLabelBytes, where the labels library would panic. Sizes past
// the table's end (most) add nothing, which keeps most runs fast: a 17 MiB
// input takes textparse a second.
var hostileSizes = []int{0, 300, 5000, 70 << 10, 1 << 20, metric.MaxLabelBytes + 1}

// inflate repeats the byte of body at at (modulo its length) until it is
// hostileSizes[size] bytes long, if that is not zero: a name, a value, a
// line or a run of blanks that hostile input would make that long. At most
// limit bytes are added (0: no limit).
func inflate(body []byte, at uint16, size uint8, limit int) []byte {
	n := 0
	if i := int(size) % 32; i < len(hostileSizes) {
		n = hostileSizes[i]
	}
	if limit > 0 {
		n = min(n, limit)
	}
	if n == 0 {
		return body
	}
	if len(body) == 0 {
		return bytes.Repeat([]byte{'a'}, n)
	}
	i := int(at) % len(body)
	out := make([]byte, 0, len(body)+n)
	out = append(out, body[:i]...)
	out = append(out, bytes.Repeat(body[i:i+1], n)...)
	return append(out, body[i+1:]...)
}

// checkErrorLen fails when an error's text is longer than 1 KiB: errors
// quote input cut (issue 22).
func checkErrorLen(t *testing.T, err error) {
	t.Helper()
	if err != nil && len(err.Error()) > maxErrorLen {
		t.Errorf("error text is %d bytes: %.300s", len(err.Error()), err)
	}
}

// FuzzParse feeds any bytes to Parse in each exposition format, some with
// a byte repeated to hostile sizes. Parse reads what remote targets send,
// so it must never panic, its errors must be short, and every sample it
// emits must carry a metric name.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"# HELP a A.\n# TYPE a counter\na{x=\"1\"} 1 1700000000000\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
		"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
		"# TYPE c counter\n# UNIT c_seconds seconds\nc_total 1\nc_created 1\n# EOF\n",
		"a NaN\nb +Inf\nc -Inf\n",
		"{\"utf8.name\",x=\"y\"} 1\n",
		"",
		"\n\n# EOF",
	}
	for _, s := range seeds {
		for ct := range 3 {
			f.Add([]byte(s), uint8(ct), false, uint8(0), uint16(0), uint8(0))
		}
	}
	// A long value, label name, metric name and line (1 MiB: the seeds
	// run with every go test, 17 MiB ones cost seconds under -race;
	// TestParseLabelOverLimit has those).
	f.Add([]byte("a{x=\"1\"} 1\n"), uint8(0), false, uint8(0), uint16(5), uint8(4))
	f.Add([]byte("a{x=\"1\"} 1\n"), uint8(1), false, uint8(0), uint16(2), uint8(4))
	f.Add([]byte("a{x=\"1\"} 1\n"), uint8(0), false, uint8(0), uint16(0), uint8(4))
	f.Add([]byte("a{x=\"1\"} 1 2 3\n"), uint8(0), false, uint8(0), uint16(13), uint8(4))
	f.Add([]byte("# TYPE c counter\nc_total 1 # {t=\"1\"} 1\n# EOF\n"), uint8(1), false, uint8(8), uint16(32), uint8(4))
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\",p=\"x\"} 1\nh_bucket{le=\"+Inf\",p=\"x\"} 1\nh_sum 1\nh_count 1\n"), uint8(0), false, uint8(16), uint16(33), uint8(4))
	f.Add(expositiontest.EncodeProto(f, expositiontest.ProtoFamilies()...), uint8(2), true, uint8(2), uint16(0), uint8(0))
	f.Add(expositiontest.EncodeProto(f, nativeHistogram(true), nativeHistogram(false)), uint8(2), false, uint8(0), uint16(0), uint8(0))
	contentTypes := []string{ctText, ctOpenMetrics, ctProto}
	f.Fuzz(func(t *testing.T, body []byte, ct uint8, honor bool, chunk uint8, at uint16, size uint8) {
		body = inflate(body, at, size, 0)
		// The high bits of chunk turn on the options under which textparse
		// builds labels ahead of Parse (FuzzParseNative checks what they
		// produce).
		opts := ParseOptions{
			HonorTimestamps: honor, ChunkSamples: int(chunk % 8),
			Exemplars:                      chunk&8 != 0,
			ConvertClassicHistogramsToNHCB: chunk&16 != 0,
			NativeHistograms:               chunk&32 != 0,
		}
		emitted := 0
		st, err := Parse(body, contentTypes[int(ct)%len(contentTypes)], opts, func(fam metric.Family) error {
			if len(fam.Samples) == 0 {
				t.Errorf("family %q emitted without samples", fam.Name)
			}
			for _, s := range fam.Samples {
				if s.Labels.Get(model.MetricNameLabel) == "" {
					t.Errorf("sample without __name__ in family %q: %s", fam.Name, s.Labels)
				}
				if !honor && s.T != 0 {
					t.Errorf("sample %s has T=%d without honor_timestamps", s.Labels, s.T)
				}
			}
			emitted += len(fam.Samples)
			return nil
		})
		checkErrorLen(t, err)
		if emitted != st.Samples {
			t.Errorf("emitted %d samples, Stats.Samples = %d", emitted, st.Samples)
		}
	})
}
