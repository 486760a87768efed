package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// promtool returns the promtool that hack/build-promtool.sh builds (make
// test-deps), $PROMTOOL when set. When it is missing the test fails under
// CI=true and is skipped elsewhere, like testinfra.RequireBinary.
func promtool(t *testing.T) string {
	t.Helper()
	return testinfra.RequireBinary(t, testinfra.Cached("PROMTOOL", "promtool-v3.16.0"), "hack/build-promtool.sh (or set PROMTOOL)")
}

// TestPromtoolRules runs `promtool test rules prometheus-rules.test.yml`
// against the spec of the PrometheusRule (issue 12), and checks that every
// alert of the rules file has a test case.
func TestPromtoolRules(t *testing.T) {
	bin := promtool(t)
	rules := testinfra.RuleGroups(t, "prometheus-rules.yaml")
	tests, err := os.ReadFile("prometheus-rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string][]byte{"prometheus-rules.rules.yml": rules, "prometheus-rules.test.yml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "test", "rules", filepath.Join(dir, "prometheus-rules.test.yml"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)

	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &alerts); err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(tests, &cases); err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, tc := range cases.Tests {
		for _, a := range tc.AlertRuleTest {
			tested[a.Alertname] = true
		}
	}
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !tested[r.Alert] {
				t.Errorf("alert %s has no case in prometheus-rules.test.yml", r.Alert)
			}
		}
	}
}
