package testinfra

import "testing"

// StartPrometheus3Scraping is StartPrometheus3 with scrapeConfigs (YAML put
// under scrape_configs, scraped every second): the reference that liftpush's
// own scrape of the same targets is compared with.
func StartPrometheus3Scraping(t testing.TB, scrapeConfigs string, features ...string) *Prometheus {
	t.Helper()
	return StartPrometheus3With(t, "global:\n  scrape_interval: 1s\nscrape_configs:\n"+scrapeConfigs, features...)
}
