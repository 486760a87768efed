//go:build unix

package scrape

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A file:// job reads regular files only: a named pipe would block the
// run, /dev/zero would never end. Both fail at once, naming what they are.
func TestFileTargetNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "metrics.prom")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "is a named pipe, not a regular file"},
		{"/dev/zero", "is a device, not a regular file"},
		{t.TempDir(), "is a directory, not a regular file"},
	} {
		sc := loadScrape(t, "scrape_configs: [{job_name: f, scheme: file, metrics_path: %q}]", tc.path)
		done := make(chan error, 1)
		go func() {
			_, err := newCollector(t, sc).Collect(t.Context())
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want %q", tc.path, err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Collect still running after 10s", tc.path)
		}
	}
}

// A file larger than body_size_limit is refused from its size, unread.
func TestFileTargetOverBodySizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.prom")
	if err := os.WriteFile(path, bytes.Repeat([]byte("a 1\n"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	sc := loadScrape(t, "scrape_configs: [{job_name: f, scheme: file, metrics_path: %q, body_size_limit: 1KB}]", path)
	fams, err := newCollector(t, sc).Collect(t.Context())
	if !errors.Is(err, errBodySizeLimit) {
		t.Errorf("error %v, want body_size_limit exceeded", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="up", instance="%s", job="f"} 0`, path)) {
		t.Errorf("want up 0, got %v", series(fams))
	}
}

// A gzip bomb is cut at body_size_limit decompressed: the scrape fails
// naming the limit after reading about that much, not the whole body.
func TestGzipBombCut(t *testing.T) {
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	line := []byte("# HELP x " + strings.Repeat("a", 1<<16) + "\n")
	for range 1 << 12 { // 256 MiB decompressed, a few hundred KiB on the wire
		_, _ = gz.Write(line)
	}
	_ = gz.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(bomb.Bytes())
	}))
	defer srv.Close()
	sc := loadScrape(t, "scrape_configs: [{job_name: j, body_size_limit: 4MB, extra_scrape_metrics: true, static_configs: [{targets: [%q]}]}]", hostOf(t, srv))
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "body_size_limit exceeded") {
		t.Fatalf("error %v, want body_size_limit exceeded", err)
	}
	host := hostOf(t, srv)
	for _, want := range []string{
		fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 0`, host),
		fmt.Sprintf(`{__name__="scrape_body_size_bytes", instance="%s", job="j"} -1`, host),
	} {
		if !slices.Contains(series(fams), want) {
			t.Errorf("missing %s in %v", want, series(fams))
		}
	}
}

// A label over the labels library's limit fails that target, not the job.
func TestHugeLabelFailsOneTarget(t *testing.T) {
	good := httptest.NewServer(&fakeTarget{body: "ok 1\n"})
	defer good.Close()
	bad := httptest.NewServer(&fakeTarget{body: `x{v="` + strings.Repeat("v", 17<<20) + "\"} 1\n"})
	defer bad.Close()
	gh, bh := hostOf(t, good), hostOf(t, bad)
	sc := loadScrape(t, "scrape_configs: [{job_name: j, body_size_limit: 64MB, static_configs: [{targets: [%q, %q]}]}]", bh, gh)
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), bh) {
		t.Errorf("error %v, want the bad target named", err)
	}
	if len(err.Error()) > 2048 {
		t.Errorf("error is %d bytes long, want a short one", len(err.Error()))
	}
	got := series(fams)
	for _, want := range []string{
		fmt.Sprintf(`{__name__="ok", instance="%s", job="j"} 1`, gh),
		fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 0`, bh),
		fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 1`, gh),
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}
}
