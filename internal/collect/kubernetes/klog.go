package kubernetes

import (
	"log/slog"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

var klogOnce sync.Once

// routeKlog sends client-go's own logging (klog, a process-wide global)
// into our structured log, so that for example "Couldn't get current
// server API group list" comes out as logfmt/JSON like everything else,
// not as a glog line on stderr. The first collector's logger wins.
func routeKlog(logger *slog.Logger) {
	klogOnce.Do(func() {
		klog.SetLogger(logr.FromSlogHandler(logger.With("component", "client-go").Handler()))
	})
}
