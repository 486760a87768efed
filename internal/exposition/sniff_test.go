package exposition

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestContentTypeOf(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"openmetrics", "a_total 1\n# EOF\n", "application/openmetrics-text; version=1.0.0"},
		{"openmetrics no trailing newline", "a 1\n# EOF", "application/openmetrics-text; version=1.0.0"},
		{"text", "a 1\n", "text/plain; version=0.0.4"},
		{"empty", "", "text/plain; version=0.0.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContentTypeOf([]byte(tt.body)); got != tt.want {
				t.Errorf("ContentTypeOf(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestDetectContentType(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{name: "empty", body: "", want: ctText},
		{name: "text", body: "a 1\n", want: ctText},
		{name: "openmetrics", body: "a 1\n# EOF\n", want: ctOpenMetrics},
		{name: "openmetrics without newline", body: "# EOF", want: ctOpenMetrics},
		{name: "openmetrics with many newlines", body: "a 1\n# EOF" + strings.Repeat("\n", 10000), want: ctOpenMetrics},
		{name: "only newlines", body: strings.Repeat("\n", 5000), want: ctText},
		{name: "EOF in a comment", body: "a 1\n# not EOF\n# EOF is not last\n", want: ctText},
		{name: "EOF across a block", body: strings.Repeat("x", 4094) + "# EOF", want: ctOpenMetrics},
		{name: "short", body: "EOF\n", want: ctText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectContentType(strings.NewReader(tt.body), int64(len(tt.body)))
			if got != tt.want {
				t.Errorf("DetectContentType = %q, want %q", got, tt.want)
			}
			if want := ContentTypeOf([]byte(tt.body)); got != want {
				t.Errorf("DetectContentType = %q, ContentTypeOf %q", got, want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	big := strings.Repeat("a 1\n", sniffSize/4) + "# EOF\n"
	tests := []struct {
		name, body, format, want string
	}{
		{name: "auto text", body: "a 1\n", format: "auto", want: ctText},
		{name: "auto openmetrics", body: "a 1\n# EOF\n", format: "auto", want: ctOpenMetrics},
		{name: "auto empty", body: "", format: "auto", want: ctText},
		// Only the first 4 MiB are looked at.
		{name: "auto beyond the sniffed head", body: big, format: "auto", want: ctText},
		{name: "text given", body: "a 1\n# EOF\n", format: "text", want: ctText},
		{name: "openmetrics given", body: "a 1\n", format: "openmetrics", want: ctOpenMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ct, err := Sniff(strings.NewReader(tt.body), tt.format)
			if err != nil {
				t.Fatalf("Sniff: %v", err)
			}
			if ct != tt.want {
				t.Errorf("content type = %q, want %q", ct, tt.want)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if string(got) != tt.body {
				t.Errorf("reader yields %d bytes, want the %d of the input", len(got), len(tt.body))
			}
		})
	}
}

func TestSniffReadError(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := Sniff(iotest.ErrReader(boom), "auto"); !errors.Is(err, boom) {
		t.Errorf("Sniff error = %v, want %v", err, boom)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	// A file is read from its end, whatever its size.
	big := filepath.Join(dir, "big.prom")
	if err := os.WriteFile(big, []byte(strings.Repeat("a 1\n", sniffSize/4)+"# EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{"auto": ctOpenMetrics, "text": ctText} {
		r, ct, closeFn, err := Open(big, format)
		if err != nil {
			t.Fatalf("Open(%s): %v", format, err)
		}
		if _, ok := r.(*os.File); !ok {
			t.Errorf("Open(%s) reader is %T, want the file itself", format, r)
		}
		closeFn()
		if ct != want {
			t.Errorf("Open(%s) content type = %q, want %q", format, ct, want)
		}
	}
	missing := filepath.Join(dir, "missing.prom")
	_, _, _, err := Open(missing, "auto")
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading "+missing+": ") {
		t.Errorf("Open(missing) error = %v", err)
	}
}
