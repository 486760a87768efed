package remotewrite

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

type fakeResolver map[string][]string

func (r fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

// TestRoundRobinDial dials a random address of the name, as Prometheus'
// round_robin_dns does, and the address as given where the name does not
// resolve.
func TestRoundRobinDial(t *testing.T) {
	var (
		mu     sync.Mutex
		dialed []string
	)
	dial := roundRobinDial(fakeResolver{"rw.example": {"10.0.0.1", "10.0.0.2", "10.0.0.3"}}, func(_ context.Context, _, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return nil, errors.New("not dialling in a test")
	})
	for range 200 {
		dial(t.Context(), "tcp", "rw.example:443")
	}
	dial(t.Context(), "tcp", "unknown.example:443")
	dial(t.Context(), "tcp", "no-port")
	seen := map[string]int{}
	for _, a := range dialed[:200] {
		seen[a]++
	}
	for _, want := range []string{"10.0.0.1:443", "10.0.0.2:443", "10.0.0.3:443"} {
		if seen[want] == 0 {
			t.Errorf("never dialled %s in 200 connections: %v", want, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("dialled %v, want the three addresses only", seen)
	}
	if got := dialed[200:]; !slices.Equal(got, []string{"unknown.example:443", "no-port"}) {
		t.Errorf("unresolvable addresses dialled as %q, want them as given", got)
	}
}

// TestRoundRobinDNSClient sends through a client built with round_robin_dns
// (to an IP, which resolves to itself: a name such as localhost may resolve
// to an address the test server does not listen on).
func TestRoundRobinDNSClient(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	probeThrough(t, testConfig(t, srv.URL+"/api/v1/write", func(c *config.RemoteWriteConfig) { c.RoundRobinDNS = true }))
	if len(rc.all()) != 1 {
		t.Errorf("receiver got %d requests, want 1", len(rc.all()))
	}
}

// TestHTTPClientKeys: follow_redirects, enable_http2 and http_headers of
// the HTTP client block reach the wire.
func TestHTTPClientKeys(t *testing.T) {
	t.Run("follow_redirects", func(t *testing.T) {
		rc := &receiver{}
		mux := http.NewServeMux()
		mux.Handle("/new", rc)
		mux.Handle("/old", http.RedirectHandler("/new", http.StatusPermanentRedirect))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		for _, follow := range []bool{true, false} {
			cl := newTestClient(t, testConfig(t, srv.URL+"/old", func(c *config.RemoteWriteConfig) { c.HTTPClientConfig.FollowRedirects = follow }), nil)
			_, err := cl.Probe(t.Context())
			var herr *push.HTTPError
			switch {
			case follow && err != nil:
				t.Errorf("follow_redirects: true: %v", err)
			case !follow && (!errors.As(err, &herr) || herr.Status != http.StatusPermanentRedirect):
				t.Errorf("follow_redirects: false: err %v, want the 308 itself", err)
			}
		}
		if len(rc.all()) != 1 {
			t.Errorf("/new got %d requests, want 1 (follow_redirects: true only)", len(rc.all()))
		}
	})
	t.Run("enable_http2", func(t *testing.T) {
		var (
			mu     sync.Mutex
			protos []string
		)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			protos = append(protos, r.Proto)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		for _, h2 := range []bool{true, false} {
			probeThrough(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
				c.HTTPClientConfig.EnableHTTP2 = h2
				c.HTTPClientConfig.TLSConfig = commoncfg.TLSConfig{InsecureSkipVerify: true}
			}))
		}
		if !slices.Equal(protos, []string{"HTTP/2.0", "HTTP/1.1"}) {
			t.Errorf("protocols = %q, want HTTP/2.0 with enable_http2, HTTP/1.1 without", protos)
		}
	})
	t.Run("http_headers", func(t *testing.T) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		probeThrough(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
			c.HTTPClientConfig.HTTPHeaders = &commoncfg.Headers{Headers: map[string]commoncfg.Header{"X-Source": {Values: []string{"liftpush"}}}}
		}))
		if got := rc.all()[0].header.Get("X-Source"); !strings.EqualFold(got, "liftpush") {
			t.Errorf("X-Source = %q, want liftpush", got)
		}
	})
}
