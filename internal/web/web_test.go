package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeDaemon struct {
	ready   atomic.Bool
	reloads atomic.Int32
	err     error
}

func (d *fakeDaemon) Ready() bool { return d.ready.Load() }
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
	if _, err := Listen([]string{"127.0.0.1:0"}, "/does/not/exist.yml", h, logger); err == nil || !strings.Contains(err.Error(), "--web.config.file=/does/not/exist.yml") {
		t.Errorf("missing web config: err = %v, want it named", err)
	}
	s, err := Listen([]string{"127.0.0.1:0"}, "", h, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	if _, err := Listen([]string{"256.0.0.1:1"}, "", h, logger); err == nil || !strings.Contains(err.Error(), "--web.listen-address=256.0.0.1:1") {
		t.Errorf("bad address: err = %v, want it named", err)
	}
}
