package testinfra

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Pushgateway is a real Pushgateway (the Debian package, 1.5.1) with its own
// persistence file and the admin API enabled.
type Pushgateway struct {
	URL string
	// Addr is host:port, for a Prometheus scrape target.
	Addr string
}

// StartPushgateway starts a Pushgateway on a free loopback port.
//
// It always passes its own --persistence.file: Debian's build defaults it
// to /var/lib/prometheus/pushgateway.data, which would make tests share
// state with each other and with earlier runs.
func StartPushgateway(t testing.TB) *Pushgateway {
	t.Helper()
	bin := RequireBinary(t, "prometheus-pushgateway", "apt-get install -y --no-install-recommends prometheus-pushgateway")
	dir := t.TempDir()
	port := FreePort(t)
	startProcess(t, dir, bin,
		"--web.listen-address="+addr(port),
		"--persistence.file="+filepath.Join(dir, "pushgateway.data"),
		"--persistence.interval=1s",
		"--web.enable-admin-api",
	)
	pg := &Pushgateway{URL: "http://" + addr(port), Addr: addr(port)}
	waitReady(t, pg.URL+"/-/ready", 30*time.Second)
	return pg
}

// Wipe deletes every group (admin API), to reuse one Pushgateway across
// subtests.
func (pg *Pushgateway) Wipe(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, pg.URL+"/api/v1/admin/wipe", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("wiping the Pushgateway: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("wiping the Pushgateway: status %s", resp.Status)
	}
}

// PGSeries is one series of a group, as the Pushgateway's API returns it.
type PGSeries struct {
	Labels map[string]string
	Value  float64
}

// PGFamily is one metric family of a group.
type PGFamily struct {
	Type    string
	Help    string
	Metrics []PGSeries
}

// PGGroup is one group: its grouping key labels, its families by name
// (push_time_seconds and push_failure_time_seconds included) and whether
// the last push succeeded.
type PGGroup struct {
	Labels             map[string]string
	LastPushSuccessful bool
	Families           map[string]PGFamily
}

// Groups reads every group through GET /api/v1/metrics.
func (pg *Pushgateway) Groups(t testing.TB) []PGGroup {
	t.Helper()
	resp, err := http.Get(pg.URL + "/api/v1/metrics")
	if err != nil {
		t.Fatalf("reading the Pushgateway: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Status string                       `json:"status"`
		Data   []map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("decoding /api/v1/metrics: %v\n%s", err, b)
	}
	out := make([]PGGroup, 0, len(body.Data))
	for _, d := range body.Data {
		g := PGGroup{Families: map[string]PGFamily{}}
		for k, raw := range d {
			switch k {
			case "labels":
				if err := json.Unmarshal(raw, &g.Labels); err != nil {
					t.Fatal(err)
				}
			case "last_push_successful":
				if err := json.Unmarshal(raw, &g.LastPushSuccessful); err != nil {
					t.Fatal(err)
				}
			default:
				var f struct {
					Type    string `json:"type"`
					Help    string `json:"help"`
					Metrics []struct {
						Labels map[string]string `json:"labels"`
						Value  string            `json:"value"`
					} `json:"metrics"`
				}
				if err := json.Unmarshal(raw, &f); err != nil {
					t.Fatalf("decoding family %s: %v", k, err)
				}
				fam := PGFamily{Type: f.Type, Help: f.Help}
				for _, m := range f.Metrics {
					// Histograms and summaries have no single value;
					// their series are read through /metrics instead.
					v, _ := strconv.ParseFloat(m.Value, 64)
					fam.Metrics = append(fam.Metrics, PGSeries{Labels: m.Labels, Value: v})
				}
				g.Families[k] = fam
			}
		}
		out = append(out, g)
	}
	return out
}

// GroupsAfterDelete returns the groups once none is left, or what is left
// after 5 s. The Pushgateway answers a DELETE with 202 and applies it
// afterwards, so a read right after the answer may still see the group.
func (pg *Pushgateway) GroupsAfterDelete(t testing.TB) []PGGroup {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		groups := pg.Groups(t)
		if len(groups) == 0 || time.Now().After(deadline) {
			return groups
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Group returns the group whose grouping key is exactly key, or fails.
func (pg *Pushgateway) Group(t testing.TB, key map[string]string) PGGroup {
	t.Helper()
	groups := pg.Groups(t)
	for _, g := range groups {
		if sameLabels(g.Labels, key) {
			return g
		}
	}
	var have []map[string]string
	for _, g := range groups {
		have = append(have, g.Labels)
	}
	t.Fatalf("no Pushgateway group %v; have %v", key, have)
	return PGGroup{}
}

// Exposition returns the Pushgateway's /metrics text.
func (pg *Pushgateway) Exposition(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(pg.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// PushTime is the group's push_time_seconds (0 when it never succeeded).
func (g PGGroup) PushTime() float64 {
	f, ok := g.Families["push_time_seconds"]
	if !ok || len(f.Metrics) == 0 {
		return 0
	}
	return f.Metrics[0].Value
}

// Value returns the value of the family's series whose labels include
// match, or NaN-free false when there is none.
func (g PGGroup) Value(name string, match map[string]string) (float64, bool) {
	for _, m := range g.Families[name].Metrics {
		ok := true
		for k, v := range match {
			if m.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			return m.Value, true
		}
	}
	return 0, false
}

// String is for failure messages.
func (g PGGroup) String() string { return fmt.Sprintf("%v %d families", g.Labels, len(g.Families)) }
