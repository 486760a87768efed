package testinfra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Prometheus is a real Prometheus server (the Debian package) with the
// remote-write receiver enabled and a TSDB in a temp dir.
type Prometheus struct {
	URL string

	// proc is the server's process, when StartPrometheus started it: only
	// then can Stop and Start take it down and bring it back.
	proc *promProcess
	// orgID, when set, goes in X-Scope-OrgID: the query API of one Mimir
	// tenant (see Mimir.Tenant).
	orgID string
}

// WriteURL is the remote-write endpoint.
func (p *Prometheus) WriteURL() string { return p.URL + "/api/v1/write" }

// StartPrometheus starts Prometheus on a free loopback port. scrapeConfigs,
// when not empty, is YAML put under scrape_configs (e.g. to scrape a
// Pushgateway).
func StartPrometheus(t testing.TB, scrapeConfigs string) *Prometheus {
	t.Helper()
	return StartPrometheusWith(t, PrometheusOptions{ScrapeConfigs: scrapeConfigs})
}

// PrometheusOptions is what StartPrometheusWith puts in prometheus.yml.
type PrometheusOptions struct {
	// ScrapeConfigs, when not empty, is YAML put under scrape_configs.
	ScrapeConfigs string
	// RuleFiles are rule files (plain Prometheus format) to load.
	RuleFiles []string
	// EvaluationInterval is global.evaluation_interval; zero keeps
	// Prometheus' default (1m).
	EvaluationInterval time.Duration
}

// StartPrometheusWith is StartPrometheus with rule files and an evaluation
// interval, for tests of alerts on pushed data.
func StartPrometheusWith(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "prometheus", "apt-get install -y --no-install-recommends prometheus")
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 1s\n"
	if opts.EvaluationInterval > 0 {
		cfg += fmt.Sprintf("  evaluation_interval: %s\n", model.Duration(opts.EvaluationInterval))
	}
	if len(opts.RuleFiles) > 0 {
		cfg += "rule_files:\n"
		for _, f := range opts.RuleFiles {
			cfg += fmt.Sprintf("  - %q\n", f)
		}
	}
	if opts.ScrapeConfigs != "" {
		cfg += "scrape_configs:\n" + opts.ScrapeConfigs
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	pp := newProcess(t, "prometheus", bin, dir, []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr(port),
		"--web.enable-remote-write-receiver",
	})
	p := &Prometheus{URL: "http://" + addr(port), proc: pp}
	pp.start(t)
	waitReady(t, p.URL+"/-/ready", 30*time.Second)
	return p
}

// newProcess returns the restartable process of a server, not started, its
// runs logged to <dir>/<name>.log; the log's end is shown when the test
// fails, and the process is killed when it ends.
func newProcess(t testing.TB, name, bin, dir string, args []string) *promProcess {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pp := &promProcess{bin: bin, dir: dir, args: args, log: logf}
	t.Cleanup(func() {
		pp.kill()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("%s log:\n%s", name, lastBytes(b, 4000))
			}
		}
	})
	return pp
}

// promProcess is the process of a restartable server (Prometheus, Mimir):
// the same binary and arguments, so the same ports and data, each time it
// starts.
type promProcess struct {
	bin, dir string
	args     []string
	log      *os.File // every run appends to it

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited; nil before the first start
}

func (pp *promProcess) start(t testing.TB) {
	t.Helper()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.done != nil {
		select {
		case <-pp.done:
		default:
			t.Fatalf("%s (pid %d) is already running", pp.name(), pp.cmd.Process.Pid)
		}
	}
	cmd := exec.Command(pp.bin, pp.args...)
	cmd.Dir = pp.dir
	cmd.Stdout, cmd.Stderr = pp.log, pp.log
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", pp.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	pp.cmd, pp.done = cmd, done
}

