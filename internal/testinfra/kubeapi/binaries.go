package kubeapi

import (
	"os"
	"os/exec"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// Version is the kube-apiserver release the tests run against; it matches
// the client-go minor version in go.mod.
const Version = "1.37.2"

// apiserverBinary finds kube-apiserver: $LIFTPUSH_KUBE_APISERVER, else the
// path hack/build-kube-apiserver.sh caches it under.
func apiserverBinary() string {
	return testinfra.Cached("LIFTPUSH_KUBE_APISERVER", "kube-apiserver-v"+Version)
}

// etcdBinary finds etcd: $LIFTPUSH_ETCD, else Debian's etcd-server
// package, else $PATH.
func etcdBinary() string {
	if p := os.Getenv("LIFTPUSH_ETCD"); p != "" {
		return p
	}
	if isExecutable("/usr/bin/etcd") {
		return "/usr/bin/etcd"
	}
	p, _ := exec.LookPath("etcd")
	return p
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// requireBinaries returns the two binaries, or ends the test: a missing
// binary fails in CI (CI=true), where skipping would hide that the real
// apiserver tests did not run, and skips elsewhere so `go test ./...` works
// on a laptop without the 8-minute build.
func requireBinaries(tb testing.TB) (apiserver, etcd string) {
	tb.Helper()
	apiserver, etcd = apiserverBinary(), etcdBinary()
	var missing string
	switch {
	case !isExecutable(apiserver):
		missing = "kube-apiserver not found at " + apiserver + " (set LIFTPUSH_KUBE_APISERVER, or run hack/build-kube-apiserver.sh)"
	case etcd == "" || !isExecutable(etcd):
		missing = "etcd not found (set LIFTPUSH_ETCD, or apt-get install etcd-server)"
	}
	if missing == "" {
		return apiserver, etcd
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(missing)
	}
	tb.Skip(missing)
	return "", ""
}
