//go:build unix

package scrape

import (
	"fmt"
	"os"
	"syscall"

	"github.com/liftpush/liftpush/internal/config"
)

// openRegular opens name for reading if it is a regular file. O_NONBLOCK
// keeps open(2) from waiting for a writer when name is a named pipe; it
// changes nothing for a regular file.
func openRegular(name string) (*os.File, int64, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("reading exposition file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("reading exposition file: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("reading exposition file: %s is %s, not a regular file; liftpush reads only regular files, which end", name, config.FileType(st.Mode()))
	}
	return f, st.Size(), nil
}
