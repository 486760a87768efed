//go:build !linux

package testinfra

import "syscall"

// SysProcAttr is nil outside Linux, which has no parent-death signal: a
// test binary killed there may leave its children running.
func SysProcAttr() *syscall.SysProcAttr { return nil }
