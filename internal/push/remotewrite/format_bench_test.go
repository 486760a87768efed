package remotewrite

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra/ksmgen"
)

// BenchmarkWireFormat compares remote-write 1.0 and 2.0 (issue 10) on
// kube-state-metrics shaped series (ksmgen: 8-10 labels a series, about 250
// bytes a sample as text), cut into batches of the default
// max_samples_per_send as a delivery cuts them:
//   - ns/sample: encoding alone (batch to protobuf to snappy), what
//     sendBatch pays before the first send;
//   - bytes/sample: the request bodies on the wire, metadata included.
//
// make bench runs it on its own; see the Makefile for the table's command.
func BenchmarkWireFormat(b *testing.B) {
	for _, n := range []int{100, 10_000, 1_000_000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			fams := ksmFamilies(b, n)
			for _, f := range []struct{ name, message string }{{"1.0", config.WriteRequestV1}, {"2.0", config.WriteRequestV2}} {
				b.Run("format="+f.name, func(b *testing.B) {
					benchEncode(b, fams, n, formats[f.message].encode)
				})
			}
		})
	}
}

func benchEncode(b *testing.B, fams []metric.Family, n int, encode func(*batch) []byte) {
	max := config.DefaultQueueConfig.MaxSamplesPerSend
	bt := &batch{}
	wire := 0
	b.ReportAllocs()
	for b.Loop() {
		wire = 0
		// Filling the batch is the writer's cost, not the format's.
		b.StopTimer()
		seen := map[string]bool{}
		flush := func() {
			b.StartTimer()
			wire += len(encode(bt))
			b.StopTimer()
			bt.reset()
		}
		for i := range fams {
			f := &fams[i]
			for _, s := range f.Samples {
				// As writer.queue: 1.0 metadata once per family and
				// delivery, 2.0 metadata per series.
				if !seen[f.Name] {
					seen[f.Name] = true
					bt.meta = append(bt.meta, metadataOf(f))
				}
				bt.add(f, s.Labels, s.Value, s.T, s.Extra)
				if len(bt.samples) >= max {
					flush()
				}
			}
		}
		if len(bt.samples) > 0 {
			flush()
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(wire)/float64(n), "bytes/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

// ksmFamilies parses n samples of ksmgen's exposition, each with a
// timestamp as a delivery would give it.
func ksmFamilies(b *testing.B, n int) []metric.Family {
	b.Helper()
	var text bytes.Buffer
	if _, err := ksmgen.Write(&text, n); err != nil {
		b.Fatal(err)
	}
	var fams []metric.Family
	if _, err := exposition.Parse(text.Bytes(), exposition.ContentTypeText, exposition.ParseOptions{}, func(f metric.Family) error {
		for i := range f.Samples {
			f.Samples[i].T = 1_700_000_000_000
		}
		fams = append(fams, f)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if got := metric.Samples(fams); got != n {
		b.Fatalf("parsed %d samples, want %d", got, n)
	}
	return fams
}
