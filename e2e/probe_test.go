package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// probeRows parses check-config --probe's table into part -> "OK ..." or
// "FAIL ...".
func probeRows(t *testing.T, stdout string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		f := strings.Fields(line)
		if i == 0 {
			if len(f) != 3 || f[0] != "PART" {
				t.Fatalf("no table header: %q", line)
			}
			continue
		}
		if len(f) < 2 {
			t.Fatalf("short row %q", line)
		}
		rows[f[0]] = strings.Join(f[1:], " ")
	}
	return rows
}

// TestE2EProbe runs check-config --probe with the built binary against real
// components: one config whose every part works (exit 0), one whose every
// part is broken in the usual ways (exit 1, each with its reason), and
// checks that no secret is printed.
func TestE2EProbe(t *testing.T) {
	prom := testinfra.StartPrometheus(t, "")
	pg := testinfra.StartPushgateway(t)
	kube := kubeapi.Start(t)
	fake := startSpaceliftDemo(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE app_up gauge\napp_up 1\napp_requests_total{code=\"200\"} 7\n"))
	}))
	defer target.Close()

	t.Run("good", func(t *testing.T) {
		cfg := tempFile(t, "liftpush.yml", `
`+spaceliftBlock(t, fake.URL, "demo-secret")+`
kubernetes:
  kubeconfig: `+kube.Kubeconfig+`
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["`+strings.TrimPrefix(target.URL, "http://")+`"]}]
remote_write:
  - name: prometheus
    url: `+prom.WriteURL()+`
pushgateway:
  - name: pgw
    url: `+pg.URL+`
`)
		res := testinfra.Run(t, nil, "check-config", "--probe", "--config.file="+cfg)
		t.Logf("stdout:\n%s", res.Stdout)
		if res.ExitCode != 0 {
			t.Fatalf("exit code %d, want 0", res.ExitCode)
		}
		rows := probeRows(t, res.Stdout)
		for part, want := range map[string]string{
			"spacelift":               "token valid until",
			"kubernetes":              "can list deployments (all namespaces)",
			"scrape/app":              "HTTP 200, text/plain; version=0.0.4, 2 samples",
			"remote_write/prometheus": "accepted an empty WriteRequest (HTTP 204)",
			"pushgateway/pgw":         "is ready, version",
		} {
			if got := rows[part]; !strings.HasPrefix(got, "OK") || !strings.Contains(got, want) {
				t.Errorf("%s: %q, want OK ... %q", part, got, want)
			}
		}
		if len(rows) != 5 {
			t.Errorf("%d rows, want 5: %v", len(rows), rows)
		}
		if strings.Contains(res.Stdout+res.Stderr, "demo-secret") {
			t.Error("the Spacelift secret is printed")
		}
		if got := prom.Query(t, `{__name__=~".+"}`); len(got) != 0 {
			t.Errorf("the probe wrote series: %v", got)
		}
		if got := pg.Groups(t); len(got) != 0 {
			t.Errorf("the probe pushed groups: %v", got)
		}
	})

	t.Run("broken", func(t *testing.T) {
		const password = "s3cr3t-rw-password"
		unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "authentication error: invalid token", http.StatusUnauthorized)
		}))
		defer unauthorized.Close()
		// A ServiceAccount that may get but not list Deployments.
		token := kube.ServiceAccountToken(t, "team-a", "liftpush-probe", []rbacv1.PolicyRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
		})
		kubeconfig := kube.WriteKubeconfig(t, "liftpush-probe", token)
		cfg := tempFile(t, "liftpush.yml", `
`+spaceliftBlock(t, fake.URL, "not-the-secret")+`
kubernetes:
  kubeconfig: `+kubeconfig+`
  namespaces: [team-a]
remote_write:
  - name: cloud
    url: `+unauthorized.URL+`/api/prom/push
    basic_auth: {username: "123456", password: `+password+`}
`)
		res := testinfra.Run(t, nil, "check-config", "--probe", "--config.file="+cfg)
		t.Logf("stdout:\n%s", res.Stdout)
		if res.ExitCode != 1 {
			t.Fatalf("exit code %d, want 1", res.ExitCode)
		}
		rows := probeRows(t, res.Stdout)
		for part, want := range map[string][]string{
			"spacelift": {"invalid API key ID or secret", "check api_key_id and the secret"},
			"kubernetes": {`listing deployments.apps in namespace "team-a" is forbidden`,
				`grant it with a Role in namespace "team-a" with the rule {apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"]}`},
			"remote_write/cloud": {"HTTP status 401 Unauthorized", "authentication error: invalid token", "check the credentials"},
		} {
			got := rows[part]
			if !strings.HasPrefix(got, "FAIL") {
				t.Errorf("%s: %q, want FAIL", part, got)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: %q lacks %q", part, got, w)
				}
			}
		}
		out := res.Stdout + res.Stderr
		for _, secret := range []string{"not-the-secret", password, token} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret (%.8s...) is printed", secret)
			}
		}
	})
}
