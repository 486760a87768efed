// Package e2e runs the built liftpush binary against real Prometheus and
// Pushgateway processes.
package e2e

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// writeFile writes content under dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeCA writes the test server's certificate as a PEM CA file.
func writeCA(t *testing.T, dir string, srv *httptest.Server) string {
	t.Helper()
	return writeFile(t, dir, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
}

// waitQuery polls q on prom until it returns at least one sample and check
// accepts the result, for up to 10 s (a Prometheus scraping a Pushgateway
// needs a scrape interval or two).
func waitQuery(t *testing.T, prom *testinfra.Prometheus, q string, check func([]testinfra.Sample) bool) []testinfra.Sample {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var res []testinfra.Sample
	for {
		res = prom.Query(t, q)
		if len(res) > 0 && (check == nil || check(res)) {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q: still %v after 10s", q, res)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// valueIs accepts a single-sample result with value v.
func valueIs(v float64) func([]testinfra.Sample) bool {
	return func(s []testinfra.Sample) bool { return len(s) == 1 && s[0].Value == v }
}

// labelSets renders each sample's labels as a sorted string, for comparing
// what two Prometheus servers hold. A bucket's le is compared as a number:
// the scrape parser of Prometheus 3 (which liftpush uses) writes le="60.0"
// where the Pushgateway re-exposes le="60", and a Prometheus 2 reading the
// Pushgateway keeps that spelling.
func labelSets(res []testinfra.Sample) []string {
	var out []string
	for _, s := range res {
		var kv []string
		for k, v := range s.Metric {
			if k == "le" {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					v = strconv.FormatFloat(f, 'g', -1, 64)
				}
			}
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		out = append(out, strings.Join(kv, ","))
	}
	sort.Strings(out)
	return out
}

// chainloopExposition is what Chainloop's /prom/<org>/metrics serves: a
// gauge per workflow and a run duration histogram (buckets 10..1200 s).
const chainloopExposition = `# HELP chainloop_workflow_up Indicate if the last run was successful.
# TYPE chainloop_workflow_up gauge
chainloop_workflow_up{org="acme",runner="github",workflow="build"} 1
chainloop_workflow_up{org="acme",runner="dagger",workflow="deploy"} 0
# HELP chainloop_workflow_run_duration_seconds Duration of the workflow runs.
# TYPE chainloop_workflow_run_duration_seconds histogram
chainloop_workflow_run_duration_seconds_bucket{org="acme",runner="github",status="success",workflow="build",le="10"} 1
chainloop_workflow_run_duration_seconds_bucket{org="acme",runner="github",status="success",workflow="build",le="60"} 3
chainloop_workflow_run_duration_seconds_bucket{org="acme",runner="github",status="success",workflow="build",le="300"} 4
chainloop_workflow_run_duration_seconds_bucket{org="acme",runner="github",status="success",workflow="build",le="1200"} 4
chainloop_workflow_run_duration_seconds_bucket{org="acme",runner="github",status="success",workflow="build",le="+Inf"} 4
chainloop_workflow_run_duration_seconds_sum{org="acme",runner="github",status="success",workflow="build"} 250
chainloop_workflow_run_duration_seconds_count{org="acme",runner="github",status="success",workflow="build"} 4
`

// bearerServer is an HTTPS endpoint like Chainloop's control plane or the
// worker pool controller: it serves body at path to the bearer token
// only, 401 otherwise.
func bearerServer(t *testing.T, path, token, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized: invalid API token", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startSpaceliftDemo starts the Spacelift fake with the demo account (key
// "demo", secret "demo-secret"); it stops at cleanup.
func startSpaceliftDemo(t *testing.T) *spacelifttest.Server {
	t.Helper()
	data, err := spacelifttest.Fixture("demo")
	if err != nil {
		t.Fatal(err)
	}
	fake, err := spacelifttest.NewServer(spacelifttest.Options{KeyID: "demo", Secret: "demo-secret", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// spaceliftBlock is the config block of a Spacelift fake at url with the
// demo key ID and the given secret (in a file).
func spaceliftBlock(t *testing.T, url, secret string) string {
	t.Helper()
	return "spacelift:\n  endpoint: " + url + "\n  insecure_http: true\n  api_key_id: demo\n  api_key_secret_file: " + tempFile(t, "secret", secret+"\n")
}
