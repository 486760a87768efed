//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package spool

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) on f without waiting; ok is false
// when another open file description holds it, in this process or
// another. The kernel releases it when the holder closes f or dies, so a
// killed process never leaves a stale lock behind.
func tryLock(f *os.File) (ok bool, err error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		default:
			return false, err
		}
	}
}

// noFollow makes an open fail on a symlink: nothing in the spool dir is
// one, and following one would read or write outside it.
const noFollow = syscall.O_NOFOLLOW
