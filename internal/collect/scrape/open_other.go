//go:build !unix

package scrape

import (
	"fmt"
	"os"
)

// openRegular opens name for reading if it is a regular file.
func openRegular(name string) (*os.File, int64, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, 0, fmt.Errorf("reading exposition file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("reading exposition file: %s is not a regular file; liftpush reads only regular files, which end", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("reading exposition file: %w", err)
	}
	return f, st.Size(), nil
}
