package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	promconfig "github.com/prometheus/prometheus/config"
)

// The histogram keys of a scrape job are accepted with Prometheus 3.16's
// defaults: scraping native histograms puts protobuf first unless the job
// lists its protocols.
func TestScrapeHistogramKeys(t *testing.T) {
	c := loadValid(t, `
scrape_configs:
  - job_name: native
    scrape_native_histograms: true
    always_scrape_classic_histograms: true
    convert_classic_histograms_to_nhcb: true
    static_configs: [{targets: [a:9100]}]
  - job_name: listed
    scrape_native_histograms: true
    scrape_protocols: [OpenMetricsText1.0.0]
    static_configs: [{targets: [a:9100]}]
  - job_name: classic
    static_configs: [{targets: [a:9100]}]
remote_write: [{url: http://localhost:9090/api/v1/write}]
`)
	native, listed, classic := c.ScrapeConfigs[0], c.ScrapeConfigs[1], c.ScrapeConfigs[2]
	if !native.ScrapeNativeHistogramsEnabled() || !native.AlwaysScrapeClassicHistogramsEnabled() || !native.ConvertClassicHistogramsToNHCBEnabled() {
		t.Errorf("native job = %+v, want every histogram key set", native)
	}
	if diff := cmp.Diff(promconfig.DefaultProtoFirstScrapeProtocols, native.ScrapeProtocols); diff != "" {
		t.Errorf("native job's protocols (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]promconfig.ScrapeProtocol{promconfig.OpenMetricsText1_0_0}, listed.ScrapeProtocols); diff != "" {
		t.Errorf("listed job's protocols (-want +got):\n%s", diff)
	}
	if classic.ScrapeNativeHistogramsEnabled() || !cmp.Equal(promconfig.DefaultScrapeProtocols, classic.ScrapeProtocols) {
		t.Errorf("classic job = %+v, want the defaults", classic)
	}
}
