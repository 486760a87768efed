package spacelift

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shurcooL/graphql"
)

// refreshBefore is how long before validUntil a token is exchanged again,
// as Spacelift's exporter does: a token that expires in flight would cost an
// "unauthorized" round trip.
const refreshBefore = 30 * time.Second

// ErrInvalidAPIKey is returned when Spacelift answers the token exchange with
// a null user: the key ID or the secret is wrong, or the key was deleted.
var ErrInvalidAPIKey = errors.New("invalid API key ID or secret")

// token returns a bearer token, exchanging the API key for a new one when
// there is none yet or the cached one is within refreshBefore of expiry.
// The caller holds c.mu.
func (c *Collector) token(ctx context.Context) (string, error) {
	if c.jwt != "" && time.Now().Before(c.validUntil.Add(-refreshBefore)) {
		return c.jwt, nil
	}
	c.jwt = ""
	return c.exchangeKey(ctx)
}

// exchangeKey runs the apiKeyUser mutation, without an Authorization header,
// and caches the JWT. The secret file is read anew every time, so a rotated
// secret (a projected service-account token for OIDC) is picked up.
func (c *Collector) exchangeKey(ctx context.Context) (string, error) {
	secret, err := c.secret()
	if err != nil {
		return "", err
	}
	var m struct {
		APIKeyUser *struct {
			JWT        *string `graphql:"jwt"`
			ValidUntil *int64  `graphql:"validUntil"`
		} `graphql:"apiKeyUser(id: $id, secret: $secret)"`
	}
	vars := map[string]any{
		"id":     graphql.ID(c.keyID),
		"secret": graphql.String(secret),
	}
	x := &exchange{}
	if err := c.gql.Mutate(withExchange(ctx, x), &m, vars); err != nil {
		return "", fmt.Errorf("exchanging API key %q for a token at %s: %w", c.keyID, c.url, describe(err, x))
	}
	u := m.APIKeyUser
	if u == nil {
		return "", fmt.Errorf("exchanging API key %q for a token at %s: %w; check api_key_id and the secret, and that the key still exists in Spacelift (Organization settings, API keys)", c.keyID, c.url, ErrInvalidAPIKey)
	}
	if u.JWT == nil || *u.JWT == "" || u.ValidUntil == nil {
		return "", fmt.Errorf("exchanging API key %q for a token at %s: the answer has no jwt or validUntil", c.keyID, c.url)
	}
	c.jwt = *u.JWT
	c.validUntil = time.Unix(*u.ValidUntil, 0)
	c.exchanges++
	c.logger.Debug("Exchanged the Spacelift API key for a token", "api_key_id", c.keyID, "valid_until", c.validUntil.UTC(), "exchanges", c.exchanges)
	return c.jwt, nil
}

// secret returns the API key secret, from the file if one is configured.
func (c *Collector) secret() (string, error) {
	if c.secretFile == "" {
		return c.inlineSecret, nil
	}
	b, err := os.ReadFile(c.secretFile)
	if err != nil {
		return "", fmt.Errorf("reading api_key_secret_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("api_key_secret_file %q is empty; it must hold the API key secret", c.secretFile)
	}
	return s, nil
}

// isUnauthorized reports whether the API refused the token. Spacelift answers
// an expired or unknown token with HTTP 200 and
// {"errors":[{"message":"unauthorized"}]}.
func isUnauthorized(x *exchange) bool {
	for _, e := range x.errors {
		if strings.Contains(strings.ToLower(e.Message), "unauthorized") {
			return true
		}
	}
	return false
}
