package testinfra

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v2"
)

// RuleGroups reads a PrometheusRule manifest (examples/prometheus-rules.yaml)
// and returns its spec, which is a Prometheus rule file: what promtool and a
// plain Prometheus load.
func RuleGroups(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Spec yaml.MapSlice `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &pr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
