package testinfra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Prometheus is a real Prometheus server (the Debian package) with the
// remote-write receiver enabled and a TSDB in a temp dir.
type Prometheus struct {
	URL string
}

// WriteURL is the remote-write endpoint.
func (p *Prometheus) WriteURL() string { return p.URL + "/api/v1/write" }

// StartPrometheus starts Prometheus on a free loopback port. scrapeConfigs,
// when not empty, is YAML put under scrape_configs (e.g. to scrape a
// Pushgateway).
func StartPrometheus(t testing.TB, scrapeConfigs string) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "prometheus", "apt-get install -y --no-install-recommends prometheus")
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 1s\n"
	if scrapeConfigs != "" {
		cfg += "scrape_configs:\n" + scrapeConfigs
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	startProcess(t, dir, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr(port),
		"--web.enable-remote-write-receiver",
	)
	p := &Prometheus{URL: "http://" + addr(port)}
	waitReady(t, p.URL+"/-/ready", 30*time.Second)
	return p
}

func waitReady(t testing.TB, u string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s", u, within)
}

// Sample is one element of an instant-vector query result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query and returns the vector.
func (p *Prometheus) Query(t testing.TB, q string) []Sample {
	t.Helper()
	resp, err := http.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %q: decoding: %v", q, err)
	}
	if body.Status != "success" {
		t.Fatalf("query %q: %s", q, body.Error)
	}
	if body.Data.ResultType != "vector" {
		t.Fatalf("query %q: result type %s, want vector", q, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %q: value %v: %v", q, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out
}

// Value runs q, which must return exactly one sample, and returns its value.
func (p *Prometheus) Value(t testing.TB, q string) float64 {
	t.Helper()
	res := p.Query(t, q)
	if len(res) != 1 {
		t.Fatalf("query %q: got %d samples, want 1: %v", q, len(res), res)
	}
	return res[0].Value
}

// String renders a sample like PromQL does, for diffs.
func (s Sample) String() string { return fmt.Sprintf("%v %g", s.Metric, s.Value) }
