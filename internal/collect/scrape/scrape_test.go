package scrape

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition/expositiontest"
	"github.com/liftpush/liftpush/internal/metric"
)

// loadScrape decodes one scrape job from YAML, so defaults apply as in a
// real config file. %s in doc is replaced by target.
func loadScrape(t *testing.T, doc string, args ...any) *config.ScrapeConfig {
	t.Helper()
	cfg, err := config.Load([]byte(fmt.Sprintf(doc, args...)))
	if err != nil {
		t.Fatalf("loading config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validating config: %v", err)
	}
	return cfg.ScrapeConfigs[0]
}

func newCollector(t *testing.T, sc *config.ScrapeConfig) *Collector {
	t.Helper()
	c, err := New(sc, slog.New(slog.DiscardHandler), "liftpush/test")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func hostOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// series lists every sample as "labels value", sorted, leaving out the
// scrape_duration_seconds series (its value is the wall clock's).
func series(fams []metric.Family) []string {
	var out []string
	for _, f := range fams {
		for _, s := range f.Samples {
			if f.Name == "scrape_duration_seconds" {
				continue
			}
			out = append(out, fmt.Sprintf("%s %g", s.Labels, s.Value))
		}
	}
	slices.Sort(out)
	return out
}

// reportSeries are the series a scrape adds for one target, as series
// lists them.
func reportSeries(instance, job string, up, scraped, post, added int) []string {
	l := fmt.Sprintf(`instance="%s", job="%s"`, instance, job)
	return []string{
		fmt.Sprintf(`{__name__="scrape_samples_post_metric_relabeling", %s} %d`, l, post),
		fmt.Sprintf(`{__name__="scrape_samples_scraped", %s} %d`, l, scraped),
		fmt.Sprintf(`{__name__="scrape_series_added", %s} %d`, l, added),
		fmt.Sprintf(`{__name__="up", %s} %d`, l, up),
	}
}

// fakeTarget serves body with contentType and records the requests.
type fakeTarget struct {
	mu          sync.Mutex
	requests    []*http.Request
	contentType string
	body        string
	status      int
}

func (e *fakeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r.Clone(r.Context()))
	e.mu.Unlock()
	if e.contentType != "" {
		w.Header().Set("Content-Type", e.contentType)
	}
	if e.status != 0 {
		w.WriteHeader(e.status)
	}
	_, _ = w.Write([]byte(e.body))
}

func (e *fakeTarget) last(t *testing.T) *http.Request {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.requests) == 0 {
		t.Fatal("no request received")
	}
	return e.requests[len(e.requests)-1]
}

func TestCollectContentNegotiation(t *testing.T) {
	protoFams := expositiontest.ProtoFamilies()[:2]
	protoBody := expositiontest.EncodeProto(t, protoFams...)
	// The timestamps the protobuf answer carries, kept by honor_timestamps.
	protoStamps := map[string]int64{}
	for _, f := range protoFams {
		for _, m := range f.Metric {
			if m.TimestampMs != nil {
				protoStamps[f.GetName()] = m.GetTimestampMs()
			}
		}
	}
	if len(protoStamps) == 0 {
		t.Fatal("the protobuf fixture carries no timestamp any more")
	}
	tests := []struct {
		name        string
		protocols   string
		wantAccept  string
		contentType string
		body        string
		want        []string
		stamped     map[string]int64 // T by family name, when the answer carries one
	}{
		{
			name:        "default protocols, text answer",
			wantAccept:  "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3",
			contentType: "text/plain; version=0.0.4; charset=utf-8",
			body:        "# TYPE a gauge\na{x=\"1\"} 1\n",
			want:        []string{`{__name__="a", instance="HOST", job="j", x="1"} 1`},
		},
		{
			name:        "openmetrics answer",
			protocols:   "scrape_protocols: [OpenMetricsText1.0.0],",
			wantAccept:  "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,*/*;q=0.6",
			contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8",
			body:        "# TYPE c counter\nc_total 2\n# EOF\n",
			want:        []string{`{__name__="c_total", instance="HOST", job="j"} 2`},
		},
		{
			name:        "protobuf first, protobuf answer",
			protocols:   "scrape_protocols: [PrometheusProto, PrometheusText0.0.4],",
			wantAccept:  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
			contentType: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
			body:        string(protoBody),
			stamped:     protoStamps,
			want: []string{
				`{__name__="queue_depth", instance="HOST", job="j"} 3`,
				`{__name__="requests_total", code="200", instance="HOST", job="j"} 10`,
				`{__name__="requests_total", code="500", instance="HOST", job="j"} 1`,
			},
		},
		{
			// Go's server then sniffs text/plain, which reads as text.
			name:       "no content type set by the handler",
			wantAccept: "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3",
			body:       "a 1\n",
			want:       []string{`{__name__="a", instance="HOST", job="j"} 1`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := &fakeTarget{contentType: tt.contentType, body: tt.body}
			srv := httptest.NewServer(exp)
			defer srv.Close()
			host := hostOf(t, srv)
			sc := loadScrape(t, "scrape_configs: [{job_name: j, %s static_configs: [{targets: [%q]}]}]", tt.protocols, host)
			before := time.Now()
			fams, err := newCollector(t, sc).Collect(t.Context())
			after := time.Now()
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			req := exp.last(t)
			if got := req.Header.Get("Accept"); got != tt.wantAccept {
				t.Errorf("Accept = %q, want %q", got, tt.wantAccept)
			}
			if got := req.Header.Get("User-Agent"); got != "liftpush/test" {
				t.Errorf("User-Agent = %q", got)
			}
			if got := req.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); got != "10" {
				t.Errorf("X-Prometheus-Scrape-Timeout-Seconds = %q, want 10", got)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "HOST", host))
			}
			want = append(want, reportSeries(host, "j", 1, len(tt.want), len(tt.want), len(tt.want))...)
			slices.Sort(want)
			if diff := cmp.Diff(want, series(fams)); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
			for _, f := range fams {
				if f.Name == "up" || strings.HasPrefix(f.Name, "scrape_") {
					// Report series are stamped by the pipeline.
					continue
				}
				for _, s := range f.Samples {
					if ts, ok := tt.stamped[f.Name]; ok {
						if s.T != ts {
							t.Errorf("%s: T = %d, want the exposed timestamp %d", s.Labels, s.T, ts)
						}
					} else if s.T < before.UnixMilli() || s.T > after.UnixMilli() {
						t.Errorf("%s: T = %d, want the scrape time, between %d and %d", s.Labels, s.T, before.UnixMilli(), after.UnixMilli())
					}
				}
			}
		})
	}
}

