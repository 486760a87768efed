package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

// Probe sends one empty 1.0 WriteRequest (no series, so nothing is
// written) through Store, the path every batch takes, and reports the
// answer: check-config --probe finds a wrong token, URL or disabled
// receiver before the first push does (issue 12). 1.0 is what every
// receiver speaks; the 2.0 negotiation is not probed. Probe writes nothing
// to the spool.
func (c *Client) Probe(ctx context.Context) (string, error) {
	raw, err := (&prompb.WriteRequest{}).Marshal()
	if err != nil {
		return "", err
	}
	res, err := c.wc.Store(ctx, snappy.Encode(nil, raw), config.WriteRequestV1, 0)
	if err != nil {
		return "", probeError(c.Endpoint(), err)
	}
	return fmt.Sprintf("%s accepted an empty WriteRequest (HTTP %d)", c.Endpoint(), res.Status), nil
}

// probeError adds the usual fix to an answer that refuses every push.
func probeError(endpoint string, err error) error {
	var (
		herr *push.HTTPError
		rec  *push.RecoverableError
	)
	if errors.As(err, &rec) && !errors.As(err, &herr) {
		return fmt.Errorf("%w; check the URL and that the receiver is reachable from here", err)
	}
	if !errors.As(err, &herr) {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	var fix string
	switch herr.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		fix = "check the credentials (basic_auth, authorization, bearer token file, oauth2, sigv4, azuread, google_iam) and that they may write metrics"
	case http.StatusNotFound:
		fix = "check the URL's path (Prometheus: /api/v1/write with --web.enable-remote-write-receiver; Mimir: /api/v1/push; Grafana Cloud: /api/prom/push)"
	case http.StatusUnsupportedMediaType:
		fix = "the receiver does not take remote-write 1.0 protobuf here; check the URL"
	default:
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	return fmt.Errorf("%s: %w: %s", endpoint, err, fix)
}
