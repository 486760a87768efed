package config

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzLoadConfig feeds any bytes to Load, then Validate, ValidateRun and
// String: a config file is user input, and a bad one must give an error,
// never a panic. Validate must change nothing, and SetDefaults nothing
// more the second time.
func FuzzLoadConfig(f *testing.F) {
	eachFile(f, "testdata/*.yml", func(b []byte) { f.Add(b) })
	f.Add([]byte("remote_write: [{url: 'http://u:p@h/w', headers: {a: b}}]\nglobal: {schedule: '@every 0s'}"))
	f.Add([]byte("scrape_configs: [{job_name: a, scheme: file, static_configs: [{targets: ['']}], params: {a: [b]}}]"))
	f.Add([]byte("pushgateway: [{url: 'http://pgw:9091', method: PUT, bearer_token: x}]\nremote_write: [{url: 'http://h/w', write_relabel_configs: [{target_label: a, replacement: b}]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Load(b)
		if err != nil {
			if cfg != nil {
				t.Errorf("Load returned a config with error %v", err)
			}
			return
		}
		// Load is deterministic, so a second load is a deep copy.
		want, err := Load(b)
		if err != nil {
			t.Fatalf("second Load: %v", err)
		}
		err = cfg.Validate()
		_ = cfg.ValidateRun()
		if !reflect.DeepEqual(want, cfg) {
			t.Fatalf("Validate changed the config:\n%s", cmp.Diff(want.String(), cfg.String()))
		}
		want.SetDefaults()
		if !reflect.DeepEqual(want, cfg) {
			t.Fatalf("a second SetDefaults changed the config:\n%s", cmp.Diff(cfg.String(), want.String()))
		}
		// Destination names key spools: a valid config never has two
		// destinations under one name.
		if err == nil {
			seen := map[string]bool{}
			for _, n := range names(cfg) {
				if seen[n] {
					t.Errorf("valid config with two destinations named %q", n)
				}
				seen[n] = true
			}
		}
		_ = cfg.String()
	})
}