// stop sends SIGTERM and waits for the exit, for up to within; past it,
// it kills the process and fails the test.
func (pp *promProcess) stop(t testing.TB, within time.Duration) {
	t.Helper()
	pp.mu.Lock()
	cmd, done := pp.cmd, pp.done
	pp.mu.Unlock()
	if done == nil {
		t.Fatalf("%s was never started", pp.name())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("stopping %s (pid %d): %v", pp.name(), cmd.Process.Pid, err)
	}
	select {
	case <-done:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s (pid %d) still running %s after SIGTERM; killed it", pp.name(), cmd.Process.Pid, within)
	}
}

func (pp *promProcess) name() string { return filepath.Base(pp.bin) }

// kill ends the running process, if any, and waits for it.
func (pp *promProcess) kill() {
	pp.mu.Lock()
	cmd, done := pp.cmd, pp.done
	pp.mu.Unlock()
	if done == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Stop shuts the server down gracefully (SIGTERM, as systemd does) and
// waits until it has exited: its port refuses connections and its TSDB is
// closed. Start brings it back. Only a server from StartPrometheus can be
// stopped.
func (p *Prometheus) Stop(t testing.TB) {
	t.Helper()
	if p.proc == nil {
		t.Fatalf("prometheus at %s was not started by StartPrometheus; it cannot be stopped", p.URL)
	}
	p.proc.stop(t, 30*time.Second)
}

// Start starts a stopped server again, with the same arguments, port and
// TSDB dir (so it keeps what it had stored), and waits until it is ready.
func (p *Prometheus) Start(t testing.TB) {
	t.Helper()
	if p.proc == nil {
		t.Fatalf("prometheus at %s was not started by StartPrometheus; it cannot be restarted", p.URL)
	}
	fmt.Fprintf(p.proc.log, "--- testinfra: restarting prometheus at %s ---\n", time.Now().Format(time.RFC3339Nano))
	p.proc.start(t)
	waitReady(t, p.URL+"/-/ready", 30*time.Second)
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

// queryResult is one series of an /api/v1/query answer: a vector's Value
// or a matrix's Values.
type queryResult struct {
	Metric map[string]string    `json:"metric"`
	Value  [2]json.RawMessage   `json:"value"`
	Values [][2]json.RawMessage `json:"values"`
}

// query runs q through /api/v1/query and checks the result type.
func (p *Prometheus) query(t testing.TB, q, resultType string) []queryResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	if p.orgID != "" {
		req.Header.Set("X-Scope-OrgID", p.orgID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string        `json:"resultType"`
			Result     []queryResult `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %q: %s, decoding: %v", q, resp.Status, err)
	}
	if body.Status != "success" {
		t.Fatalf("query %q: %s", q, body.Error)
	}
	if body.Data.ResultType != resultType {
		t.Fatalf("query %q: result type %s, want %s", q, body.Data.ResultType, resultType)
	}
	return body.Data.Result
}

// Query runs an instant PromQL query and returns the vector.
func (p *Prometheus) Query(t testing.TB, q string) []Sample {
	t.Helper()
	res := p.query(t, q, "vector")
	out := make([]Sample, 0, len(res))
	for _, r := range res {
		v, err := strconv.ParseFloat(strings.Trim(string(r.Value[1]), `"`), 64)
		if err != nil {
			t.Fatalf("query %q: value %s: %v", q, r.Value[1], err)
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

// Alert is one active alert of /api/v1/alerts.
type Alert struct {
	Labels map[string]string `json:"labels"`
	// State is "pending" or "firing".
	State string `json:"state"`
}

// Alerts returns the active (pending or firing) alerts.
func (p *Prometheus) Alerts(t testing.TB) []Alert {
	t.Helper()
	resp, err := http.Get(p.URL + "/api/v1/alerts")
	if err != nil {
		t.Fatalf("alerts: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("alerts: decoding: %v", err)
	}
	if body.Status != "success" {
		t.Fatalf("alerts: status %q", body.Status)
	}
	return body.Data.Alerts
}
