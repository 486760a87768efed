package pushgateway

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestUntrustedCertificateIsFinal: a Pushgateway behind a certificate
// liftpush does not trust gets one handshake per worker at most, not one
// per group and retry (issue 22); every group is dropped as tls.
func TestUntrustedCertificateIsFinal(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	l := &countingListener{Listener: srv.Listener}
	srv.Listener = l
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are expected
	srv.StartTLS()
	defer srv.Close()
	c, logs := newTestClient(t, srv.URL, nil)
	var groups []metric.Group
	for i := range 20 {
		name := fmt.Sprintf("c%d", i)
		groups = append(groups, metric.Group{Collector: name, Up: true, Families: []metric.Family{gauge("v", 1)}, Self: selfMetrics(name, true, 1)})
	}
	start := time.Now()
	rep := pushtest.Deliver(t.Context(), c, push.Options{}, groups)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("delivery took %s", took)
	}
	if n := l.n.Load(); n > parallel {
		t.Errorf("%d TLS connections for 20 groups, want at most %d (one per worker)", n, parallel)
	}
	if rep.Sent != 0 || rep.Retried != 0 || rep.Dropped[push.ReasonTLS] != rep.DroppedTotal() || rep.DroppedTotal() == 0 {
		t.Errorf("report %+v, want every sample dropped as tls, none retried", rep)
	}
	if !strings.Contains(logs.String(), "certificate signed by unknown authority") {
		t.Errorf("log does not name the fault:\n%s", logs.String())
	}
}
