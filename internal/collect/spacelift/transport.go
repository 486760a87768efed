package spacelift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxResponseBytes bounds what one GraphQL answer may hold. A 1,000-pool
// account answers in about 150 KiB; 64 MiB leaves room for very large
// accounts and still stops a runaway body from exhausting memory.
const maxResponseBytes = 64 << 20

// maxErrorBody is how much of a non-200 body ends up in an error message:
// enough for a JSON error or the head of an HTML page, no more.
const maxErrorBody = 1024

// gqlError is one entry of a GraphQL response's "errors". shurcooL/graphql
// keeps only the first message and drops the path, and both the path and
// every message are needed to tell the user what is missing.
type gqlError struct {
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// path renders the error's path as "workerPools.3.name".
func (e gqlError) path() string {
	parts := make([]string, 0, len(e.Path))
	for _, p := range e.Path {
		switch v := p.(type) {
		case string:
			parts = append(parts, v)
		case float64:
			parts = append(parts, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, ".")
}

// exchange records one HTTP round trip to the API: the bearer token to send
// (empty for the token exchange itself) and what came back beside the data.
// It travels in the request's context because shurcooL/graphql offers no
// other hook per request.
type exchange struct {
	token   string
	status  int
	hasData bool
	errors  []gqlError
}

type exchangeKey struct{}

func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

// transport adds liftpush's headers and the bearer token to every request,
// bounds and keeps the response body, and extracts the GraphQL errors with
// their paths for the caller.
type transport struct {
	next      http.RoundTripper
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	req = req.Clone(req.Context())
	req.Header.Set("Spacelift-Client-Type", "liftpush")
	req.Header.Set("User-Agent", t.userAgent)
	if x != nil && x.token != "" {
		req.Header.Set("Authorization", "Bearer "+x.token)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("the response is larger than %d bytes", maxResponseBytes)
	}
	if x != nil {
		x.status = resp.StatusCode
	}
	if resp.StatusCode != http.StatusOK {
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
	} else if x != nil {
		var env struct {
			Data   json.RawMessage `json:"data"`
			Errors []gqlError      `json:"errors"`
		}
		// A body that does not decode here fails again, with a message,
		// in shurcooL/graphql's decoder; nothing to report twice.
		_ = json.Unmarshal(body, &env)
		x.hasData = len(env.Data) > 0 && !bytes.Equal(env.Data, []byte("null"))
		x.errors = env.Errors
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