func TestCollectGzip(t *testing.T) {
	var gotEncoding string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotEncoding = r.Header.Get("Accept-Encoding")
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		_, _ = gz.Write([]byte("zipped 42\n"))
		_ = gz.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(buf.Bytes())
	}))
	defer srv.Close()
	host := hostOf(t, srv)
	fams, err := newCollector(t, loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q]}]}]", host)).Collect(t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if gotEncoding != "gzip" {
		t.Errorf("Accept-Encoding = %q, want gzip", gotEncoding)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="zipped", instance="%s", job="j"} 42`, host)) {
		t.Errorf("zipped series missing: %v", series(fams))
	}
}

func TestCollectBadGzip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write([]byte("not gzip"))
	}))
	defer srv.Close()
	host := hostOf(t, srv)
	fams, err := newCollector(t, loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q]}]}]", host)).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "decoding gzip body") {
		t.Errorf("Collect error = %v, want a gzip error", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 0`, host)) {
		t.Errorf("want up 0, got %v", series(fams))
	}
}

func TestCollectHTTPError(t *testing.T) {
	good := httptest.NewServer(&fakeTarget{body: "ok 1\n"})
	defer good.Close()
	bad := httptest.NewServer(&fakeTarget{status: http.StatusInternalServerError, body: "boom\n"})
	defer bad.Close()
	gh, bh := hostOf(t, good), hostOf(t, bad)
	sc := loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q, %q]}]}]", bh, gh)
	fams, err := newCollector(t, sc).Collect(t.Context())
	wantErr := fmt.Sprintf("target http://%s/metrics: server returned HTTP status 500 Internal Server Error: boom", bh)
	if err == nil || err.Error() != wantErr {
		t.Errorf("Collect error = %v, want %q", err, wantErr)
	}
	// The failing target does not sink the other one.
	want := []string{
		fmt.Sprintf(`{__name__="ok", instance="%s", job="j"} 1`, gh),
	}
	want = append(want, reportSeries(bh, "j", 0, 0, 0, 0)...)
	want = append(want, reportSeries(gh, "j", 1, 1, 1, 1)...)
	slices.Sort(want)
	if diff := cmp.Diff(want, series(fams)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

func TestCollectUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := hostOf(t, srv)
	srv.Close()
	fams, err := newCollector(t, loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q]}]}]", host)).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "scraping: ") {
		t.Errorf("Collect error = %v", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 0`, host)) {
		t.Errorf("want up 0, got %v", series(fams))
	}
}

func TestCollectLabels(t *testing.T) {
	body := `conflict{job="their-job",instance="their-instance",env="theirs",own="x"} 1
plain 2
already{exported_job="e"} 3
`
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{
			name:   "honor_labels false keeps scraped conflicts as exported_",
			config: "honor_labels: false, static_configs: [{targets: [%q], labels: {env: prod}}]",
			want: []string{
				`{__name__="already", env="prod", exported_job="e", instance="HOST", job="j"} 3`,
				`{__name__="conflict", env="prod", exported_env="theirs", exported_instance="their-instance", exported_job="their-job", instance="HOST", job="j", own="x"} 1`,
				`{__name__="plain", env="prod", instance="HOST", job="j"} 2`,
			},
		},
		{
			name:   "honor_labels true keeps scraped labels",
			config: "honor_labels: true, static_configs: [{targets: [%q], labels: {env: prod}}]",
			want: []string{
				`{__name__="already", env="prod", exported_job="e", instance="HOST", job="j"} 3`,
				`{__name__="conflict", env="theirs", instance="their-instance", job="their-job", own="x"} 1`,
				`{__name__="plain", env="prod", instance="HOST", job="j"} 2`,
			},
		},
		{
			name:   "static job and instance labels replace the defaults",
			config: "static_configs: [{targets: [%q], labels: {job: static-job, instance: static-instance}}]",
			want: []string{
				`{__name__="already", exported_job="e", instance="static-instance", job="static-job"} 3`,
				`{__name__="conflict", env="theirs", exported_instance="their-instance", exported_job="their-job", instance="static-instance", job="static-job", own="x"} 1`,
				`{__name__="plain", instance="static-instance", job="static-job"} 2`,
			},
		},
		{
			name:   "metric_relabel_configs drop",
			config: `static_configs: [{targets: [%q]}], metric_relabel_configs: [{source_labels: [__name__], regex: "conflict|already", action: drop}]`,
			want: []string{
				`{__name__="plain", instance="HOST", job="j"} 2`,
			},
		},
		{
			name:   "metric_relabel_configs keep and labeldrop",
			config: `static_configs: [{targets: [%q]}], metric_relabel_configs: [{source_labels: [__name__], regex: conflict, action: keep}, {regex: "exported_.*", action: labeldrop}]`,
			want: []string{
				`{__name__="conflict", env="theirs", instance="HOST", job="j", own="x"} 1`,
			},
		},
		{
			name:   "relabelling away __name__ drops the series",
			config: `static_configs: [{targets: [%q]}], metric_relabel_configs: [{regex: "__name__", action: labeldrop}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeTarget{body: body})
			defer srv.Close()
			host := hostOf(t, srv)
			sc := loadScrape(t, "scrape_configs: [{job_name: j, "+tt.config+"}]", host)
			fams, err := newCollector(t, sc).Collect(t.Context())
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			var got []string
			for _, s := range series(fams) {
				if !strings.HasPrefix(s, `{__name__="up"`) && !strings.HasPrefix(s, `{__name__="scrape_`) {
					got = append(got, s)
				}
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "HOST", host))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
			// The report series count what the target exposed, before
			// relabelling.
			for _, f := range fams {
				if f.Name == "scrape_samples_scraped" && f.Samples[0].Value != 3 {
					t.Errorf("scrape_samples_scraped = %g, want 3", f.Samples[0].Value)
				}
			}
		})
	}
}

