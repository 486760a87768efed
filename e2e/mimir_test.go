package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// The Mimir tests (issue 19): liftpush against the receiver behind Grafana
// Cloud, a real Grafana Mimir (hack/build-mimir.sh), multi-tenant.

// storedKeys renders every sample tenant holds for selector in the last
// hour, as pointKey does, without job.
func storedKeys(t *testing.T, tenant *testinfra.Prometheus, selector string) []string {
	t.Helper()
	return rawKeys(tenant.RawSamples(t, selector, time.Hour), "job")
}

// TestE2EMimirTenants pushes one file to two remote-write 1.0 destinations
// of one Mimir, each with its static X-Scope-OrgID, each keeping its own
// series (write_relabel_configs) plus a shared one: each tenant holds
// exactly its series, values and timestamps, and sees none of the other's.
func TestE2EMimirTenants(t *testing.T) {
	m := testinfra.StartMimir(t, testinfra.MimirOptions{})
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	file := tempFile(t, "tenants.prom", fmt.Sprintf(`# TYPE mt_jobs_total counter
mt_jobs_total{owner="team-a",queue="build"} 10 %d
mt_jobs_total{owner="team-a",queue="deploy"} 11 %d
mt_jobs_total{owner="team-b",queue="build"} 20 %d
mt_jobs_total{owner="team-b",queue="test"} 21 %d
mt_jobs_total{owner="team-b",queue="lint"} 22 %d
# TYPE mt_shared gauge
mt_shared 1 %d
`, t0, t0+1, t0+2, t0+3, t0+4, t0+5))
	dest := func(tenant, other string) string {
		return `
  - name: ` + tenant + `
    url: ` + m.PushURL() + `
    headers: {X-Scope-OrgID: ` + tenant + `}
    write_relabel_configs: [{source_labels: [owner], regex: ` + other + `, action: drop}]`
	}
	cfg := tempFile(t, "liftpush.yml", "remote_write:"+dest("team-a", "team-b")+dest("team-b", "team-a")+"\n")
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, file)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	for _, want := range []string{"destination.team-a.sent=3", "destination.team-b.sent=4"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("summary does not say %s:\n%s", want, res.Stderr)
		}
	}

	key := func(v float64, ts int64, kv ...string) string {
		l := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return pointKey(l, v, ts)
	}
	shared := key(1, t0+5, "__name__", "mt_shared")
	want := map[string][]string{
		"team-a": {
			key(10, t0, "__name__", "mt_jobs_total", "owner", "team-a", "queue", "build"),
			key(11, t0+1, "__name__", "mt_jobs_total", "owner", "team-a", "queue", "deploy"),
			shared,
		},
		"team-b": {
			key(20, t0+2, "__name__", "mt_jobs_total", "owner", "team-b", "queue", "build"),
			key(21, t0+3, "__name__", "mt_jobs_total", "owner", "team-b", "queue", "test"),
			key(22, t0+4, "__name__", "mt_jobs_total", "owner", "team-b", "queue", "lint"),
			shared,
		},
		"team-c": nil, // nobody wrote to it
	}
	for tenant, w := range want {
		sort.Strings(w)
		if diff := cmp.Diff(w, storedKeys(t, m.Tenant(tenant), `{__name__=~"mt_.+"}`)); diff != "" {
			t.Errorf("tenant %s holds (-want +got):\n%s", tenant, diff)
		}
	}
	// The other tenant's series, asked for by name: nothing.
	if got := m.Tenant("team-a").Query(t, `mt_jobs_total{owner="team-b"}`); len(got) != 0 {
		t.Errorf("team-a sees team-b's series: %v", got)
	}
	if got := m.Tenant("team-b").Query(t, `mt_jobs_total{owner="team-a"}`); len(got) != 0 {
		t.Errorf("team-b sees team-a's series: %v", got)
	}
	// The premise: Mimir really is multi-tenant, a query needs a tenant.
	resp, err := http.Get(m.URL + "/prometheus/api/v1/query?query=mt_shared")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("query without X-Scope-OrgID: %s, want 401", resp.Status)
	}
}

