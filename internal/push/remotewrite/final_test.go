package remotewrite

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
)

// counting counts the requests that reach h.
func counting(h http.Handler) (http.Handler, *atomic.Int64) {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}), &n
}

// TestLocalErrorsAreFinal: a secret file that is gone, or a CA file that
// no longer holds a certificate, is this side's fault: retrying cannot
// fix it, so it ends the delivery at once (issue 22: it was retried for
// the whole cycle). Without a spool the samples are dropped as
// local_config; with one they stay in it for the next cycle. Nothing
// reaches the receiver.
func TestLocalErrorsAreFinal(t *testing.T) {
	h, requests := counting(&receiver{})
	plain := httptest.NewServer(h)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	now := time.Now().UnixMilli()

	missingSecret := func(t *testing.T) *config.RemoteWriteConfig {
		return testConfig(t, plain.URL, func(c *config.RemoteWriteConfig) {
			c.HTTPClientConfig.BasicAuth = &commoncfg.BasicAuth{Username: "u", PasswordFile: filepath.Join(t.TempDir(), "gone")}
			c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(time.Millisecond)
		})
	}
	// badCA builds the client with a good CA file, then spoils the file:
	// prometheus/common reads it again at every request.
	badCA := func(t *testing.T) *config.RemoteWriteConfig {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		return testConfig(t, tlsSrv.URL, func(c *config.RemoteWriteConfig) {
			c.HTTPClientConfig.TLSConfig.CAFile = ca
			c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(time.Millisecond)
		})
	}
	spoil := func(t *testing.T, cfg *config.RemoteWriteConfig) {
		if f := cfg.HTTPClientConfig.TLSConfig.CAFile; f != "" {
			if err := os.WriteFile(f, []byte("not a certificate\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		cfg   func(*testing.T) *config.RemoteWriteConfig
		spool bool
		want  string
	}{
		{"missing password_file", missingSecret, false, "no such file or directory"},
		{"missing password_file, spooled", missingSecret, true, "no such file or directory"},
		{"ca_file without a certificate", badCA, false, "unable to use specified CA cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			var logs bytes.Buffer
			cfg := tc.cfg(t)
			cl := newTestClient(t, cfg, &logs)
			spoil(t, cfg)
			if tc.spool {
				withSpool(t, cl)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			rep := pushtest.Deliver(ctx, cl, push.Options{}, gauges(11, now))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("delivery took %s: retried until the deadline?", took)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("receiver got %d requests, want 0", n)
			}
			if rep.Retried != 0 || rep.Sent != 0 {
				t.Errorf("report %+v, want nothing sent or retried", rep)
			}
			if tc.spool {
				if rep.Spooled != 11 || rep.DroppedTotal() != 0 {
					t.Errorf("report %+v, want 11 kept in the spool, none dropped", rep)
				}
			} else if rep.Dropped[push.ReasonLocal] != 11 {
				t.Errorf("dropped %v, want local_config: 11", rep.Dropped)
			}
			if !tc.spool && (!strings.Contains(logs.String(), tc.want) || !strings.Contains(logs.String(), "not retried")) {
				t.Errorf("log does not say %q and not retried:\n%s", tc.want, logs.String())
			}
		})
	}
}

// TestFutureSamplesDropped: a sample more than maxAhead in the future is
// dropped as out_of_bounds and never sent; one just inside is sent.
func TestFutureSamplesDropped(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs bytes.Buffer
	cl := newTestClient(t, testConfig(t, srv.URL, nil), &logs)
	now := time.Now()
	groups := gauges(3, now.UnixMilli())
	fs := groups[0].Families
	fs[1].Samples[0].T = now.Add(maxAhead - time.Minute).UnixMilli()
	fs[2].Samples[0].T = now.Add(maxAhead + time.Minute).UnixMilli()
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, groups)
	if rep.Sent != 2 || rep.Dropped[dropOutOfBounds] != 1 || rep.DroppedTotal() != 1 {
		t.Errorf("report %+v, want 2 sent and 1 dropped as out_of_bounds", rep)
	}
	for _, r := range rc.all() {
		for _, ts := range r.req.Timeseries {
			for _, s := range ts.Samples {
				if s.Timestamp > now.Add(maxAhead).UnixMilli() {
					t.Errorf("receiver got a sample at %s", time.UnixMilli(s.Timestamp))
				}
			}
		}
	}
	if !strings.Contains(logs.String(), "sample too far in the future") || !strings.Contains(logs.String(), "series=g2") {
		t.Errorf("the drop is not logged with its series:\n%s", logs.String())
	}
}
