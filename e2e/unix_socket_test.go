package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2EUnixSocketTarget: a target with the __unix_socket__ label is
// scraped through that socket, as Prometheus 3.16 does, not over TCP at its
// __address__ (which here answers nothing).
func TestE2EUnixSocketTarget(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE via_socket gauge\nvia_socket{path=%q} 42\n", r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	job := func(name string) string {
		return fmt.Sprintf(`  - job_name: %s
    metrics_path: /sock/metrics
    static_configs: [{targets: ["127.0.0.1:1"], labels: {__unix_socket__: %q}}]
`, name, sock)
	}
	prom := testinfra.StartPrometheus3Scraping(t, job("direct"))
	waitQuery(t, prom, `via_socket{job="direct"}`, nil)

	cfg := writeFile(t, t.TempDir(), "liftpush.yml", "scrape_configs:\n"+job("viapush")+fmt.Sprintf("remote_write:\n  - url: %s\n", prom.WriteURL()))
	if res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg); res.ExitCode != 0 {
		t.Fatalf("run --once: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	for _, job := range []string{"direct", "viapush"} {
		got := prom.Query(t, fmt.Sprintf(`via_socket{job=%q}`, job))
		if len(got) != 1 || got[0].Value != 42 || got[0].Metric["path"] != "/sock/metrics" || got[0].Metric["instance"] != "127.0.0.1:1" {
			t.Errorf("%s: %v, want one via_socket 42 with path /sock/metrics and instance 127.0.0.1:1", job, got)
		}
		if up := prom.Value(t, fmt.Sprintf(`up{job=%q}`, job)); up != 1 {
			t.Errorf("%s: up %v", job, up)
		}
	}
}
