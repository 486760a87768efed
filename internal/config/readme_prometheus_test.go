package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
)

// TestReadmePrometheusKeys: README's "Coming from Prometheus agent" says what
// liftpush does with every key of Prometheus 3.16's scrape_config and
// global block, and with every server block. A key Prometheus adds in an
// update must be documented there (and decided on) before the test passes.
func TestReadmePrometheusKeys(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Coming from Prometheus agent")
	if start < 0 {
		t.Fatal(`README has no "## Coming from Prometheus agent"`)
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n## "); end > 0 {
		section = section[:end+1]
	}
	check := func(where string, typ reflect.Type) {
		t.Helper()
		n := 0
		for f := range typ.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue // inline (the HTTP client keys, listed as a group) or not YAML
			}
			n++
			if !strings.Contains(section, "`"+key+"`") {
				t.Errorf("%s key %s is not in README's \"Coming from Prometheus agent\"", where, key)
			}
		}
		if n < 5 {
			t.Fatalf("%s: only %d keys found; the type changed shape", where, n)
		}
	}
	check("scrape_config", reflect.TypeFor[promconfig.ScrapeConfig]())
	check("global", reflect.TypeFor[PrometheusGlobal]())
	check("top-level", reflect.TypeFor[ServerBlocks]())
	for _, sd := range SupportedSD {
		if !strings.Contains(section, "`"+sd+"`") {
			t.Errorf("service discovery %s is not in the section", sd)
		}
	}
	for _, want := range []string{"64 MiB", "`track_timestamps_staleness`", "first complete answer"} {
		if !strings.Contains(section, want) {
			t.Errorf("the section does not say %q", want)
		}
	}
}
