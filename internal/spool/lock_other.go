//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package spool

import (
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: without flock(2), two processes could share a spool dir
// and send its records twice, so there is no spool at all.
func tryLock(*os.File) (bool, error) {
	return false, fmt.Errorf("locking a spool dir is not supported on %s", runtime.GOOS)
}

// noFollow is O_NOFOLLOW where there is one; Open fails here anyway.
const noFollow = 0
