package testinfra

import (
	"os"
	"path/filepath"
)

// Cached is the path of a test binary that the hack/ build scripts cache:
// $<env> when set, else <$LIFTPUSH_CACHE or ~/.cache/liftpush>/<file>. The
// scripts and the tests agree on this one place.
func Cached(env, file string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	cache := os.Getenv("LIFTPUSH_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "liftpush")
	}
	return filepath.Join(cache, file)
}
