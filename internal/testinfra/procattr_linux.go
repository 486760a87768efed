package testinfra

import "syscall"

// SysProcAttr is the attributes of every process the test helpers start
// (liftpush, Prometheus, the Pushgateway, etcd, kube-apiserver, go build):
// the kernel sends the child SIGKILL when its parent dies, so a test
// binary that is killed, by `go test -timeout` say, leaves nothing running.
// It returns a new value each call: exec.Cmd may keep a pointer to it.
//
// Pdeathsig fires when the OS thread that forked the child exits, not only
// when the whole process does. The Go runtime does not end its threads,
// except one whose goroutine exits while locked to it
// (runtime.LockOSThread), so never start a process from a goroutine that
// locks its thread and then returns.
//
// There is no Setpgid: the children do not start children of their own,
// and staying in the test's process group lets a terminal's Ctrl-C reach
// them too.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
