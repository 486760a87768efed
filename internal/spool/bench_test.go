package spool

import (
	"math/rand/v2"
	"testing"
)

// benchBody is the size of a typical compressed remote-write request.
const benchBody = 60 << 10

// BenchmarkAppend is the cost of making one request body durable: encode,
// write, fsync, rename, fsync dir. Run it on the disk the spool will use
// (t.TempDir, so TMPDIR):
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/spool/
func BenchmarkAppend(b *testing.B) {
	q := openQueue(b, openSpool(b, b.TempDir(), Options{}))
	body := make([]byte, benchBody)
	_, _ = rand.NewChaCha8([32]byte{}).Read(body) // incompressible, as a snappy-compressed body is
	b.SetBytes(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Append(testFormat, 2000, body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReplay is the cost of sending one record back out of the
// spool, receiver aside: Read (and verify), then Remove.
func BenchmarkReplay(b *testing.B) {
	q := openQueue(b, openSpool(b, b.TempDir(), Options{}))
	body := make([]byte, benchBody)
	for range b.N {
		if _, err := q.Append(testFormat, 2000, body); err != nil {
			b.Fatal(err)
		}
	}
	es, err := q.Pending()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	for _, e := range es {
		if _, err := q.Read(e.Seq); err != nil {
			b.Fatal(err)
		}
		if err := q.Remove(e.Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
