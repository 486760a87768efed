package testinfra

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Prometheus3Version is the release hack/build-prometheus3.sh builds.
const Prometheus3Version = "3.16.0"

// prometheus3Binary finds Prometheus 3: $LIFTPUSH_PROMETHEUS3, else the path
// hack/build-prometheus3.sh caches it under.
func prometheus3Binary() string {
	return Cached("LIFTPUSH_PROMETHEUS3", "prometheus-v"+Prometheus3Version)
}

// StartPrometheus3 starts Prometheus 3.16, the remote-write 2.0 receiver
// (Debian's 2.42 answers 204 to a 2.0 body and stores nothing), on a free
// loopback port. features go to --enable-feature, e.g.
// "type-and-unit-labels", which stores a 2.0 series' type and unit as
// __type__ and __unit__ labels. Like RequireBinary, a missing binary fails
// the test under CI=true and skips it elsewhere.
func StartPrometheus3(t testing.TB, features ...string) *Prometheus {
	t.Helper()
	return StartPrometheus3With(t, "global:\n  scrape_interval: 15s\n", features...)
}

// StartPrometheus3With is StartPrometheus3 with config as prometheus.yml:
// the reference scraper of the scrape tests (same config, same series).
func StartPrometheus3With(t testing.TB, config string, features ...string) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, prometheus3Binary(), "hack/build-prometheus3.sh (or set LIFTPUSH_PROMETHEUS3)")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	args := []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr(port),
		// 3.x accepts 1.0 and 2.0 here by default.
		"--web.enable-remote-write-receiver",
	}
	if len(features) > 0 {
		args = append(args, "--enable-feature="+strings.Join(features, ","))
	}
	startProcess(t, dir, bin, args...)
	p := &Prometheus{URL: "http://" + addr(port)}
	waitReady(t, p.URL+"/-/ready", 30*time.Second)
	return p
}

// Series is one series with its raw samples.
type Series struct {
	Metric  map[string]string
	Samples []Point
}

// Point is one raw sample; T in milliseconds.
type Point struct {
	T int64
	V float64
}

// RawSamples returns every sample of the series matching selector in the
// window before now, with its exact millisecond timestamp (a range-vector
// query, which returns stored samples as they are).
func (p *Prometheus) RawSamples(t testing.TB, selector string, window time.Duration) []Series {
	t.Helper()
	q := selector + "[" + strconv.FormatInt(window.Milliseconds(), 10) + "ms]"
	res := p.query(t, q, "matrix")
	out := make([]Series, 0, len(res))
	for _, r := range res {
		s := Series{Metric: r.Metric}
		for _, v := range r.Values {
			ms, err := secondsToMillis(string(v[0]))
			if err != nil {
				t.Fatalf("query %q: timestamp %s: %v", q, v[0], err)
			}
			f, err := strconv.ParseFloat(strings.Trim(string(v[1]), `"`), 64)
			if err != nil {
				t.Fatalf("query %q: value %s: %v", q, v[1], err)
			}
			s.Samples = append(s.Samples, Point{T: ms, V: f})
		}
		out = append(out, s)
	}
	return out
}

// secondsToMillis converts the API's "1700000000.123" without going
// through a float, which could be off by a millisecond.
func secondsToMillis(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000")[:3]
	return strconv.ParseInt(sec+frac, 10, 64)
}
