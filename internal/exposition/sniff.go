package exposition

import (
	"bytes"
	"io"
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
