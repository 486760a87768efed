package exposition

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// The exposition formats a file can be in.
const (
	ContentTypeText        = "text/plain; version=0.0.4"
	ContentTypeOpenMetrics = "application/openmetrics-text; version=1.0.0"
)

// ContentTypeOf guesses the content type of an exposition file: OpenMetrics
// ends with "# EOF", anything else is read as the Prometheus text format.
func ContentTypeOf(b []byte) string {
	if bytes.HasSuffix(bytes.TrimRight(b, "\n"), []byte("# EOF")) {
		return ContentTypeOpenMetrics
	}
	return ContentTypeText
}

// DetectContentType is ContentTypeOf for a file of the given size, reading
// only its tail: OpenMetrics iff the content ends with "# EOF", optionally
// followed by newlines. A failing read is taken as "not OpenMetrics"; the
// reads that follow will report it.
func DetectContentType(r io.ReaderAt, size int64) string {
	var buf [4096]byte
	// Find the end of the content without its trailing newlines.
	end := size
	for end > 0 {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if n, _ := r.ReadAt(b, start); n < len(b) {
			return ContentTypeOf(nil)
		}
		t := bytes.TrimRight(b, "\n")
		if len(t) > 0 {
			end = start + int64(len(t))
			break
		}
		end = start
	}
	if end == 0 {
		return ContentTypeOf(nil)
	}
	start := max(0, end-int64(len("# EOF")))
	b := buf[:end-start]
	if n, _ := r.ReadAt(b, start); n < len(b) {
		return ContentTypeOf(nil)
	}
	return ContentTypeOf(b)
}

// sniffSize is how much of a stream Sniff looks at: a stream cannot be read
// from its end, and what was looked at must be read again from the start.
const sniffSize = 4 << 20

// formats maps the format names a user may give to their content types;
// any other name (auto) is sniffed.
var formats = map[string]string{"text": ContentTypeText, "openmetrics": ContentTypeOpenMetrics}

// Sniff returns a reader over all of r and the content type of the
// exposition in it: the one format names ("text" or "openmetrics"), else
// (auto) ContentTypeOf its first 4 MiB, so that larger input is read as text.
// A read error is returned as is.
func Sniff(r io.Reader, format string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	if ct := formats[format]; ct != "" {
		return br, ct, nil
	}
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	return br, ContentTypeOf(head), nil
}

// Open opens the exposition file name, or standard input for "-", and tells
// its content type as Sniff does, except that a file is read from its end
// (DetectContentType), whatever its size. The returned func closes the file.
func Open(name, format string) (io.Reader, string, func(), error) {
	if name == "-" {
		r, ct, err := Sniff(os.Stdin, format)
		if err != nil {
			return nil, "", nil, fmt.Errorf("reading standard input: %w", err)
		}
		return r, ct, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", nil, fmt.Errorf("reading %s: %w", name, err)
	}
	ct := formats[format]
	if ct == "" {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("reading %s: %w", name, err)
		}
		ct = DetectContentType(f, st.Size())
	}
	return f, ct, func() { f.Close() }, nil
}
