package config

import (
	"strings"
	"testing"
)

// TestRuntimeBlock: Prometheus' runtime block is read with its keys, and a
// bad value or an unknown key is an error naming it.
func TestRuntimeBlock(t *testing.T) {
	cfg := loadValid(t, "runtime: {gogc: 50, log_level: debug}\n")
	if cfg.Runtime.GoGC == nil || *cfg.Runtime.GoGC != 50 || cfg.Runtime.LogLevel != "debug" {
		t.Errorf("runtime = %+v, want gogc 50, log_level debug", cfg.Runtime)
	}
	if cfg := loadValid(t, "runtime: {}\n"); cfg.Runtime.GoGC != nil || cfg.Runtime.LogLevel != "" {
		t.Errorf("empty runtime block = %+v, want nothing set", cfg.Runtime)
	}
	for doc, want := range map[string]string{
		"runtime: {log_level: verbose}\n": "runtime.log_level",
		"runtime: {gogc: lots}\n":         "gogc",
		"runtime: {gomaxprocs: 2}\n":      "gomaxprocs",
	} {
		cfg, err := Load([]byte(doc))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", doc, err, want)
		}
	}
}
