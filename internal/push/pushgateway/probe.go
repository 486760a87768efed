package pushgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/liftpush/liftpush/internal/push"
)

// Probe asks the Pushgateway whether it is ready (GET /-/ready) and which
// version it runs (GET /api/v1/status). It pushes and deletes nothing.
func (c *Client) Probe(ctx context.Context) (string, error) {
	if _, err := c.get(ctx, "/-/ready"); err != nil {
		return "", err
	}
	b, err := c.get(ctx, "/api/v1/status")
	if err != nil {
		return "", err
	}
	var st struct {
		Data struct {
			BuildInformation struct {
				Version string `json:"version"`
			} `json:"build_information"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Data.BuildInformation.Version == "" {
		return "", fmt.Errorf("%s/api/v1/status: not a Pushgateway status answer; check that the URL is the Pushgateway's base URL", c.Endpoint())
	}
	return fmt.Sprintf("%s is ready, version %s", c.Endpoint(), st.Data.BuildInformation.Version), nil
}

// get returns the body of a 200 answer to GET path, at most 1 MiB.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w; check the URL and that the Pushgateway is reachable from here", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s%s: reading the answer: %w", c.Endpoint(), path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return b, nil
	}
	body := strings.TrimSpace(string(b[:min(len(b), push.MaxErrorBody)]))
	fix := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		fix = ": check the credentials (basic_auth, authorization) of the pushgateway entry"
	case http.StatusNotFound:
		fix = ": check the URL; it must be the Pushgateway's base URL (with its --web.route-prefix, if any)"
	}
	return nil, fmt.Errorf("%s%s: HTTP %d %s: %s%s", c.Endpoint(), path, resp.StatusCode, http.StatusText(resp.StatusCode), body, fix)
}
