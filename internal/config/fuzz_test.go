package config

import (
	"os"
	"path/filepath"
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
		_ = cfg.Validate()
		_ = cfg.ValidateRun()
		_ = cfg.String()
	})
}
