package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeDaemon struct {
	ready   atomic.Bool
	reloads atomic.Int32
	err     error
}

func (d *fakeDaemon) Ready() error {
	if !d.ready.Load() {
		return errors.New("the first cycle has not finished")
	}
	return nil
}
func (d *fakeDaemon) Reload() error {
	d.reloads.Add(1)
	return d.err
}

func TestHandler(t *testing.T) {
	d := &fakeDaemon{}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftpush_test_gauge", Help: "A test gauge."})
	reg.MustRegister(g)
	srv := httptest.NewServer(Handler(d, reg, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	do := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	steps := []struct {
		name       string
		before     func()
		method     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "healthy from the start", method: "GET", path: "/-/healthy", wantStatus: 200, wantBody: "healthy"},
		{name: "not ready before the first cycle", method: "GET", path: "/-/ready", wantStatus: 503, wantBody: "first cycle"},
		{name: "ready after it", before: func() { d.ready.Store(true) }, method: "GET", path: "/-/ready", wantStatus: 200, wantBody: "ready"},
		{name: "reload needs POST", method: "GET", path: "/-/reload", wantStatus: 405, wantBody: "POST"},
		{name: "reload", method: "POST", path: "/-/reload", wantStatus: 200, wantBody: "reloaded"},
		{name: "failed reload names the problem", before: func() { d.err = errors.New(`invalid liftpush.yml: global.job: must not be empty`) },
			method: "POST", path: "/-/reload", wantStatus: 500, wantBody: "global.job"},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200, wantBody: "liftpush_test_gauge 0"},
		{name: "heap profile", method: "GET", path: "/debug/pprof/heap?debug=1", wantStatus: 200, wantBody: "heap profile:"},
		{name: "profile index", method: "GET", path: "/debug/pprof/", wantStatus: 200, wantBody: "goroutine"},
		{name: "unknown path", method: "GET", path: "/nope", wantStatus: 404},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		status, body := do(s.method, s.path)
		if status != s.wantStatus || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %s %s = %d %q, want %d containing %q", s.name, s.method, s.path, status, body, s.wantStatus, s.wantBody)
		}
	}
	if n := d.reloads.Load(); n != 2 {
		t.Errorf("%d reloads, want 2 (a GET must not reload)", n)
	}
}

func TestListenRefusesBadInput(t *testing.T) {
	h := http.NewServeMux()
	logger := slog.New(slog.DiscardHandler)
	if _, err := Listen([]string{"127.0.0.1:0"}, "/does/not/exist.yml", h, DefaultOptions, logger); err == nil || !strings.Contains(err.Error(), "--web.config.file=/does/not/exist.yml") {
		t.Errorf("missing web config: err = %v, want it named", err)
	}
	s, err := Listen([]string{"127.0.0.1:0"}, "", h, DefaultOptions, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	if _, err := Listen([]string{"256.0.0.1:1"}, "", h, DefaultOptions, logger); err == nil || !strings.Contains(err.Error(), "--web.listen-address=256.0.0.1:1") {
		t.Errorf("bad address: err = %v, want it named", err)
	}
}

// listenLocal serves h on a free local port with opts and returns its
// address.
func listenLocal(t *testing.T, h http.Handler, opts Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := Listen([]string{addr}, "", h, opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return addr
}

// dialIdle opens n connections to addr that send nothing.
func dialIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

// closedByServer reports whether the server closed c within wait.
func closedByServer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// getOnce sends GET u on a new connection.
func getOnce(u string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestListenEvictsIdleConnections holds more idle connections than the cap
// (issue 22: idle keep-alive connections used up the file descriptors): the
// oldest are closed as new ones come, and a request still gets through at
// once.
func TestListenEvictsIdleConnections(t *testing.T) {
	addr := listenLocal(t, Handler(&fakeDaemon{}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)),
		Options{MaxConnections: 4, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	cs := dialIdle(t, addr, 10)
	if code, err := getOnce("http://" + addr + "/-/healthy"); err != nil || code != http.StatusOK {
		t.Fatalf("/-/healthy with 10 idle connections against a cap of 4: %d %v", code, err)
	}
	// The request took the place of the oldest idle connection left, the
	// 7th: the 7 oldest are closed, the 3 newest still open.
	for i, c := range cs {
		want := i < 7
		if got := closedByServer(c, map[bool]time.Duration{true: 5 * time.Second, false: 200 * time.Millisecond}[want]); got != want {
			t.Errorf("idle connection %d: closed by the server = %v, want %v", i, got, want)
		}
	}
}

// TestListenKeepsActiveConnections fills the cap with requests in progress:
// a new connection is closed, and the requests in progress complete.
func TestListenKeepsActiveConnections(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(3)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Done()
		<-release
		fmt.Fprintln(w, "done")
	})
	addr := listenLocal(t, h, Options{MaxConnections: 3, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	codes := make(chan int, 3)
	for range 3 {
		go func() {
			code, err := getOnce("http://" + addr + "/block")
			if err != nil {
				t.Errorf("request in progress: %v", err)
			}
			codes <- code
		}()
	}
	started.Wait()
	if c := dialIdle(t, addr, 1)[0]; !closedByServer(c, 5*time.Second) {
		t.Errorf("a 4th connection with 3 requests in progress was kept open, want it closed")
	}
	close(release)
	for range 3 {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("request in progress: status %d, want 200", code)
		}
	}
}

// TestListenReadTimeout: a connection that sends nothing is closed after
// ReadTimeout, with no cap at all.
func TestListenReadTimeout(t *testing.T) {
	addr := listenLocal(t, http.NotFoundHandler(), Options{ReadTimeout: 100 * time.Millisecond, WriteTimeout: time.Minute})
	if c := dialIdle(t, addr, 1)[0]; !closedByServer(c, 10*time.Second) {
		t.Error("a silent connection was still open 10s after a read timeout of 100ms")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key under dir and
// returns an exporter-toolkit web config that serves TLS with them, and the
// certificate's pool.
func selfSigned(t *testing.T, dir string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "liftpush test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyFile, cfg := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "web.yml")
	for name, b := range map[string][]byte{
		cert:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		cfg:     []byte("tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + keyFile + "\n"),
	} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return cfg, pool
}

// TestListenTLSKeepsActiveConnections is TestListenKeepsActiveConnections
// behind TLS, where the server reports the state of its *tls.Conn, not of
// the connection the limiter counts.
func TestListenTLSKeepsActiveConnections(t *testing.T) {
	webCfg, pool := selfSigned(t, t.TempDir())
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Done()
		<-release
		fmt.Fprintln(w, "done")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := Listen([]string{addr}, webCfg, h, Options{MaxConnections: 2, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := client.Get("https://" + addr + "/block")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	started.Wait()
	if c := dialIdle(t, addr, 1)[0]; !closedByServer(c, 5*time.Second) {
		t.Errorf("a 3rd connection with 2 TLS requests in progress was kept open, want it closed")
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("TLS request in progress: %v", err)
		}
	}
}
