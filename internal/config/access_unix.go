//go:build unix

package config

import "golang.org/x/sys/unix"

// canWrite asks the kernel whether this process may create entries in the
// directory dir, without creating one: access(2) also answers EROFS for a
// read-only mount (a container's readOnlyRootFilesystem without a volume).
func canWrite(dir string) error {
	return unix.Access(dir, unix.W_OK|unix.X_OK)
}