// TestE2EMimirTenantsFromLabels pushes one file through one entry with
// headers_from_labels: each series goes to the tenant its team label
// names, without the label (write_relabel_configs drops it after it was
// read), and a series without one to the static header's tenant.
func TestE2EMimirTenantsFromLabels(t *testing.T) {
	m := testinfra.StartMimir(t, testinfra.MimirOptions{})
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	file := tempFile(t, "tenants.prom", fmt.Sprintf(`# TYPE mt_jobs_total counter
mt_jobs_total{team="team-a",queue="build"} 10 %d
mt_jobs_total{team="team-b",queue="build"} 20 %d
mt_jobs_total{team="team-b",queue="test"} 21 %d
# TYPE mt_shared gauge
mt_shared 1 %d
`, t0, t0+1, t0+2, t0+3))
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - name: mimir
    url: `+m.PushURL()+`
    headers_from_labels: {X-Scope-OrgID: team}
    headers: {X-Scope-OrgID: platform}
    write_relabel_configs: [{action: labeldrop, regex: team}]
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, file)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if !strings.Contains(res.Stderr, "destination.mimir.sent=4") {
		t.Errorf("summary does not say all 4 were sent:\n%s", res.Stderr)
	}
	jobs := func(v float64, ts int64, queue string) string {
		return pointKey(map[string]string{"__name__": "mt_jobs_total", "queue": queue}, v, ts)
	}
	for tenant, want := range map[string][]string{
		"team-a":   {jobs(10, t0, "build")},
		"team-b":   {jobs(20, t0+1, "build"), jobs(21, t0+2, "test")},
		"platform": {pointKey(map[string]string{"__name__": "mt_shared"}, 1, t0+3)},
	} {
		sort.Strings(want)
		if diff := cmp.Diff(want, storedKeys(t, m.Tenant(tenant), `{__name__=~"mt_.+"}`)); diff != "" {
			t.Errorf("tenant %s holds (-want +got):\n%s", tenant, diff)
		}
	}
}

// TestE2EMimirRemoteWrite2 pushes the tricky exposition as remote-write
// 2.0 into Mimir through a pass-through proxy: every request is 2.0,
// answered 2xx with Samples-Written equal to its samples (so no fallback to
// 1.0), and Mimir holds every label, value and timestamp.
func TestE2EMimirRemoteWrite2(t *testing.T) {
	m := testinfra.StartMimir(t, testinfra.MimirOptions{})
	proxy := startRWProxy(t, m.PushURL())
	t0 := time.Now().Add(-2 * time.Minute).UnixMilli()
	text, want := trickyExposition(t0)
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - url: `+proxy.URL+`
    headers: {X-Scope-OrgID: team-v2}
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {max_samples_per_send: 4, max_shards: 2}
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, tempFile(t, "tricky.prom", text))
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", res.ExitCode)
	}
	if strings.Contains(res.Stderr, "falling back") {
		t.Errorf("fell back from Mimir, which speaks 2.0:\n%s", res.Stderr)
	}

	exs := proxy.exchanges()
	sent := 0
	for i, ex := range exs {
		if !ex.v2 || ex.version != "2.0.0" {
			t.Errorf("request %d: 2.0 = %v, version %q; want a 2.0 request", i, ex.v2, ex.version)
		}
		if ex.status/100 != 2 || ex.written != strconv.Itoa(ex.samples) {
			t.Errorf("request %d: answered %d with Samples-Written %q (%s), want 2xx with %d", i, ex.status, ex.written, ex.body, ex.samples)
		}
		sent += ex.samples
	}
	if sent != len(want) || len(exs) < 2 {
		t.Errorf("%d samples in %d requests, want %d in several (max_samples_per_send 4)", sent, len(exs), len(want))
	}
	if len(exs) > 0 {
		t.Logf("Mimir answered a 2.0 request %d with Samples-Written %q", exs[0].status, exs[0].written)
	}

	var wantKeys []string
	for _, p := range want {
		wantKeys = append(wantKeys, pointKey(p.labels, p.v, p.t))
	}
	sort.Strings(wantKeys)
	if diff := cmp.Diff(wantKeys, storedKeys(t, m.Tenant("team-v2"), `{__name__=~"rt_.+"}`)); diff != "" {
		t.Errorf("stored samples (-want +got):\n%s", diff)
	}
	// 2.0 carries type and help on every series; Mimir keeps them per family.
	for name, want := range map[string]string{
		"rt_requests_total":      "counter|" + `Requests with "quotes", a backslash \ and a newline ` + "\n" + ` in the help ☁.`,
		"rt_temperature_celsius": "gauge|Temperature.",
		"rt_latency_seconds":     "histogram|Latency.",
	} {
		if got := mimirMetadata(t, m, "team-v2", name); got != want {
			t.Errorf("metadata of %s = %q, want %q", name, got, want)
		}
	}
}

