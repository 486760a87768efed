package pipeline

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/config"
)

// TestProbe: every part is probed, in pipeline order, each under its own
// timeout, and a failure says how to fix it without printing the password.
func TestProbe(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hanging.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("a 1\nb 2\n"))
	}))
	defer target.Close()
	cfg, err := config.Load([]byte(`
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["` + strings.TrimPrefix(target.URL, "http://") + `"]}]
remote_write:
  - name: typo
    url: ` + notFound.URL + `/api/v1/wrte
    basic_auth: {username: u, password: hunter2}
pushgateway:
  - name: slow
    url: ` + hanging.URL + `
spool:
  dir: ` + t.TempDir() + `
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateRun(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := Probe(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler), UserAgent: "liftpush/test"}, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s; the timeout is 500ms", d)
	}
	if cfg.Spool.Dir == "" {
		t.Error("Probe changed the caller's config")
	}
	want := []struct{ part, contains string }{
		{"scrape/app", "HTTP 200, text/plain; charset=utf-8, 2 samples"},
		{"pushgateway/slow", "no answer within --probe.timeout=500ms"},
		{"remote_write/typo", "HTTP status 404 Not Found"},
	}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(res), len(want), res)
	}
	for i, w := range want {
		r := res[i]
		text := r.Detail
		if r.Err != nil {
			text = r.Err.Error()
		}
		if r.Part != w.part || !strings.Contains(text, w.contains) {
			t.Errorf("result %d = %s %q, want %s ... %q", i, r.Part, text, w.part, w.contains)
		}
		if strings.Contains(text, "hunter2") {
			t.Errorf("%s: the password is printed: %s", r.Part, text)
		}
	}
	if err := res[2].Err; err == nil || !strings.Contains(err.Error(), "check the URL's path") {
		t.Errorf("404 without the fix: %v", err)
	}
}
