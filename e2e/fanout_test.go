package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// TestE2EFanOut delivers one cycle to a real Prometheus (remote-write), a real
// Pushgateway and a remote-write receiver that never answers. The two real
// ones get their data within their budgets, the hanging one is reported in
// the summary line, and the run exits 1.
func TestE2EFanOut(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	prom := testinfra.StartPrometheus(t, "")
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	// Unblock handlers before Close waits for them.
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })

	dir := t.TempDir()
	file := writeFile(t, dir, "fan.prom", "fanout_value{shard=\"a\"} 42\n")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 6s}
scrape_configs:
  - {job_name: fan, scheme: file, metrics_path: %s, static_configs: [{targets: ['']}]}
remote_write:
  - {name: prometheus, url: '%s'}
  - {name: hanging, url: '%s/api/v1/write', remote_timeout: 500ms}
pushgateway:
  - {name: pgw, url: '%s', timeout: 2s}
`, file, prom.WriteURL(), hanging.URL, pgw.URL))

	start := time.Now()
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
	took := time.Since(start)
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1 (a destination failed)", res.ExitCode)
	}
	// The hanging destination is bounded by the cycle, not more.
	if took > 15*time.Second {
		t.Errorf("run took %s with cycle_timeout 6s", took)
	}
	summary := ""
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, `msg="cycle finished"`) {
			summary = line
		}
	}
	// Every destination got the same samples: the real ones sent them
	// all, the hanging one dropped them all for timeout.
	n := regexp.MustCompile(`destination\.prometheus\.sent=(\d+) `).FindStringSubmatch(summary)
	if n == nil || n[1] == "0" {
		t.Fatalf("no samples sent to Prometheus:\n%s", summary)
	}
	for _, want := range []string{
		"destination.pgw.sent=" + n[1] + " ", "destination.pgw.dropped=0", "destination.prometheus.dropped=0",
		"destination.hanging.sent=0 ", `destination.hanging.dropped_by_reason="timeout=` + n[1] + `"`,
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary line lacks %q:\n%s", want, summary)
		}
	}
	if v := prom.Value(t, `fanout_value{job="fan",shard="a"}`); v != 42 {
		t.Errorf("Prometheus fanout_value = %g, want 42", v)
	}
	g := pgw.Group(t, map[string]string{"job": "fan", "instance": file})
	if v, ok := g.Value("fanout_value", map[string]string{"shard": "a"}); !ok || v != 42 {
		t.Errorf("Pushgateway fanout_value = %g, %v; want 42", v, ok)
	}
}

// TestE2EDaemonDestinationMetricsAndDelete runs liftpush as a daemon: from
// the second cycle on, the destination self-metrics describe the previous
// delivery; at SIGTERM the Pushgateway groups are deleted
// (delete_on_shutdown).
func TestE2EDaemonDestinationMetricsAndDelete(t *testing.T) {
	pgw := testinfra.StartPushgateway(t)
	prom := testinfra.StartPrometheus(t, "")
	dir := t.TempDir()
	file := writeFile(t, dir, "d.prom", "daemon_value 7\n")
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 5s, schedule: "@every 1s"}
scrape_configs:
  - {job_name: d, scheme: file, metrics_path: %s, static_configs: [{targets: ['']}]}
remote_write: [{name: prometheus, url: '%s'}]
pushgateway: [{name: pgw, url: '%s', delete_on_shutdown: true}]
`, file, prom.WriteURL(), pgw.URL))

	cmd := exec.Command(testinfra.Liftpush(t), "run", "--config.file="+cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("liftpush stderr:\n%s", stderr.String())
		}
	})

	waitQuery(t, prom, `liftpush_destination_samples_sent{destination="pgw",job="liftpush"}`, func(s []testinfra.Sample) bool { return len(s) == 1 && s[0].Value > 0 })
	waitQuery(t, prom, `liftpush_destination_last_success_timestamp_seconds{destination="prometheus"}`, func(s []testinfra.Sample) bool {
		return len(s) == 1 && s[0].Value > float64(time.Now().Add(-time.Minute).Unix())
	})
	if g := pgw.Group(t, map[string]string{"job": "liftpush"}); len(g.Families["liftpush_destination_samples_sent"].Metrics) != 2 {
		t.Errorf("process group in the Pushgateway: %v", g.Families["liftpush_destination_samples_sent"])
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("liftpush exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("liftpush did not stop within 15s of SIGTERM")
	}
	if groups := pgw.GroupsAfterDelete(t); len(groups) != 0 {
		t.Errorf("groups left after a graceful stop with delete_on_shutdown: %v", groups)
	}
	_ = os.Remove(file)
}

// countingListener counts the connections a test server accepts: a failed
// TLS handshake never reaches a handler, but each attempt is a connection.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// elevenSamples is a file of 11 samples, the size of issue 22's report.
func elevenSamples(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 11 {
		fmt.Fprintf(&b, "hostile_value{i=\"%d\"} %d\n", i, i)
	}
	return writeFile(t, t.TempDir(), "eleven.prom", b.String())
}