// mimirMetadata returns "type|help" of family name as tenant sees it in
// /prometheus/api/v1/metadata, "" when Mimir knows none.
func mimirMetadata(t *testing.T, m *testinfra.Mimir, tenant, name string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.URL+"/prometheus/api/v1/metadata?metric="+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("metadata of %s: %v", name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Data map[string][]struct{ Type, Help string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("metadata of %s: %s, decoding: %v", name, resp.Status, err)
	}
	var out []string
	for _, md := range body.Data[name] {
		out = append(out, md.Type+"|"+md.Help)
	}
	return strings.Join(out, ";")
}

// TestE2EMimirSpoolReplay runs `run --once` with a spool dir against Mimir
// behind a proxy (a load balancer, as in front of Grafana Cloud): up, then
// stopped for two runs, which exit 1 keeping their data, then restarted on
// its data: the next run replays both, and Mimir holds every value once.
// Mimir silently drops an exact duplicate, so "once" is checked on the
// wire too: the samples it accepted equal the samples it holds.
func TestE2EMimirSpoolReplay(t *testing.T) {
	m := testinfra.StartMimir(t, testinfra.MimirOptions{})
	proxy := startRWProxy(t, m.PushURL())
	src := newSeqSource(t)
	dir := t.TempDir()
	cfg := tempFile(t, "liftpush.yml", fmt.Sprintf(`
global: {cycle_timeout: 3s}
scrape_configs:
  - {job_name: src, scrape_timeout: 1s, static_configs: [{targets: ['%s']}]}
remote_write:
  - name: edge
    url: %s
    headers: {X-Scope-OrgID: team-spool}
    queue_config: {min_backoff: 20ms, max_backoff: 200ms}
spool: {dir: '%s'}
`, src.host, proxy.URL, dir))
	const runs, downFrom, downTo = 4, 2, 3
	spooled := 0
	for i := 1; i <= runs; i++ {
		switch i {
		case downFrom:
			m.Stop(t)
		case downTo + 1:
			m.Start(t)
		}
		res := testinfra.StartLiftpush(t, nil, "run", "--once", "--config.file="+cfg).Wait(time.Minute)
		summary := summaryLine(t, res.Stderr)
		t.Logf("run %d: exit %d: %s", i, res.ExitCode, summary)
		down := i >= downFrom && i <= downTo
		want := 0
		if down {
			want = 1
		}
		if res.ExitCode != want {
			t.Errorf("run %d: exit code %d, want %d:\n%s", i, res.ExitCode, want, res.Stderr)
		}
		switch n := destCount(summary, "edge", "spooled"); {
		case down && n <= 0:
			t.Errorf("run %d during the outage spooled nothing", i)
		case down:
			spooled += n
		case n != 0:
			t.Errorf("run %d left %d samples in the spool, want 0", i, n)
		}
		if i == downTo+1 {
			if got := destCount(summary, "edge", "replayed"); got != spooled {
				t.Errorf("run %d replayed %d samples, want the %d runs %d..%d spooled", i, got, spooled, downFrom, downTo)
			}
		}
	}
	tenant := m.Tenant("team-spool")
	if problems := seqProblems(seqInProm(t, tenant), runs); problems != "" {
		t.Errorf("Mimir does not hold each of the values 1..%d exactly once: %s", runs, problems)
	}
	accepted := 0
	for _, ex := range proxy.exchanges() {
		if ex.status/100 == 2 {
			accepted += ex.samples
		}
	}
	held := 0
	for _, s := range tenant.RawSamples(t, `{__name__=~".+"}`, time.Hour) {
		held += len(s.Samples)
	}
	if accepted != held {
		t.Errorf("Mimir accepted %d samples on the wire and holds %d: some were delivered more than once", accepted, held)
	}
	if recs, _ := recordFiles(t, queueDir(dir, "edge")); len(recs) != 0 {
		t.Errorf("records left in the spool: %v", recs)
	}
}

// TestE2EMimirOutOfOrder pushes a sample, then a file with an older sample
// of the same series and a new series: Mimir stores the new series and
// refuses the request with 400 (err-mimir-sample-out-of-order). liftpush
// sends it once, never retries it, counts it as out_of_order and exits 1.
func TestE2EMimirOutOfOrder(t *testing.T) {
	m := testinfra.StartMimir(t, testinfra.MimirOptions{})
	proxy := startRWProxy(t, m.PushURL())
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - name: mimir
    url: `+proxy.URL+`
    headers: {X-Scope-OrgID: team-ooo}
    queue_config: {min_backoff: 20ms, max_backoff: 200ms}
`)
	t1 := time.Now().Add(-time.Minute).UnixMilli()
	first := tempFile(t, "first.prom", fmt.Sprintf("mo_value{series=\"a\"} 1 %d\n", t1))
	if res := testinfra.Run(t, nil, "push", "--config.file="+cfg, first); res.ExitCode != 0 {
		t.Fatalf("first push: exit code %d, want 0", res.ExitCode)
	}
	from := len(proxy.exchanges())
	second := tempFile(t, "second.prom", fmt.Sprintf("mo_value{series=\"a\"} 2 %d\nmo_value{series=\"b\"} 3 %d\n", t1-10_000, t1+1))
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, second)
	exs := proxy.exchanges()[from:]
	for i, ex := range exs {
		t.Logf("request %d of the second push: %d samples, Retry-Attempt %q -> %d, body %q", i, ex.samples, ex.retryAttempt, ex.status, ex.body)
	}
	if len(exs) != 1 || exs[0].status != http.StatusBadRequest {
		t.Fatalf("the second push made %d requests, want 1 answered 400", len(exs))
	}
	if !strings.Contains(exs[0].body, "out-of-order") {
		t.Errorf("Mimir's 400 does not say out-of-order: %q", exs[0].body)
	}
	if res.ExitCode != 1 {
		t.Errorf("exit code %d, want 1: samples were refused", res.ExitCode)
	}
	summary := logLines(res.Stderr, "push finished")
	if len(summary) != 1 {
		t.Fatalf("%d push summaries, want 1:\n%s", len(summary), res.Stderr)
	}
	// Mimir took the valid sample of the refused request and refused the
	// old one, and says so in its own metrics.
	tenant := m.Tenant("team-ooo")
	wantKeys := []string{
		pointKey(map[string]string{"__name__": "mo_value", "series": "a"}, 1, t1),
		pointKey(map[string]string{"__name__": "mo_value", "series": "b"}, 3, t1+1),
	}
	if diff := cmp.Diff(wantKeys, storedKeys(t, tenant, `mo_value`)); diff != "" {
		t.Errorf("stored samples (-want +got):\n%s", diff)
	}
	if got := m.Counter(t, "cortex_discarded_samples_total", map[string]string{"user": "team-ooo", "reason": "sample-out-of-order"}); got != 1 {
		t.Errorf("Mimir discarded %g samples as out of order, want 1", got)
	}

	// A 1.0 answer does not say how many were refused: the whole request
	// counts, under the reason Mimir gave.
	if got := dropCount(summary[0], "mimir", "out_of_order"); got != 2 {
		t.Errorf("dropped %d samples for out_of_order, want 2: %s", got, summary[0])
	}
}

// limitedMimir starts Mimir with the tenant "limited" at 1,000 samples/s
// and a burst of 1,500, behind a proxy that records every exchange. Its
// Retry-After is shortened to 1 s (the default, 6 s, doubles with each
// Retry-Attempt).
func limitedMimir(t *testing.T) (*testinfra.Mimir, *rwProxy) {
	t.Helper()
	m := testinfra.StartMimir(t, testinfra.MimirOptions{
		Overrides: map[string]map[string]any{"limited": {"ingestion_rate": 1000, "ingestion_burst_size": 1500}},
		Args:      []string{"-distributor.retry-after-header.min-backoff=1s"},
	})
	return m, startRWProxy(t, m.PushURL())
}

// gaugeFile writes n series of the gauge name, valued 0..n-1.
func gaugeFile(t *testing.T, name string, n int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
	for i := range n {
		fmt.Fprintf(&b, "%s{i=\"%d\"} %d\n", name, i, i)
	}
	return tempFile(t, name+".prom", b.String())
}

// TestE2EMimirRateLimited pushes 3,000 samples, 1,000 a request, as a
// tenant limited to 1,000 samples/s (burst 1,500): Mimir answers 429 with
// Retry-After, liftpush waits at least that long before each retry, and
// every sample arrives once. Mimir's Retry-After is shortened to 1 s (its
// default, 6 s, doubles with each Retry-Attempt).
func TestE2EMimirRateLimited(t *testing.T) {
	const n = 3000
	m, proxy := limitedMimir(t)
	load := gaugeFile(t, "mr_load", n)
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - name: mimir
    url: `+proxy.URL+`
    headers: {X-Scope-OrgID: limited}
    queue_config: {max_samples_per_send: 1000, max_shards: 1}
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, load)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", res.ExitCode)
	}
	exs := proxy.exchanges()
	limited, accepted := 0, 0
	for i, ex := range exs {
		switch ex.status {
		case http.StatusOK:
			accepted += ex.samples
		case http.StatusTooManyRequests:
			limited++
			wait, err := strconv.Atoi(ex.retryAfter)
			if err != nil {
				t.Fatalf("request %d: 429 with Retry-After %q", i, ex.retryAfter)
			}
			if i+1 < len(exs) {
				if gap := exs[i+1].at.Sub(ex.at); gap < time.Duration(wait)*time.Second-50*time.Millisecond {
					t.Errorf("request %d came %s after a 429 with Retry-After %ds", i+1, gap.Round(time.Millisecond), wait)
				}
			}
		default:
			t.Errorf("request %d: %d %q", i, ex.status, ex.body)
		}
		t.Logf("request %d at +%s: %d samples, Retry-Attempt %q -> %d, Retry-After %q", i, ex.at.Sub(exs[0].at).Round(time.Millisecond), ex.samples, ex.retryAttempt, ex.status, ex.retryAfter)
	}
	if limited == 0 {
		t.Errorf("Mimir never answered 429; the test's premise is gone")
	}
	if accepted != n {
		t.Errorf("Mimir accepted %d samples, want each of the %d once", accepted, n)
	}
	if got := m.Tenant("limited").Value(t, "count(mr_load)"); got != n {
		t.Errorf("Mimir holds %g series, want %d", got, n)
	}
}

// TestE2EMimirBurstSplit pushes 20,000 samples, in default requests of
// 2,000, as a tenant limited to 1,000/s with a burst of 1,500: Mimir answers
// every whole request 429 ("the tenant exceeded the ingestion burst size
// limit"), so liftpush splits them in halves, which fit, and every sample
// arrives once through the 429s.
func TestE2EMimirBurstSplit(t *testing.T) {
	const n = 20000
	m, proxy := limitedMimir(t)
	load := gaugeFile(t, "mb_load", n)
	cfg := tempFile(t, "liftpush.yml", `
remote_write:
  - name: mimir
    url: `+proxy.URL+`
    headers: {X-Scope-OrgID: limited}
`)
	res := testinfra.Run(t, nil, "push", "--config.file="+cfg, load)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", res.ExitCode)
	}
	exs := proxy.exchanges()
	accepted := 0
	for i, ex := range exs {
		t.Logf("request %d at +%s: %d samples, Retry-Attempt %q -> %d, Retry-After %q", i, ex.at.Sub(exs[0].at).Round(time.Millisecond), ex.samples, ex.retryAttempt, ex.status, ex.retryAfter)
		switch ex.status {
		case http.StatusOK:
			accepted += ex.samples
		case http.StatusTooManyRequests:
		default:
			t.Errorf("request %d: %d %q", i, ex.status, ex.body)
		}
	}
	whole := 0
	for _, ex := range exs {
		if ex.samples == 2000 && ex.status == http.StatusTooManyRequests && strings.Contains(ex.body, "burst size") {
			whole++
		}
	}
	if whole == 0 {
		t.Errorf("no request of 2,000 samples was refused for the burst; the test's premise is gone")
	}
	if accepted != n {
		t.Errorf("Mimir accepted %d samples, want each of the %d once", accepted, n)
	}
	if got := m.Tenant("limited").Value(t, "count(mb_load)"); got != n {
		t.Errorf("Mimir holds %g series, want %d", got, n)
	}
}
