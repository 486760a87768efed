package spacelift

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
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

// clock is a manual clock shared by the collector and the fake server, so
// token lifetimes are tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv   *spacelifttest.Server
	c     *Collector
	clock *clock
	logs  *testinfra.SyncBuffer
	cfg   *config.SpaceliftConfig
}

type envOption func(*spacelifttest.Options, *config.SpaceliftConfig)

// newEnv starts a fake account with fixture and a collector pointed at it.
func newEnv(t testing.TB, fixture string, opts ...envOption) *env {
	t.Helper()
	data, err := spacelifttest.Fixture(fixture)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	so := spacelifttest.Options{KeyID: testKeyID, Secret: testSecret, Now: clk.Now, Data: data}
	cfg := config.DefaultSpaceliftConfig
	cfg.APIKeyID = testKeyID
	cfg.APIKeySecret = commoncfg.Secret(testSecret)
	cfg.InsecureHTTP = true
	for _, o := range opts {
		o(&so, &cfg)
	}
	srv, err := spacelifttest.NewServer(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL
	logs := &testinfra.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(&cfg, logger, "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	c.now = clk.Now
	return &env{srv: srv, c: c, clock: clk, logs: logs, cfg: &cfg}
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
