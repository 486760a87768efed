package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// Validate only reads: every fixture, good or bad, is the same after
// Validate and ValidateRun as a second load of the file that was never
// validated.
func TestValidateDoesNotChangeConfig(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadFile(f)
			if err != nil {
				return // decoding errors are TestBadConfigs'
			}
			want, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_ = cfg.Validate()
			_ = cfg.ValidateRun()
			if !reflect.DeepEqual(want, cfg) {
				t.Errorf("Validate changed the config:\n%s", cmp.Diff(want.String(), cfg.String()))
			}
		})
	}
}

// What prometheus/common and Prometheus' relabel package normalize in place
// (bearer_token into authorization, an unset name validation scheme) is
// checked on a copy: a config built in code, without SetDefaults, comes out
// of Validate as it went in.
func TestValidateDoesNotChangeBuiltConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	build := func() *Config {
		rw, err := NewRemoteWrite("http://h/api/v1/write")
		if err != nil {
			t.Fatal(err)
		}
		rw.HTTPClientConfig.BearerToken = "token"
		rw.WriteRelabelConfigs = []*relabel.Config{{
			Action: relabel.Replace, TargetLabel: "env", Replacement: "prod",
			Regex: relabel.MustNewRegexp("(.*)"), Separator: ";",
		}}
		pg, err := NewPushgateway("http://pgw:9091")
		if err != nil {
			t.Fatal(err)
		}
		pg.Method = "PUT"
		pg.HTTPClientConfig.Authorization = &commoncfg.Authorization{Type: " Bearer ", Credentials: "x"}
		cfg := Default()
		cfg.RemoteWrite = []*RemoteWriteConfig{rw}
		cfg.Pushgateway = []*PushgatewayConfig{pg}
		cfg.Spool.Dir = dir
		return cfg
	}
	cfg, want := build(), build()
	_ = cfg.Validate()
	if !reflect.DeepEqual(want, cfg) {
		t.Errorf("Validate changed the config:\n%s", cmp.Diff(want.String(), cfg.String()))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Validate touched spool.dir %s: stat = %v", dir, err)
	}
}

// SetDefaults fills what Validate used to: names, a Pushgateway's job and
// method, the relabel rules' scheme. Running it again changes nothing.
func TestSetDefaults(t *testing.T) {
	const doc = `
global: {job: edge}
remote_write:
  - url: http://h/api/v1/write
    write_relabel_configs: [{target_label: env, replacement: prod}]
pushgateway:
  - {url: 'http://pgw:9091', method: POST}
  - {url: 'http://pgw:9091', job: own}
scrape_configs:
  - job_name: a
    static_configs: [{targets: ['a:9100']}]
    metric_relabel_configs: [{source_labels: [x], regex: y, action: drop}]
`
	cfg, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{
		cfg.RemoteWrite[0].Name,
		cfg.Pushgateway[0].Name, cfg.Pushgateway[0].Job, cfg.Pushgateway[0].Method,
		cfg.Pushgateway[1].Name, cfg.Pushgateway[1].Job, cfg.Pushgateway[1].Method,
	}
	want := []string{
		"remote_write/h/api/v1/write",
		"pushgateway/pgw:9091", "edge", "post",
		"pushgateway/pgw:9091#2", "own", "put",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Load (-want +got):\n%s", diff)
	}
	for _, rc := range []*relabel.Config{cfg.RemoteWrite[0].WriteRelabelConfigs[0], cfg.ScrapeConfigs[0].MetricRelabelConfigs[0]} {
		if rc.NameValidationScheme != model.UTF8Validation {
			t.Errorf("relabel rule %v: scheme %v, want utf8 (relabelling panics on an unset one)", rc, rc.NameValidationScheme)
		}
	}

	again, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	again.SetDefaults()
	if err := (Overrides{}).Apply(again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, again) {
		t.Errorf("SetDefaults is not idempotent:\n%s", cmp.Diff(cfg.String(), again.String()))
	}
}

// A destination Validate sees without a name was built in code without
// SetDefaults; it would have no spool directory.
func TestValidateUnnamedDestination(t *testing.T) {
	rw, err := NewRemoteWrite("http://h/w")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.RemoteWrite = []*RemoteWriteConfig{rw}
	want := "remote_write[0].name: empty; set a name, or call Config.SetDefaults before Validate"
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %q", err, want)
	}
}
