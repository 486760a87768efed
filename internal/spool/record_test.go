package spool

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzRecord: the record decoder never panics on any bytes, what it
// accepts encodes back to the same bytes, every record it is given
// round-trips, and a flipped bit is always caught.
func FuzzRecord(f *testing.F) {
	good, err := encodeRecord(Record{Seq: 7, Format: testFormat, Samples: 3, Created: time.Unix(0, 1_700_000_000_123_456_789), Body: []byte("body")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, testFormat, uint32(3), int64(1), []byte("x"), uint16(0))
	f.Add(good[:len(good)-1], "", uint32(0), int64(-1), []byte(nil), uint16(9))
	f.Add(append(good, 0), "io.prometheus.write.v2.Request", uint32(1<<31), int64(0), bytes.Repeat([]byte{0xff}, 300), uint16(400))
	f.Add([]byte(recordMagic+"\x01\x01\x00\x00"), "x", uint32(0), int64(0), []byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, raw []byte, format string, samples uint32, created int64, body []byte, flip uint16) {
		if rec, err := decodeRecord(raw); err == nil {
			again, err := encodeRecord(rec)
			if err != nil {
				t.Fatalf("decoded %+v, which does not encode: %v", rec, err)
			}
			if !bytes.Equal(again, raw) {
				t.Fatalf("decoded and encoded again:\n got %x\nwant %x", again, raw)
			}
		}

		in := Record{Seq: uint64(created) * 31, Format: format, Samples: int(samples), Created: time.Unix(0, created), Body: body}
		b, err := encodeRecord(in)
		if err != nil {
			if format != "" && len(format) <= maxFormatLen {
				t.Fatalf("encoding %+v: %v", in, err)
			}
			return
		}
		out, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("decoding what encodeRecord(%+v) gave: %v", in, err)
		}
		if diff := cmp.Diff(in, out, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-in +out):\n%s", diff)
		}
		bit := int(flip) % (8 * len(b))
		b[bit/8] ^= 1 << (bit % 8)
		if rec, err := decodeRecord(b); err == nil {
			t.Fatalf("bit %d flipped, decoded anyway: %+v", bit, rec)
		}
	})
}

// FuzzState: the same for state files.
func FuzzState(f *testing.F) {
	f.Add(encodeState([]byte("series")), []byte("x"), uint16(3))
	f.Add([]byte(stateMagic), []byte(nil), uint16(0))
	f.Fuzz(func(t *testing.T, raw, data []byte, flip uint16) {
		if got, err := decodeState(raw); err == nil && !bytes.Equal(encodeState(got), raw) {
			t.Fatalf("decoded %x, which encodes to %x", raw, encodeState(got))
		}
		b := encodeState(data)
		got, err := decodeState(b)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %x: %x, %v", data, got, err)
		}
		bit := int(flip) % (8 * len(b))
		b[bit/8] ^= 1 << (bit % 8)
		if _, err := decodeState(b); err == nil {
			t.Fatalf("bit %d flipped, decoded anyway", bit)
		}
	})
}

func TestRecordName(t *testing.T) {
	created := time.Unix(0, 1_700_000_000_123_456_789)
	for _, tc := range []struct {
		name string
		ok   bool
		seq  uint64
		smp  int
		ts   time.Time
	}{
		{name: recordName(42, 1200, created), ok: true, seq: 42, smp: 1200, ts: created},
		{name: recordName(18446744073709551615, 0, time.Unix(0, -5)), ok: true, seq: 18446744073709551615, ts: time.Unix(0, -5)},
		{name: "00000000000000000042-1200-1700000000123456789.rec", ok: true, seq: 42, smp: 1200, ts: created},
		{name: "42-1200-1700000000123456789.rec"},                 // not 20 digits
		{name: "00000000000000000042-+1-1.rec"},                   // not canonical
		{name: "00000000000000000042--1-1.rec"},                   // negative samples
		{name: "00000000000000000042-1-1.rec.tmp"},                // a temp file
		{name: "00000000000000000042-1.rec"},                      // a field short
		{name: "00000000000000000042-1-99999999999999999999.rec"}, // out of range
		{name: "x.state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq, smp, ts, ok := parseRecordName(tc.name)
			if ok != tc.ok || seq != tc.seq || smp != tc.smp || !ts.Equal(tc.ts) {
				t.Errorf("parseRecordName = %d, %d, %v, %v; want %d, %d, %v, %v", seq, smp, ts, ok, tc.seq, tc.smp, tc.ts, tc.ok)
			}
		})
	}
}
