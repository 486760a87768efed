package config

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// names lists the destination names, remote_write first, as
// nameDestinations orders them.
func names(c *Config) []string {
	var ns []string
	for _, d := range c.destinations() {
		ns = append(ns, *d.name)
	}
	return ns
}

func loadValid(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg
}

func TestDefaultNames(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "one host, two paths",
			yaml: "remote_write: [{url: 'http://gw:8080/api/v1/push'}, {url: 'http://gw:8080/api/v1/write'}]",
			want: []string{"remote_write/gw:8080/api/v1/push", "remote_write/gw:8080/api/v1/write"},
		},
		{
			name: "one URL, three tenants",
			yaml: `remote_write:
  - {url: 'http://gw:8080/api/v1/push', headers: {X-Scope-OrgID: a}}
  - {url: 'http://gw:8080/api/v1/push', headers: {X-Scope-OrgID: b}}
  - {url: 'http://gw:8080/api/v1/push', headers: {X-Scope-OrgID: c}}`,
			want: []string{"remote_write/gw:8080/api/v1/push", "remote_write/gw:8080/api/v1/push#2", "remote_write/gw:8080/api/v1/push#3"},
		},
		{
			name: "no credentials, query or trailing slash",
			yaml: "remote_write: [{url: 'https://u:p@h:9443/api/v1/write//?tenant=a'}, {url: 'http://[::1]:9090'}]",
			want: []string{"remote_write/h:9443/api/v1/write", "remote_write/[::1]:9090"},
		},
		{
			name: "path kept as written",
			yaml: "remote_write: [{url: 'http://h/a%2Fb/x%20y'}]",
			want: []string{"remote_write/h/a%2Fb/x%20y"},
		},
		{
			name: "pushgateway base URL, with and without a path prefix",
			yaml: "pushgateway: [{url: 'http://pushgateway:9091'}, {url: 'http://pushgateway:9091/'}, {url: 'https://proxy/pgw/'}]",
			want: []string{"pushgateway/pushgateway:9091", "pushgateway/pushgateway:9091#2", "pushgateway/proxy/pgw"},
		},
		{
			name: "an explicit name later in the file is reserved first",
			yaml: `remote_write:
  - url: http://h/w
  - name: remote_write/h/w
    url: http://other/w`,
			want: []string{"remote_write/h/w#2", "remote_write/h/w"},
		},
		{
			name: "a suffix skips explicit names",
			yaml: `remote_write:
  - url: http://h/w
  - url: http://h/w
  - name: remote_write/h/w#2
    url: http://other/w`,
			want: []string{"remote_write/h/w", "remote_write/h/w#3", "remote_write/h/w#2"},
		},
		{
			name: "explicit names across kinds",
			yaml: `remote_write:
  - name: pushgateway/pgw:9091
    url: http://h/w
pushgateway:
  - url: http://pgw:9091`,
			want: []string{"pushgateway/pgw:9091", "pushgateway/pgw:9091#2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadValid(t, tt.yaml)
			if diff := cmp.Diff(tt.want, names(cfg)); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultNamesFixtures(t *testing.T) {
	cfg := mustLoadFile(t, "testdata/rw-same-host.good.yml")
	if diff := cmp.Diff([]string{"remote_write/gw:8080/api/v1/push", "remote_write/gw:8080/api/v1/write"}, names(cfg)); diff != "" {
		t.Errorf("rw-same-host names (-want +got):\n%s", diff)
	}
	cfg = mustLoadFile(t, "testdata/rw-same-url-tenants.good.yml")
	want := []string{
		"remote_write/mimir.example.com/api/v1/push", "remote_write/mimir.example.com/api/v1/push#2",
		"pushgateway/pushgateway:9091#2", "pushgateway/pushgateway:9091",
	}
	if diff := cmp.Diff(want, names(cfg)); diff != "" {
		t.Errorf("rw-same-url-tenants names (-want +got):\n%s", diff)
	}
}

// Spool directories and self-metric series are keyed by the names: the same
// file must give the same names on every load, on every Validate, and
// after check-config printed it.
func TestDefaultNamesStable(t *testing.T) {
	const doc = `
remote_write:
  - {url: 'http://gw:8080/api/v1/push', headers: {X-Scope-OrgID: a}}
  - {url: 'http://gw:8080/api/v1/push', headers: {X-Scope-OrgID: b}}
  - {url: 'http://gw:8080/api/v1/write'}
  - {name: 'remote_write/gw:8080/api/v1/write', url: 'http://other/api/v1/write'}
pushgateway:
  - {url: 'http://pushgateway:9091'}
  - {url: 'http://pushgateway:9091'}
`
	want := []string{
		"remote_write/gw:8080/api/v1/push", "remote_write/gw:8080/api/v1/push#2",
		"remote_write/gw:8080/api/v1/write#2", "remote_write/gw:8080/api/v1/write",
		"pushgateway/pushgateway:9091", "pushgateway/pushgateway:9091#2",
	}
	first := loadValid(t, doc)
	if diff := cmp.Diff(want, names(first)); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	for i := range 20 {
		if diff := cmp.Diff(want, names(loadValid(t, doc))); diff != "" {
			t.Fatalf("load %d: names (-want +got):\n%s", i+2, diff)
		}
	}

	// SetDefaults again: the given names are not taken for explicit ones,
	// which would push every suffix up by one.
	first.SetDefaults()
	if err := first.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, names(first)); diff != "" {
		t.Errorf("second SetDefaults: names (-want +got):\n%s", diff)
	}

	// The printed config, loaded again, keeps the names.
	if diff := cmp.Diff(want, names(loadValid(t, first.String()))); diff != "" {
		t.Errorf("names after String and Load (-want +got):\n%s", diff)
	}

	// A flag adds an entry after Load: the file's entries keep their
	// names, the new one takes the next suffix, as in a fresh run over
	// the whole list.
	if err := (Overrides{RemoteWriteURLs: []string{"http://gw:8080/api/v1/push"}}).Apply(first); err != nil {
		t.Fatal(err)
	}
	if err := first.Validate(); err != nil {
		t.Fatal(err)
	}
	want = append(want[:4:4], "remote_write/gw:8080/api/v1/push#3", want[4], want[5])
	if diff := cmp.Diff(want, names(first)); diff != "" {
		t.Errorf("after a flag entry: names (-want +got):\n%s", diff)
	}
}

// An entry without a usable URL gets no name, and no name error on top of
// its url error.
func TestDefaultNamesBadURL(t *testing.T) {
	cfg, err := Load([]byte("remote_write: [{remote_timeout: 5s}, {remote_timeout: 5s}, {url: 'http://h/w'}]"))
	if err != nil {
		t.Fatal(err)
	}
	const hint = "url: missing; set the receiver's write endpoint, e.g. https://prometheus.example.com/api/v1/write"
	want := "remote_write[0]: " + hint + "\nremote_write[1]: " + hint
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %q", err, want)
	}
	if diff := cmp.Diff([]string{"", "", "remote_write/h/w"}, names(cfg)); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestExplicitDuplicateNames(t *testing.T) {
	cfg, err := Load([]byte(`
remote_write:
  - {name: x, url: 'http://a/w'}
  - {url: 'http://a/w'}
  - {name: x, url: 'http://b/w'}
pushgateway:
  - {name: x, url: 'http://pgw:9091'}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := `remote_write[2].name: "x" is already used by remote_write[0]; give each destination a unique name` + "\n" +
		`pushgateway[0].name: "x" is already used by remote_write[0]; give each destination a unique name`
	for i := range 2 {
		if err := cfg.Validate(); err == nil || err.Error() != want {
			t.Errorf("Validate #%d = %v, want %q", i+1, err, want)
		}
	}
}

var dirNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func TestDirName(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct{ name, want string }{
		{"remote_write/gw:8080/api/v1/push", "remote_write_gw_8080_api_v1_push-"},
		{"remote_write/gw:8080/api/v1/push#2", "remote_write_gw_8080_api_v1_push_2-"},
		{"grafana-cloud", "grafana-cloud-"},
		{"", "-"},
		{".", ".-"},
		{"..", "..-"},
		{"/", "_-"},
		{"é", "__-"},
		{long, long[:80] + "-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := DirName(tt.name)
		if !strings.HasPrefix(got, tt.want) || len(got) != len(tt.want)+8 {
			t.Errorf("DirName(%q) = %q, want %q and 8 hex digits", tt.name, got, tt.want)
		}
		if !dirNameRE.MatchString(got) {
			t.Errorf("DirName(%q) = %q has unsafe bytes", tt.name, got)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("DirName(%q) = DirName(%q) = %q", tt.name, prev, got)
		}
		seen[got] = tt.name
		if DirName(tt.name) != got {
			t.Errorf("DirName(%q) is not stable", tt.name)
		}
	}
	// Spool directories are keyed by it: the mapping must never change.
	if got, want := DirName("remote_write/gw:8080/api/v1/push"), "remote_write_gw_8080_api_v1_push-468c2a30"; got != want {
		t.Errorf("DirName changed: %q, want %q", got, want)
	}
	// Names that sanitize or cut to one text stay apart.
	for _, pair := range [][2]string{
		{"a/b", "a_b"},
		{"a/b", "a:b"},
		{long + "x", long + "y"},
		{"remote_write/h/w", "remote_write/h/w#2"},
	} {
		if DirName(pair[0]) == DirName(pair[1]) {
			t.Errorf("DirName(%q) = DirName(%q) = %q", pair[0], pair[1], DirName(pair[0]))
		}
	}
}

func FuzzDirName(f *testing.F) {
	f.Add("remote_write/gw:8080/api/v1/push", "remote_write/gw:8080/api/v1/push#2")
	f.Add("a/b", "a_b")
	f.Add("", ".")
	f.Add("..", "../..")
	f.Add(strings.Repeat("x", 100)+"1", strings.Repeat("x", 100)+"2")
	f.Add("\x00\xff/é", "pushgateway/[::1]:9091")
	f.Fuzz(func(t *testing.T, a, b string) {
		da, db := DirName(a), DirName(b)
		for _, d := range []string{da, db} {
			if !dirNameRE.MatchString(d) || strings.Contains(d, "/") || d == "." || d == ".." {
				t.Fatalf("DirName = %q: not a safe directory name", d)
			}
			if len(d) > maxDirNameStem+9 {
				t.Fatalf("DirName = %q: %d bytes, want at most %d", d, len(d), maxDirNameStem+9)
			}
		}
		if (a == b) != (da == db) {
			t.Fatalf("DirName(%q) = %q, DirName(%q) = %q", a, da, b, db)
		}
	})
}
