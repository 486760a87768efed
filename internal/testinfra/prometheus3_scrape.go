package testinfra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartPrometheus3Scraping is StartPrometheus3 with scrapeConfigs (YAML put
// under scrape_configs, scraped every second): the reference that liftpush's
// own scrape of the same targets is compared with.
func StartPrometheus3Scraping(t testing.TB, scrapeConfigs string, features ...string) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, prometheus3Binary(), "hack/build-prometheus3.sh (or set LIFTPUSH_PROMETHEUS3)")
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 1s\nscrape_configs:\n" + scrapeConfigs
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	args := []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr(port),
		"--web.enable-remote-write-receiver",
	}
	if len(features) > 0 {
		args = append(args, "--enable-feature="+strings.Join(features, ","))
	}
	startProcess(t, dir, bin, args...)
	p := &Prometheus{URL: "http://" + addr(port)}
	waitReady(t, p.URL+"/-/ready", 30*time.Second)
	return p
}
