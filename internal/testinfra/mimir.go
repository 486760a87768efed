package testinfra

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

// MimirCommit is the grafana/mimir commit hack/build-mimir.sh builds.
const MimirCommit = "aced80d74930"

// mimirBinary finds Mimir: $LIFTPUSH_MIMIR, else the path
// hack/build-mimir.sh caches it under.
func mimirBinary() string { return Cached("LIFTPUSH_MIMIR", "mimir-"+MimirCommit) }

// Mimir is a real Grafana Mimir, the receiver behind Grafana Cloud: one
// process with every component (-target=all), multi-tenant, its blocks on
// the filesystem in a temp dir.
type Mimir struct {
	// URL is the HTTP base, e.g. http://127.0.0.1:40123.
	URL string

	proc    *promProcess
	started bool // once: a restart is marked in the log
}

// MimirOptions shapes the Mimir StartMimir starts.
type MimirOptions struct {
	// Overrides are per-tenant limits, Mimir's runtime config `overrides`
	// block, e.g. {"limited": {"ingestion_rate": 1000,
	// "ingestion_burst_size": 1500}}.
	Overrides map[string]map[string]any
	// Args are extra command-line flags, e.g.
	// -distributor.retry-after-header.min-backoff=1s for Retry-After
	// answers shorter than the 6 s default.
	Args []string
}

// StartMimir starts Mimir on free loopback ports (HTTP, gRPC, memberlist)
// and waits until GET /ready answers 200. Like RequireBinary, a missing
// binary fails the test under CI=true and skips it elsewhere. Stop and
// Start (or Restart) bring it down and back on the same ports and data.
func StartMimir(t testing.TB, opts MimirOptions) *Mimir {
	t.Helper()
	bin := RequireBinary(t, mimirBinary(), "hack/build-mimir.sh (or set LIFTPUSH_MIMIR)")
	dir := t.TempDir()
	rt, err := json.Marshal(map[string]any{"overrides": opts.Overrides}) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	overrides := filepath.Join(dir, "overrides.yml")
	if err := os.WriteFile(overrides, rt, 0o600); err != nil {
		t.Fatal(err)
	}
	httpPort, grpcPort, gossipPort := FreePort(t), FreePort(t), FreePort(t)
	cfg := filepath.Join(dir, "mimir.yml")
	if err := os.WriteFile(cfg, []byte(mimirConfig(dir, httpPort, grpcPort, gossipPort, overrides)), 0o600); err != nil {
		t.Fatal(err)
	}
	pp := newProcess(t, "mimir", bin, dir, append([]string{"-config.file=" + cfg}, opts.Args...))
	m := &Mimir{URL: "http://" + addr(httpPort), proc: pp}
	m.Start(t)
	return m
}

// mimirConfig is the single-process config of the recipe: every ring on
// memberlist over loopback, storage under dir, nothing leaves the machine.
func mimirConfig(dir string, httpPort, grpcPort, gossipPort int, overrides string) string {
	d := func(p string) string { return filepath.Join(dir, p) }
	ring := "{instance_addr: 127.0.0.1, kvstore: {store: memberlist}}"
	return fmt.Sprintf(`multitenancy_enabled: true
target: all
server: {http_listen_address: 127.0.0.1, http_listen_port: %d, grpc_listen_address: 127.0.0.1, grpc_listen_port: %d, log_level: warn}
usage_stats: {enabled: false}
activity_tracker: {filepath: %q}
common:
  storage: {backend: filesystem, filesystem: {dir: %q}}
blocks_storage: {storage_prefix: blocks, tsdb: {dir: %q}, bucket_store: {sync_dir: %q}}
memberlist: {bind_addr: [127.0.0.1], bind_port: %d, join_members: ["127.0.0.1:%d"]}
ingester:
  ring: {instance_addr: 127.0.0.1, kvstore: {store: memberlist}, replication_factor: 1, min_ready_duration: 0s, final_sleep: 0s}
distributor: {ring: %s}
store_gateway: {sharding_ring: {instance_addr: 127.0.0.1, kvstore: {store: memberlist}, replication_factor: 1}}
compactor: {sharding_ring: %s, data_dir: %q}
ruler: {ring: %s, rule_path: %q}
# Without it the query path hangs: the frontend advertises a non-loopback IP.
frontend: {address: 127.0.0.1}
ruler_storage: {backend: filesystem, filesystem: {dir: %q}}
runtime_config: {file: %q}
`, httpPort, grpcPort, d("activity.log"), d("data"), d("tsdb"), d("tsdb-sync"), gossipPort, gossipPort,
		ring, ring, d("compactor"), ring, d("ruler"), d("rules"), overrides)
}

// PushURL is the remote-write endpoint (1.0 and 2.0). Every request needs
// an X-Scope-OrgID header, the tenant; without it Mimir answers 401.
func (m *Mimir) PushURL() string { return m.URL + "/api/v1/push" }

// Tenant is the Prometheus query API (/prometheus/api/v1/...) as tenant id
// sees it: Query, Value and RawSamples send X-Scope-OrgID: id.
func (m *Mimir) Tenant(id string) *Prometheus {
	return &Prometheus{URL: m.URL + "/prometheus", orgID: id}
}

// Stop shuts Mimir down gracefully (SIGTERM) and waits until it has
// exited. The ingester keeps what it took in its WAL, so Start gets it
// back.
func (m *Mimir) Stop(t testing.TB) {
	t.Helper()
	m.proc.stop(t, time.Minute)
}

// Start starts a stopped Mimir again, on the same ports and data dir, and
// waits until it is ready.
func (m *Mimir) Start(t testing.TB) {
	t.Helper()
	if m.started {
		fmt.Fprintf(m.proc.log, "--- testinfra: restarting mimir at %s ---\n", time.Now().Format(time.RFC3339Nano))
	}
	m.proc.start(t)
	m.started = true
	// The ingester turns ACTIVE, and the querier sees it, a few seconds in.
	waitReady(t, m.URL+"/ready", 2*time.Minute)
}

// Restart is Stop then Start.
func (m *Mimir) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	m.Start(t)
}

// Counter sums the samples of Mimir's own metric name (from its /metrics)
// whose labels include every pair of labels, e.g.
// cortex_discarded_samples_total{reason="sample-out-of-order",user="team-a"}.
// It is 0 when none matches: Mimir creates a series on its first event.
func (m *Mimir) Counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(m.URL + "/metrics")
	if err != nil {
		t.Fatalf("mimir /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mimir /metrics: %s, %v", resp.Status, err)
	}
	var sum float64
	_, err = exposition.Parse(b, exposition.ContentTypeText, exposition.ParseOptions{}, func(f metric.Family) error {
		for _, s := range f.Samples {
			lm := s.Labels.Map()
			if lm["__name__"] != name {
				continue
			}
			match := true
			for k, v := range labels {
				match = match && lm[k] == v
			}
			if match {
				sum += s.Value
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("mimir /metrics: %v", err)
	}
	return sum
}
