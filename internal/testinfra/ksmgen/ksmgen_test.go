package ksmgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/liftpush/liftpush/internal/testinfra"
)

func write(t *testing.T, n int) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, n)
	if err != nil {
		t.Fatalf("Write(%d): %v", n, err)
	}
	return buf.Bytes(), st
}

func TestWrite(t *testing.T) {
	for _, n := range []int{1000, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			out, st := write(t, n)
			if again, _ := write(t, n); !bytes.Equal(out, again) {
				t.Fatal("two runs differ")
			}
			if st.Samples != n || st.Series != n || st.Bytes != int64(len(out)) {
				t.Errorf("stats %d samples, %d series, %d bytes; want %d, %d, %d", st.Samples, st.Series, st.Bytes, n, n, len(out))
			}

			// Line by line: n sample lines, each series once, HELP and
			// TYPE once per family, before its samples.
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			seen := make(map[string]bool, n)
			var fams []string
			samples := 0
			for _, l := range lines {
				if name, ok := strings.CutPrefix(l, "# HELP "); ok {
					fams = append(fams, name[:strings.IndexByte(name, ' ')])
					continue
				}
				if strings.HasPrefix(l, "#") {
					continue
				}
				samples++
				series := l[:strings.LastIndexByte(l, ' ')]
				if seen[series] {
					t.Fatalf("series twice: %s", series)
				}
				seen[series] = true
				if fam := fams[len(fams)-1]; !strings.HasPrefix(series, fam+"{") {
					t.Fatalf("sample of %s under the HELP of %s", series, fam)
				}
			}
			if samples != n {
				t.Errorf("%d sample lines, want %d", samples, n)
			}
			if !slices.Equal(fams, st.Families) {
				t.Errorf("families %v, Stats.Families %v", fams, st.Families)
			}
			if len(fams) != len(families) {
				t.Errorf("%d families, want all %d", len(fams), len(families))
			}

			// As Prometheus parses it.
			p, err := textparse.New(out, "text/plain; version=0.0.4", labels.NewSymbolTable(), textparse.ParserOptions{})
			if err != nil {
				t.Fatal(err)
			}
			parsed := map[string]bool{}
			types := map[string]string{}
			for {
				e, err := p.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("parsing: %v", err)
				}
				switch e {
				case textparse.EntryType:
					name, typ := p.Type()
					types[string(name)] = string(typ)
				case textparse.EntrySeries:
					_, ts, _ := p.Series()
					if ts != nil {
						t.Fatal("sample with a timestamp")
					}
					var ls labels.Labels
					p.Labels(&ls)
					if k := ls.Len() - 1; k < 8 || k > 10 { // less __name__
						t.Fatalf("%d labels, want 8-10: %s", k, ls)
					}
					ls.Range(func(l labels.Label) {
						if l.Value == "" {
							t.Fatalf("empty label %s: %s", l.Name, ls)
						}
					})
					if parsed[ls.String()] {
						t.Fatalf("series twice: %s", ls)
					}
					parsed[ls.String()] = true
				}
			}
			if len(parsed) != n {
				t.Errorf("parsed %d series, want %d", len(parsed), n)
			}
			if types["kube_pod_container_status_restarts_total"] != "counter" || types["kube_pod_info"] != "gauge" {
				t.Errorf("types %v", types)
			}

			per := float64(len(out)) / float64(n)
			t.Logf("%d samples, %d bytes, %.1f bytes/sample", n, len(out), per)
			if per < 200 || per > 290 {
				t.Errorf("%.1f bytes/sample, want 200-290", per)
			}
		})
	}
}

func TestWriteSmall(t *testing.T) {
	for _, n := range []int{0, 1, 2, 16, 17, 18, 1125, 1127} {
		out, st := write(t, n)
		lines := 0
		for l := range strings.Lines(string(out)) {
			if !strings.HasPrefix(l, "#") {
				lines++
			}
		}
		if lines != n || st.Samples != n || len(st.Families)*2+n != strings.Count(string(out), "\n") {
			t.Errorf("n=%d: %d sample lines, stats %+v", n, lines, st)
		}
		if n >= len(families) && len(st.Families) != len(families) {
			t.Errorf("n=%d: %d families, want all %d", n, len(st.Families), len(families))
		}
	}
	if _, err := Write(io.Discard, -1); err == nil {
		t.Error("n=-1: no error")
	}
	if _, err := Write(io.Discard, MaxSamples+1); err == nil {
		t.Error("n>MaxSamples: no error")
	}
}

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	_, err := Write(&failingWriter{left: 1 << 20}, 100000)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v, want the writer's error", err)
	}
}

// TestWriteMillion checks the size at the scale load tests use: about
// 246 MB for a million samples.
func TestWriteMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	start := time.Now()
	st, err := Write(io.Discard, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	per := float64(st.Bytes) / float64(st.Samples)
	t.Logf("1M samples: %d bytes (%.1f bytes/sample) in %s", st.Bytes, per, time.Since(start))
	if st.Samples != 1_000_000 || per < 200 || per > 290 {
		t.Errorf("%d samples, %.1f bytes/sample", st.Samples, per)
	}
}

// TestE2EPrometheusCountsEverySeries has a real Prometheus scrape the
// exposition: it must keep every sample as its own series.
func TestE2EPrometheusCountsEverySeries(t *testing.T) {
	const n = 20000
	out, _ := write(t, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	prom := testinfra.StartPrometheus(t, fmt.Sprintf(`  - job_name: ksm
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(srv.URL, "http://")))
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := prom.Query(t, `count({__name__=~"kube_.*"})`)
		if len(res) == 1 && res[0].Value == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count of kube_ series: %v after 30s, want %d; scrape health: %v", res, n,
				prom.Query(t, `up{job="ksm"}`))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func BenchmarkWrite(b *testing.B) {
	for b.Loop() {
		st, err := Write(io.Discard, 1_000_000)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(st.Bytes)
	}
}