// pushConfig is a config of one remote_write entry at url with fast
// retries (so a retried fault would show hundreds of attempts) and one
// shard (so one batch fails before the others are kept behind it), extra
// keys indented under it, and a spool when spoolDir is not empty. With
// file set, the file is also scraped, for run --once.
func pushConfig(t *testing.T, url, extra, spoolDir, file string) string {
	t.Helper()
	doc := "global: {cycle_timeout: 3s}\n"
	if file != "" {
		doc += "scrape_configs:\n  - {job_name: h, scheme: file, metrics_path: '" + file + "', static_configs: [{targets: ['']}]}\n"
	}
	doc += fmt.Sprintf(`remote_write:
  - name: hostile
    url: '%s'
    remote_timeout: 1s
    queue_config: {min_backoff: 5ms, max_backoff: 20ms, max_shards: 1}
%s`, url, extra)
	if spoolDir != "" {
		doc += "spool: {dir: '" + spoolDir + "'}\n"
	}
	return writeFile(t, t.TempDir(), "liftpush.yml", doc)
}

// TestE2ERedirectLoopIsFinal: a receiver that redirects every POST back to
// itself (307) made 614 POSTs for 11 samples (issue 22). The loop is seen
// at the first redirect back to a visited URL, and is final for the
// delivery: without a spool the samples are dropped as "redirect", with
// one they stay in it for the next cycle; either way, no retries.
func TestE2ERedirectLoopIsFinal(t *testing.T) {
	var posts atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		// A -> B -> A: a loop of two URLs.
		to := "/b"
		if r.URL.Path == "/b" {
			to = "/a"
		}
		http.Redirect(w, r, srv.URL+to, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	file := elevenSamples(t)

	t.Run("no spool: dropped as redirect", func(t *testing.T) {
		posts.Store(0)
		res := testinfra.Run(t, nil, "push", "--config.file="+pushConfig(t, srv.URL+"/a", "", "", ""), file)
		if res.ExitCode != 1 {
			t.Errorf("exit %d, want 1", res.ExitCode)
		}
		if n := posts.Load(); n != 2 {
			t.Errorf("receiver got %d POSTs for 11 samples, want 2 (A, then B redirecting back to A)", n)
		}
		for _, want := range []string{`dropped_by_reason="?redirect=11`, `redirect loop: redirected back to http://[^ ]+/a after 2 redirects`, `not retried`} {
			if !regexp.MustCompile(want).MatchString(res.Stderr) {
				t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
			}
		}
	})

	t.Run("spool: kept for the next cycle, tried once per cycle", func(t *testing.T) {
		posts.Store(0)
		spool := t.TempDir()
		cfg := pushConfig(t, srv.URL+"/a", "", spool, file)
		res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
		if res.ExitCode != 1 {
			t.Errorf("exit %d, want 1", res.ExitCode)
		}
		if n := posts.Load(); n != 2 {
			t.Errorf("first cycle: receiver got %d POSTs, want 2", n)
		}
		if !regexp.MustCompile(`destination\.hostile\.sent=0 .*destination\.hostile\.spooled=[1-9]`).MatchString(res.Stderr) {
			t.Errorf("first cycle did not keep the samples in the spool:\n%s", res.Stderr)
		}
		// The next cycle replays the record once (2 POSTs), keeps it, and
		// keeps its own batch behind it without sending.
		posts.Store(0)
		res = testinfra.Run(t, nil, "run", "--once", "--config.file="+cfg)
		if n := posts.Load(); n != 2 {
			t.Errorf("second cycle: receiver got %d POSTs, want 2", n)
		}
		if res.ExitCode != 1 {
			t.Errorf("second cycle: exit %d, want 1", res.ExitCode)
		}
	})
}

// TestE2ETLSFailuresAreFinal: an untrusted certificate, a wrong host name,
// https to a plain HTTP server and a TLS version neither side shares were
// retried 88 times in a cycle (issue 22). Each is final at the first
// attempt, named "tls" in the summary with a hint, and no sample is sent.
// httptest's TLS server stands in for a receiver with a bad certificate,
// which is the fault itself.
func TestE2ETLSFailuresAreFinal(t *testing.T) {
	file := elevenSamples(t)
	start := func(t *testing.T, tlsOn bool, minVersion uint16) (*httptest.Server, *countingListener) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		l := &countingListener{Listener: srv.Listener}
		srv.Listener = l
		// The handshake errors the server would print are expected.
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		if tlsOn {
			srv.TLS = &tls.Config{MinVersion: minVersion}
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv, l
	}
	for _, tc := range []struct {
		name      string
		tls       bool
		minServer uint16
		url       func(srv *httptest.Server) string
		extra     func(t *testing.T, srv *httptest.Server) string
		want      string
	}{
		{
			name: "untrusted certificate", tls: true,
			url:  func(srv *httptest.Server) string { return srv.URL },
			want: `certificate signed by unknown authority`,
		},
		{
			name: "host name mismatch", tls: true,
			// The certificate is for 127.0.0.1 and example.com, not localhost.
			url: func(srv *httptest.Server) string { return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) },
			extra: func(t *testing.T, srv *httptest.Server) string {
				return "    tls_config: {ca_file: '" + writeCA(t, t.TempDir(), srv) + "'}\n"
			},
			want: `certificate is valid for .*not localhost`,
		},
		{
			name: "https to plain http",
			url:  func(srv *httptest.Server) string { return strings.Replace(srv.URL, "http://", "https://", 1) },
			want: `server gave HTTP response to HTTPS client`,
		},
		{
			name: "no common TLS version", tls: true, minServer: tls.VersionTLS13,
			url: func(srv *httptest.Server) string { return srv.URL },
			extra: func(t *testing.T, srv *httptest.Server) string {
				return "    tls_config: {ca_file: '" + writeCA(t, t.TempDir(), srv) + "', max_version: TLS12}\n"
			},
			want: `protocol version not supported`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, l := start(t, tc.tls, tc.minServer)
			extra := ""
			if tc.extra != nil {
				extra = tc.extra(t, srv)
			}
			res := testinfra.Run(t, nil, "push", "--config.file="+pushConfig(t, tc.url(srv)+"/api/v1/write", extra, "", ""), file)
			if res.ExitCode != 1 {
				t.Errorf("exit %d, want 1", res.ExitCode)
			}
			if n := l.n.Load(); n != 1 {
				t.Errorf("receiver saw %d connections, want 1: a TLS failure is not retried", n)
			}
			for _, want := range []string{tc.want, `reason=tls`, `not retried`, `dropped_by_reason="?tls=11`} {
				if !regexp.MustCompile(want).MatchString(res.Stderr) {
					t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
				}
			}
		})
	}
}

