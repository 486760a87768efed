package spacelift

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
)

func withTTL(d time.Duration) envOption {
	return func(o *spacelifttest.Options, _ *config.SpaceliftConfig) { o.TokenTTL = d }
}

func mustCollect(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.collect(t); err != nil {
		t.Fatalf("Collect: %v", err)
	}
}

func TestTokenReusedWithinTTL(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withTTL(time.Hour))
		mustCollect(t, e)
		time.Sleep(10 * time.Minute)
		mustCollect(t, e)
		time.Sleep(49 * time.Minute) // 59m: 60 s before expiry, still reused
		mustCollect(t, e)
		s := e.srv.Stats()
		if s.Exchanges != 1 || s.Queries != 3 || s.Unauthorized != 0 {
			t.Errorf("exchanges=%d queries=%d unauthorized=%d, want 1, 3, 0", s.Exchanges, s.Queries, s.Unauthorized)
		}
	})
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", withTTL(time.Hour))
		mustCollect(t, e)
		// 29 s before validUntil the token still works on the server, but the
		// collector must not risk it expiring in flight.
		time.Sleep(time.Hour - 29*time.Second)
		mustCollect(t, e)
		s := e.srv.Stats()
		if s.Exchanges != 2 || s.Unauthorized != 0 {
			t.Errorf("exchanges=%d unauthorized=%d, want 2, 0", s.Exchanges, s.Unauthorized)
		}
	})
}

func TestRefreshOnceOnUnauthorized(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		mustCollect(t, e)
		e.srv.RevokeTokens()
		fams, err := e.collect(t)
		if err != nil {
			t.Fatalf("Collect after revocation: %v", err)
		}
		if len(fams) < 10 {
			t.Errorf("%d families after the retry, want the full set", len(fams))
		}
		s := e.srv.Stats()
		if s.Exchanges != 2 || s.Unauthorized != 1 || s.Queries != 2 {
			t.Errorf("exchanges=%d unauthorized=%d queries=%d, want 2, 1, 2", s.Exchanges, s.Unauthorized, s.Queries)
		}
		if !strings.Contains(e.logs.String(), "retrying once") {
			t.Errorf("no log line about the retry:\n%s", e.logs)
		}
	})
}

// An API that keeps saying "unauthorized" gets one retry, not a loop.
func TestUnauthorizedRetriedOnlyOnce(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		e.srv.SetMode(spacelifttest.Mode{FieldErrors: map[string]string{"Query.workerPools": "unauthorized"}})
		_, err := e.collect(t)
		if err == nil || !strings.Contains(err.Error(), "unauthorized") {
			t.Fatalf("err = %v, want unauthorized", err)
		}
		if s := e.srv.Stats(); s.Exchanges != 2 || s.Queries != 2 {
			t.Errorf("exchanges=%d queries=%d, want 2, 2", s.Exchanges, s.Queries)
		}
	})
}

func TestSecretFileRotated(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(file, []byte("first-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, "demo", withTTL(time.Hour), func(o *spacelifttest.Options, c *config.SpaceliftConfig) {
			o.Secret = "first-secret"
			c.APIKeySecret = ""
			c.APIKeySecretFile = file
		})
		mustCollect(t, e)
		// The projected token is rotated: the file and the server change
		// together, and the old secret no longer works.
		if err := os.WriteFile(file, []byte("second-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.srv.SetSecret("second-secret")
		time.Sleep(2 * time.Hour)
		mustCollect(t, e)
		if s := e.srv.Stats(); s.Exchanges != 2 {
			t.Errorf("exchanges=%d, want 2", s.Exchanges)
		}
	})
}

func TestInvalidKey(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo", func(o *spacelifttest.Options, _ *config.SpaceliftConfig) { o.Secret = "another-secret" })
		fams, err := e.collect(t)
		if !errors.Is(err, ErrInvalidAPIKey) {
			t.Fatalf("err = %v, want ErrInvalidAPIKey", err)
		}
		for _, want := range []string{"invalid API key ID or secret", testKeyID, "api_key_id"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Errorf("error shows the secret: %v", err)
		}
		// Nothing but liftpush's own series: no half-authenticated data.
		var names []string
		for _, f := range fams {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, ","); got != "spacelift_scrape_duration_seconds,spacelift_build_info" {
			t.Errorf("families = %s", got)
		}
		if s := e.srv.Stats(); s.Queries != 0 {
			t.Errorf("%d queries sent without a token", s.Queries)
		}
	})
}

func TestHeadersAndNoSecretsInLogs(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		e := newEnv(t, "demo")
		mustCollect(t, e)
		s := e.srv.Stats()
		if got := s.Header.Get("Spacelift-Client-Type"); got != "liftpush" {
			t.Errorf("Spacelift-Client-Type = %q", got)
		}
		if got := s.Header.Get("User-Agent"); got != "liftpush/test" {
			t.Errorf("User-Agent = %q", got)
		}
		if !strings.HasPrefix(s.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("query without bearer token")
		}
		if s.ExchangesWithAuth != 0 {
			t.Errorf("the token exchange sent an Authorization header")
		}
		logs := e.logs.String()
		if strings.Contains(logs, testSecret) || strings.Contains(logs, e.c.jwt) {
			t.Errorf("logs show the secret or the token:\n%s", logs)
		}
	})
}
