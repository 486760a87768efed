package remotewrite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/storage/remote/azuread"
	"github.com/prometheus/prometheus/storage/remote/googleiam"
	"github.com/prometheus/sigv4"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

// newHTTPClient builds the HTTP client of a remote_write entry as
// Prometheus' remote.NewWriteClient does: the common HTTP client
// (basic_auth, authorization, oauth2, tls_config, proxy, follow_redirects,
// enable_http2, http_headers), dialling a random resolved address with
// round_robin_dns, wrapped in the round tripper of sigv4, azuread or
// google_iam. Config validation lets at most one of these be set.
func newHTTPClient(cfg *config.RemoteWriteConfig) (*http.Client, error) {
	var opts []commoncfg.HTTPClientOption
	if cfg.RoundRobinDNS {
		opts = append(opts, commoncfg.WithDialContextFunc(roundRobinDial(net.DefaultResolver, (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)))
	}
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.Name, opts...)
	if err != nil {
		return nil, err
	}
	push.BoundRedirects(client)
	t := client.Transport
	switch {
	case cfg.SigV4 != nil:
		// Signs the body and the headers Store sets, so it must see the
		// request last: it wraps everything else.
		t, err = sigv4.NewSigV4RoundTripper(&cfg.SigV4.SigV4Config, t)
		if err != nil {
			return nil, fmt.Errorf("sigv4: %w", err)
		}
	case cfg.AzureAD != nil:
		t, err = azuread.NewAzureADRoundTripper(&cfg.AzureAD.AzureADConfig, t)
		if err != nil {
			return nil, fmt.Errorf("azuread: %w", err)
		}
	case cfg.GoogleIAM != nil:
		t, err = googleiam.NewRoundTripper(cfg.GoogleIAM, t)
		if err != nil {
			return nil, fmt.Errorf("google_iam: %w", err)
		}
	}
	client.Transport = t
	return client, nil
}

// resolver is what roundRobinDial needs of net.Resolver.
type resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// roundRobinDial resolves the host itself and dials one of its addresses at
// random, as Prometheus' round_robin_dns does: each new connection may go
// to another receiver behind one DNS name. Where the name does not resolve
// (or is an IP), it dials as usual and lets dial report the error.
func roundRobinDial(r resolver, dial commoncfg.DialContextFunc) commoncfg.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return dial(ctx, network, addr)
		}
		addrs, err := r.LookupHost(ctx, host)
		if err != nil || len(addrs) == 0 {
			return dial(ctx, network, addr)
		}
		return dial(ctx, network, net.JoinHostPort(addrs[rand.IntN(len(addrs))], port))
	}
}