// TestE2EEchoingReceiverNotLogged: a receiver that answers 400 with the
// request's headers in its body had them logged at ERROR, credentials
// included (issue 22). The quoted body is scrubbed of every credential
// and cut to a few hundred bytes with its length said; the URL's query
// values are redacted wherever the URL is logged. Both sinks, remote-write
// and Pushgateway, are checked.
func TestE2EEchoingReceiverNotLogged(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, "bad request %s %s\n", r.Method, r.URL)
		_ = r.Header.Write(w)
		// And as JSON, the way some gateways echo it.
		fmt.Fprintf(w, `{"authorization": %q, "password": "SECRET-json-password"}`+"\n", r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(strings.Repeat("padding ", 500)))
	}))
	defer echo.Close()
	dir := t.TempDir()
	file := elevenSamples(t)
	cfg := writeFile(t, dir, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 3s}
scrape_configs:
  - {job_name: h, scheme: file, metrics_path: '%s', static_configs: [{targets: ['']}]}
remote_write:
  - name: rw
    url: '%s/api/v1/write?token=SECRET-query&tenant=a'
    authorization: {credentials: SECRET-bearer}
    headers: {X-Scope-OrgID: SECRET-tenant}
    http_headers: {X-Api-Key: {values: [SECRET-header-value]}}
pushgateway:
  - name: pgw
    url: '%s'
    basic_auth: {username: pusher, password: SECRET-pgw-password}
`, file, echo.URL, echo.URL))
	res := testinfra.Run(t, nil, "run", "--once", "--log.level=debug", "--config.file="+cfg)
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1", res.ExitCode)
	}
	for _, secret := range []string{"SECRET-query", "SECRET-bearer", "SECRET-tenant", "SECRET-header-value", "SECRET-pgw-password", "SECRET-json-password",
		// The base64 of pusher:SECRET-pgw-password, as basic auth sends it.
		"cHVzaGVyOlNFQ1JFVC1wZ3ctcGFzc3dvcmQ="} {
		if strings.Contains(res.Stderr, secret) {
			t.Errorf("the log holds %q:\n%s", secret, res.Stderr)
		}
	}
	errorLines := 0
	for _, line := range strings.Split(res.Stderr, "\n") {
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "bad request") {
			continue
		}
		errorLines++
		if len(line) > 1024 {
			t.Errorf("an ERROR line quoting the body is %d bytes, want at most 1 KiB:\n%s", len(line), line)
		}
		if !regexp.MustCompile(`… \(\d{4} bytes\)`).MatchString(line) {
			t.Errorf("an ERROR line cuts the body without saying its length:\n%s", line)
		}
	}
	if errorLines < 2 {
		t.Errorf("%d ERROR lines quote the body, want one per sink at least:\n%s", errorLines, res.Stderr)
	}
}
