package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoadConfig feeds any bytes to Load, then Validate, ValidateRun and
// String: a config file is user input, and a bad one must give an error,
// never a panic.
func FuzzLoadConfig(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("remote_write: [{url: 'http://u:p@h/w', headers: {a: b}}]\nglobal: {schedule: '@every 0s'}"))
	f.Add([]byte("scrape_configs: [{job_name: a, scheme: file, static_configs: [{targets: ['']}], params: {a: [b]}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Load(b)
		if err != nil {
			if cfg != nil {
				t.Errorf("Load returned a config with error %v", err)
			}
			return
		}
		err = cfg.Validate()
		// Destination names key spools: a second Validate keeps them, and
		// a valid config never has two destinations under one name.
		first := names(cfg)
		_ = cfg.ValidateRun()
		if again := names(cfg); !slices.Equal(first, again) {
			t.Errorf("names changed on a second Validate: %q, then %q", first, again)
		}
		if err == nil {
			seen := map[string]bool{}
			for _, n := range first {
				if seen[n] {
					t.Errorf("valid config with two destinations named %q", n)
				}
				seen[n] = true
			}
		}
		_ = cfg.String()
	})
}
