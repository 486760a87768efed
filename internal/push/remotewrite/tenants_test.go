package remotewrite

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/spool"
)

// tenantReceiver stores series by their request's X-Scope-OrgID, and
// answers 503 to the tenants in down.
type tenantReceiver struct {
	mu   sync.Mutex
	got  map[string][]string // tenant -> series names@value
	down map[string]bool
}

func (rc *tenantReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant := r.Header.Get("X-Scope-OrgID")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if tenant == "" {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	if rc.down[tenant] {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ts := range req.Timeseries {
		ls := labels.New(prompbLabels(ts.Labels)...)
		name := ls.Get("__name__")
		if i := ls.Get("i"); i != "" {
			name += "/" + i
		}
		rc.got[tenant] = append(rc.got[tenant], name)
	}
	w.WriteHeader(http.StatusNoContent)
}

func prompbLabels(in []prompb.Label) []labels.Label {
	out := make([]labels.Label, len(in))
	for i, l := range in {
		out[i] = labels.Label{Name: l.Name, Value: l.Value}
	}
	return out
}

func (rc *tenantReceiver) series(tenant string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := slices.Clone(rc.got[tenant])
	slices.Sort(s)
	return s
}

func teamFamily(name string, teams ...string) metric.Family {
	f := metric.Family{Name: name, Type: "gauge"}
	for i, team := range teams {
		ls := labels.FromStrings("__name__", name, "i", string(rune('a'+i)))
		if team != "" {
			ls = labels.FromStrings("__name__", name, "i", string(rune('a'+i)), "team", team)
		}
		f.Samples = append(f.Samples, metric.Sample{Labels: ls, Value: float64(i), T: 1000})
	}
	return f
}

func tenantClient(t *testing.T, url string, static string, logs io.Writer) *Client {
	t.Helper()
	cfg := testConfig(t, url, func(c *config.RemoteWriteConfig) {
		c.HeadersFromLabels = map[string]string{"X-Scope-OrgID": "team"}
		if static != "" {
			c.Headers = map[string]commoncfg.Secret{"X-Scope-OrgID": commoncfg.Secret(static)}
		}
		c.QueueConfig.MaxSamplesPerSend = 2
		c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(time.Millisecond)
	})
	if logs == nil {
		logs = io.Discard
	}
	c, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTenantsFromLabels: three teams each get exactly their series; a
// series without the label, and the self-metrics, go to the static tenant.
func TestTenantsFromLabels(t *testing.T) {
	rc := &tenantReceiver{got: map[string][]string{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cl := tenantClient(t, srv.URL, "ops", nil)
	g := metric.Group{
		Families: []metric.Family{teamFamily("m", "a", "b", "c", "a", "", "b"), teamFamily("n", "c", "c")},
		Self:     []metric.Family{metric.Gauge("liftpush_collector_up", "", 1, labels.EmptyLabels())},
	}
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{g})
	if rep.Sent != 9 || rep.DroppedTotal() != 0 || rep.Destination != "test" {
		t.Fatalf("report %+v, want 9 sent by destination test", rep)
	}
	for tenant, want := range map[string][]string{
		"a":   {"m/a", "m/d"},
		"b":   {"m/b", "m/f"},
		"c":   {"m/c", "n/a", "n/b"},
		"ops": {"liftpush_collector_up", "m/e"},
	} {
		if got := rc.series(tenant); !slices.Equal(got, want) {
			t.Errorf("tenant %s holds %q, want %q", tenant, got, want)
		}
	}
}

// TestTenantsNoTenant: without a static header, series without the label
// are dropped as no_tenant, and the log names the label.
func TestTenantsNoTenant(t *testing.T) {
	rc := &tenantReceiver{got: map[string][]string{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs strings.Builder
	cl := tenantClient(t, srv.URL, "", &logs)
	g := metric.Group{
		Families: []metric.Family{teamFamily("m", "a", "", "")},
		Self:     []metric.Family{metric.Gauge("liftpush_collector_up", "", 1, labels.EmptyLabels())},
	}
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{g})
	if rep.Sent != 1 || rep.Dropped["no_tenant"] != 3 || rep.Err == nil {
		t.Fatalf("report %+v, want 1 sent and 3 dropped as no_tenant with an error", rep)
	}
	if !strings.Contains(logs.String(), "labels=team") || !strings.Contains(rep.Err.Error(), "no team label") {
		t.Errorf("the label is not named: %v\n%s", rep.Err, logs.String())
	}
}

// TestTenantsSpool: a tenant whose receiver is down keeps its records in a
// queue of its own while the others deliver; the next process replays them
// with the tenant's header, though it has no new data for that tenant.
func TestTenantsSpool(t *testing.T) {
	rc := &tenantReceiver{got: map[string][]string{}, down: map[string]bool{"b": true}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	dir := t.TempDir()
	run := func(g metric.Group) push.Report {
		t.Helper()
		sp, err := spool.Open(t.Context(), dir, spool.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		cl := tenantClient(t, srv.URL, "", nil)
		q, err := sp.Queue(cl.Name())
		if err != nil {
			t.Fatal(err)
		}
		cl.SetSpool(q)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		rep := pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{g})
		if err := cl.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := run(metric.Group{Families: []metric.Family{teamFamily("m", "a", "b", "b")}})
	if rep.Sent != 1 || rep.Spooled != 2 || rep.Spool == nil || rep.Spool.Records == 0 {
		t.Fatalf("first run %+v (spool %+v), want 1 sent, 2 spooled", rep, rep.Spool)
	}
	rc.mu.Lock()
	rc.down = nil
	rc.mu.Unlock()
	rep = run(metric.Group{Families: []metric.Family{teamFamily("x", "a")}})
	if rep.Replayed != 2 || rep.Sent != 1 || rep.Spool.Records != 0 {
		t.Fatalf("second run %+v (spool %+v), want b's 2 samples replayed", rep, rep.Spool)
	}
	if got, want := rc.series("b"), []string{"m/b", "m/c"}; !slices.Equal(got, want) {
		t.Errorf("tenant b holds %q, want %q", got, want)
	}
}

// TestTenantKey: with two headers a tenant is both values; a header with
// neither a label value nor a static value leaves the series without one.
func TestTenantKey(t *testing.T) {
	c := &Client{cfg: &config.RemoteWriteConfig{
		HeadersFromLabels: map[string]string{"X-Scope-OrgID": "team", "X-Region": "region"},
		Headers:           map[string]commoncfg.Secret{"X-Region": "eu"},
	}}
	tn := newTenants(c, nil)
	for _, tc := range []struct {
		ls   labels.Labels
		want string
		ok   bool
	}{
		{labels.FromStrings("team", "a", "region", "us"), "us" + tenantSep + "a", true},
		{labels.FromStrings("team", "a"), "eu" + tenantSep + "a", true},
		{labels.FromStrings("region", "us"), "", false},
	} {
		if got, ok := tn.key(tc.ls.Get); got != tc.want || ok != tc.ok {
			t.Errorf("key(%s) = %q, %v; want %q, %v", tc.ls, got, ok, tc.want, tc.ok)
		}
	}
}
