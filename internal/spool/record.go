package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
	"time"
)

// A record file holds one record, little-endian:
//
//	offset   size  field
//	0        4     magic "LPSR"
//	4        1     version, 1
//	5        1     length F of the format tag, 1 to 255
//	6        2     reserved, zero
//	8        8     seq
//	16       8     samples
//	24       8     created, Unix nanoseconds
//	32       8     length B of the body
//	40       F     format tag
//	40+F     B     body
//	40+F+B   4     CRC-32C (Castagnoli) of every byte before it
//
// The lengths must add up to the file's size exactly and the reserved bytes
// must be zero, so a file decodes to at most one record and encoding it again
// gives the same bytes (FuzzRecord checks both). The checksum trails the
// record: a truncated file fails the length check, a torn or flipped one the
// checksum.
const (
	recordMagic   = "LPSR"
	recordVersion = 1
	recordHeader  = 40
	recordTrailer = 4
	maxFormatLen  = math.MaxUint8
)

// A state file holds one SaveState value, little-endian:
//
//	offset  size  field
//	0       4     magic "LPST"
//	4       1     version, 1
//	5       3     reserved, zero
//	8       8     length N of the data
//	16      N     data
//	16+N    4     CRC-32C of every byte before it
const (
	stateMagic   = "LPST"
	stateVersion = 1
	stateHeader  = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord is the file content of r.
func encodeRecord(r Record) ([]byte, error) {
	if err := checkRecord(r.Format, r.Samples); err != nil {
		return nil, err
	}
	n := recordHeader + len(r.Format) + len(r.Body) + recordTrailer
	b := make([]byte, recordHeader, n)
	copy(b, recordMagic)
	b[4] = recordVersion
	b[5] = byte(len(r.Format))
	binary.LittleEndian.PutUint64(b[8:], r.Seq)
	binary.LittleEndian.PutUint64(b[16:], uint64(r.Samples))
	binary.LittleEndian.PutUint64(b[24:], uint64(r.Created.UnixNano()))
	binary.LittleEndian.PutUint64(b[32:], uint64(len(r.Body)))
	b = append(b, r.Format...)
	b = append(b, r.Body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func checkRecord(format string, samples int) error {
	if format == "" || len(format) > maxFormatLen {
		return fmt.Errorf("spool: format tag %q must be 1 to %d bytes", format, maxFormatLen)
	}
	if samples < 0 {
		return fmt.Errorf("spool: negative sample count %d", samples)
	}
	return nil
}

// decodeRecord parses and verifies the content of a record file. Body
// aliases b. The error says what is wrong, for the log; it never panics,
// whatever b holds.
func decodeRecord(b []byte) (Record, error) {
	if err := checkHeader(b[:min(len(b), recordHeader)], int64(len(b))); err != nil {
		return Record{}, err
	}
	end := len(b) - recordTrailer
	if got, want := crc32.Checksum(b[:end], castagnoli), binary.LittleEndian.Uint32(b[end:]); got != want {
		return Record{}, fmt.Errorf("checksum mismatch: computed %08x, stored %08x", got, want)
	}
	// The checksum holds, so what follows catches a writer's bug, not a torn
	// write.
	if b[5] == 0 || b[6] != 0 || b[7] != 0 {
		return Record{}, errors.New("invalid header: empty format tag or reserved bytes set")
	}
	samples := binary.LittleEndian.Uint64(b[16:])
	if samples > math.MaxInt {
		return Record{}, fmt.Errorf("invalid header: %d samples", samples)
	}
	rec := headerFields(b)
	flen := int(b[5])
	rec.Format = string(b[recordHeader : recordHeader+flen])
	rec.Body = b[recordHeader+flen : end]
	return rec, nil
}

// checkHeader checks what the header alone tells of a record file of size
// bytes: magic, version and lengths. A reader calls it before it reads the
// rest, so a junk file of any size costs one header read.
func checkHeader(h []byte, size int64) error {
	const least = recordHeader + 1 + recordTrailer
	if size < least || len(h) < recordHeader {
		return fmt.Errorf("truncated: %d bytes, a record has at least %d", size, least)
	}
	if string(h[:4]) != recordMagic {
		return fmt.Errorf("not a record: magic %q", h[:4])
	}
	if h[4] != recordVersion {
		return fmt.Errorf("unknown record version %d", h[4])
	}
	flen := uint64(h[5])
	blen := binary.LittleEndian.Uint64(h[32:])
	// Compared one by one, so that a huge blen cannot overflow the sum.
	if blen > uint64(size) || recordHeader+flen+blen+recordTrailer != uint64(size) {
		return fmt.Errorf("truncated or overlong: the header gives %d bytes of format tag and %d of body, the file has %d bytes in all", flen, blen, size)
	}
	return nil
}

// headerFields decodes seq, samples and created from a header checkHeader
// passed.
func headerFields(h []byte) Record {
	return Record{
		Seq:     binary.LittleEndian.Uint64(h[8:]),
		Samples: int(binary.LittleEndian.Uint64(h[16:])),
		Created: time.Unix(0, int64(binary.LittleEndian.Uint64(h[24:]))),
	}
}

func encodeState(data []byte) []byte {
	b := make([]byte, stateHeader, stateHeader+len(data)+recordTrailer)
	copy(b, stateMagic)
	b[4] = stateVersion
	binary.LittleEndian.PutUint64(b[8:], uint64(len(data)))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeState parses and verifies the content of a state file; the data
// aliases b. It never panics, whatever b holds.
func decodeState(b []byte) ([]byte, error) {
	if len(b) < stateHeader+recordTrailer {
		return nil, fmt.Errorf("truncated: %d bytes", len(b))
	}
	if string(b[:4]) != stateMagic || b[4] != stateVersion || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, fmt.Errorf("not a state file of version %d: header %x", stateVersion, b[:8])
	}
	n := binary.LittleEndian.Uint64(b[8:])
	if n > uint64(len(b)) || stateHeader+n+recordTrailer != uint64(len(b)) {
		return nil, fmt.Errorf("truncated or overlong: the header gives %d bytes of data, the file has %d bytes in all", n, len(b))
	}
	end := len(b) - recordTrailer
	if got, want := crc32.Checksum(b[:end], castagnoli), binary.LittleEndian.Uint32(b[end:]); got != want {
		return nil, fmt.Errorf("checksum mismatch: computed %08x, stored %08x", got, want)
	}
	return b[stateHeader:end], nil
}

// recordSuffix ends the name of every record file.
const recordSuffix = ".rec"

// recordName is the file name of a record: seq (20 digits, so that names
// sort as seqs do), samples and created (Unix nanoseconds), which is what
// Pending reports without opening the file. Read checks the name against
// the checksummed header.
func recordName(seq uint64, samples int, created time.Time) string {
	return fmt.Sprintf("%020d-%d-%d%s", seq, samples, created.UnixNano(), recordSuffix)
}

// parseRecordName is the inverse of recordName; ok is false for any name
// recordName does not produce.
func parseRecordName(name string) (seq uint64, samples int, created time.Time, ok bool) {
	rest, found := strings.CutSuffix(name, recordSuffix)
	if !found {
		return 0, 0, time.Time{}, false
	}
	// created may be negative, so split off two fields only.
	parts := strings.SplitN(rest, "-", 3)
	if len(parts) != 3 {
		return 0, 0, time.Time{}, false
	}
	seq, err1 := strconv.ParseUint(parts[0], 10, 64)
	samples, err2 := strconv.Atoi(parts[1])
	nanos, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || samples < 0 {
		return 0, 0, time.Time{}, false
	}
	created = time.Unix(0, nanos)
	if recordName(seq, samples, created) != name { // "+1", "007", ...
		return 0, 0, time.Time{}, false
	}
	return seq, samples, created, true
}
