package spacelift

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra"
)

const (
	testKeyID  = "01HTESTKEY0000000000000000"
	testSecret = "test-secret"
)

// fixtureNow is the instant the tests run at: the billing period the fake
// answers (see spacelifttest.BillingPeriod), and so the goldens, come from
// it.
var fixtureNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// inBubble runs f in a synctest bubble whose clock has moved to fixtureNow.
// The collector and the fake account read the bubble's clock: a test moves
// past a token's lifetime by sleeping, at once, and the goldens hold on any
// date.
func inBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(fixtureNow))
		f(t)
	})
}

type env struct {
	srv *spacelifttest.Handler
	// loop is the fake's loopback server, for TLS and benchmarks; nil
	// when the fake is served over a pipe.
	loop *spacelifttest.Server
	c    *Collector
	logs *testinfra.SyncBuffer
	cfg  *config.SpaceliftConfig
}

type envOption func(*spacelifttest.Options, *config.SpaceliftConfig)

// newEnv starts a fake account with fixture and a collector pointed at it.
// A test serves the fake over a pipe and must run inBubble (no loopback
// socket there, or the bubble's clock could not move); with TLS, and in a
// benchmark (which synctest cannot take), the fake listens on loopback and
// both sides read the wall clock.
func newEnv(tb testing.TB, fixture string, opts ...envOption) *env {
	tb.Helper()
	data, err := spacelifttest.Fixture(fixture)
	if err != nil {
		tb.Fatal(err)
	}
	so := spacelifttest.Options{KeyID: testKeyID, Secret: testSecret, Data: data}
	cfg := config.DefaultSpaceliftConfig
	cfg.APIKeyID = testKeyID
	cfg.APIKeySecret = commoncfg.Secret(testSecret)
	cfg.InsecureHTTP = true
	for _, o := range opts {
		o(&so, &cfg)
	}
	e := &env{logs: &testinfra.SyncBuffer{}, cfg: &cfg}
	_, bench := tb.(*testing.B)
	var pipe *testinfra.PipeServer
	if so.TLS || bench {
		e.loop, err = spacelifttest.NewServer(so)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(e.loop.Close)
		e.srv = e.loop.Handler
		cfg.Endpoint = e.loop.URL
	} else {
		if !time.Now().Equal(fixtureNow) {
			tb.Fatalf("newEnv serves the fake over a pipe: run the test inBubble (the clock reads %s, not %s)", time.Now(), fixtureNow)
		}
		e.srv, err = spacelifttest.NewHandler(so)
		if err != nil {
			tb.Fatal(err)
		}
		pipe = testinfra.NewPipeServer(tb, e.srv)
		cfg.Endpoint = pipe.URL
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.c, err = New(&cfg, logger, "liftpush/test")
	if err != nil {
		tb.Fatal(err)
	}
	if pipe != nil {
		e.c.setTransport(pipe.Transport(), "liftpush/test")
	}
	return e
}

func (e *env) collect(t testing.TB) ([]metric.Family, error) {
	t.Helper()
	return e.c.Collect(context.Background())
}

// render turns families into the text exposition format, families sorted by
// name as a scrape would show them, samples in the order collected.
func render(t testing.TB, fams []metric.Family) string {
	t.Helper()
	sorted := append([]metric.Family(nil), fams...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	for _, f := range sorted {
		mf := &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: dto.MetricType_GAUGE.Enum()}
		if f.Type != model.MetricTypeGauge {
			t.Fatalf("%s: type %s, want gauge", f.Name, f.Type)
		}
		for _, s := range f.Samples {
			if got := s.Labels.Get(model.MetricNameLabel); got != f.Name {
				t.Fatalf("sample %s in family %s", s.Labels, f.Name)
			}
			m := &dto.Metric{Gauge: &dto.Gauge{Value: &s.Value}}
			s.Labels.Range(func(l labels.Label) {
				if l.Name == model.MetricNameLabel {
					return
				}
				m.Label = append(m.Label, &dto.LabelPair{Name: &l.Name, Value: &l.Value})
			})
			mf.Metric = append(mf.Metric, m)
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	// The Go version depends on the toolchain that runs the test.
	return strings.ReplaceAll(b.String(), `goversion="`+runtime.Version()+`"`, `goversion="<goversion>"`)
}

// golden compares got with testdata/<name>.prom; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".prom")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("exposition differs from %s (-want +got):\n%s", path, diff)
	}
}
