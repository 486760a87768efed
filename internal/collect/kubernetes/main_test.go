package kubernetes

import (
	"os"
	"testing"

	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// TestMain stops the apiserver that the tests of this package share (see
// kubeapi.Shared): one start per package keeps CI time down.
func TestMain(m *testing.M) {
	code := m.Run()
	kubeapi.StopShared()
	os.Exit(code)
}
