package main

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// walkWriteRequest decodes a prompb.WriteRequest field by field and counts
// its series and samples (floats and histograms). It checks what a
// receiver must check before storing (the wire format, and that label
// names and values are UTF-8) but builds no Go values: gogo's Unmarshal
// allocates every label string, which for a million series costs the
// receiver more CPU than the clients measured against it, so the bench
// would time the receiver.
func walkWriteRequest(b []byte) (series, samples int, err error) {
	err = walkMessage(b, func(num protowire.Number, v []byte) error {
		if num != 1 { // metadata and anything else: already well-formed
			return nil
		}
		series++
		return walkMessage(v, func(num protowire.Number, v []byte) error {
			switch num {
			case 1: // Label
				return walkMessage(v, func(_ protowire.Number, s []byte) error {
					if !utf8.Valid(s) {
						return errors.New("label name or value is not UTF-8")
					}
					return nil
				})
			case 2, 4: // Sample, Histogram
				samples++
				return walkMessage(v, func(protowire.Number, []byte) error { return nil })
			}
			return nil
		})
	})
	return series, samples, err
}

// walkMessage calls fn with each field of message b; v is the payload of a
// length-delimited field, nil for the others.
func walkMessage(b []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}