func TestCollectParamsAndPath(t *testing.T) {
	exp := &fakeTarget{body: "a 1\n"}
	srv := httptest.NewServer(exp)
	defer srv.Close()
	sc := loadScrape(t, "scrape_configs: [{job_name: j, metrics_path: /probe, params: {module: [http_2xx], target: ['a b']}, static_configs: [{targets: [%q]}]}]", hostOf(t, srv))
	if _, err := newCollector(t, sc).Collect(t.Context()); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	req := exp.last(t)
	if req.URL.Path != "/probe" {
		t.Errorf("path = %q, want /probe", req.URL.Path)
	}
	if diff := cmp.Diff(url.Values{"module": {"http_2xx"}, "target": {"a b"}}, req.URL.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}

func TestCollectBearerFromFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("secret_metric 1\n"))
	}))
	defer srv.Close()
	host := hostOf(t, srv)
	sc := loadScrape(t, "scrape_configs: [{job_name: j, authorization: {credentials_file: %q}, static_configs: [{targets: [%q]}]}]", tokenFile, host)
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="secret_metric", instance="%s", job="j"} 1`, host)) {
		t.Errorf("series missing: %v", series(fams))
	}

	// Without the token, the target answers 401 and up is 0.
	sc = loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q]}]}]", host)
	_, err = newCollector(t, sc).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("Collect without token = %v, want 401", err)
	}
}

func TestCollectTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	host := hostOf(t, srv)
	sc := loadScrape(t, "scrape_configs: [{job_name: j, scrape_timeout: 50ms, static_configs: [{targets: [%q]}]}]", host)
	start := time.Now()
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("Collect error = %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Collect took %s with a 50ms scrape_timeout", took)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="up", instance="%s", job="j"} 0`, host)) {
		t.Errorf("want up 0, got %v", series(fams))
	}
}

func TestCollectFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, body string
		want             []string
	}{
		{
			name: "text",
			file: "batch.prom",
			body: "# TYPE batch_last_run gauge\nbatch_last_run 1.7e+09\n",
			want: []string{`{__name__="batch_last_run", instance="HOST", job="batch"} 1.7e+09`},
		},
		{
			name: "openmetrics",
			file: "batch.om",
			body: "# TYPE runs counter\nruns_total 4\n# EOF\n",
			want: []string{`{__name__="runs_total", instance="HOST", job="batch"} 4`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			sc := loadScrape(t, "scrape_configs: [{job_name: batch, scheme: file, metrics_path: %q, static_configs: [{targets: ['']}]}]", path)
			fams, err := newCollector(t, sc).Collect(t.Context())
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "HOST", path))
			}
			want = append(want, reportSeries(path, "batch", 1, 1, 1, 1)...)
			slices.Sort(want)
			if diff := cmp.Diff(want, series(fams)); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "missing.prom")
		sc := loadScrape(t, "scrape_configs: [{job_name: batch, scheme: file, metrics_path: %q, static_configs: [{targets: ['']}]}]", path)
		fams, err := newCollector(t, sc).Collect(t.Context())
		if err == nil || !strings.HasPrefix(err.Error(), "target file://"+path+": reading exposition file: ") {
			t.Errorf("Collect error = %v", err)
		}
		if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="up", instance="%s", job="batch"} 0`, path)) {
			t.Errorf("want up 0, got %v", series(fams))
		}
	})
}

func TestCollectFromScrapeURL(t *testing.T) {
	// --scrape.url builds the job; a file:// URL reads the file.
	path := filepath.Join(t.TempDir(), "m.prom")
	if err := os.WriteFile(path, []byte("m 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := config.NewScrapeFromURL("file://" + path)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="m", instance="%s", job="file"} 1`, path)) {
		t.Errorf("series missing: %v", series(fams))
	}
}

func TestCollectName(t *testing.T) {
	c := newCollector(t, loadScrape(t, "scrape_configs: [{job_name: chainloop, static_configs: [{targets: ['a:1']}]}]"))
	if c.Name() != "scrape/chainloop" {
		t.Errorf("Name() = %q", c.Name())
	}
}

func TestAcceptHeaderAllProtocols(t *testing.T) {
	all := []promconfig.ScrapeProtocol{promconfig.PrometheusProto, promconfig.OpenMetricsText1_0_0, promconfig.OpenMetricsText0_0_1, promconfig.PrometheusText1_0_0, promconfig.PrometheusText0_0_4}
	got := acceptHeader(all, model.UTF8Validation, "")
	// Prometheus 3.16's header for the same list (scrape.acceptHeader).
	want := "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
		"application/openmetrics-text;version=0.0.1;q=0.5," +
		"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
		"text/plain;version=0.0.4;q=0.3," +
		"*/*;q=0.2"
	if got != want {
		t.Errorf("acceptHeader = %q, want %q", got, want)
	}
}

func TestCollectExportedTwice(t *testing.T) {
	srv := httptest.NewServer(&fakeTarget{body: `m{job="theirs",exported_job="older"} 1` + "\n"})
	defer srv.Close()
	host := hostOf(t, srv)
	fams, err := newCollector(t, loadScrape(t, "scrape_configs: [{job_name: j, static_configs: [{targets: [%q]}]}]", host)).Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{__name__="m", exported_exported_job="theirs", exported_job="older", instance="%s", job="j"} 1`, host)
	if !slices.Contains(series(fams), want) {
		t.Errorf("want %s in %v", want, series(fams))
	}
}

func TestCollectScrapeURLWithCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pw" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("m 1\n"))
	}))
	defer srv.Close()
	host := hostOf(t, srv)
	sc, err := config.NewScrapeFromURL("http://user:pw@" + host + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	fams, err := newCollector(t, sc).Collect(t.Context())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if !slices.Contains(series(fams), fmt.Sprintf(`{__name__="m", instance="%s", job="127.0.0.1"} 1`, host)) {
		t.Errorf("series missing: %v", series(fams))
	}
}
