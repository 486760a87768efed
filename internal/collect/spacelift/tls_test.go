package spacelift

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
	"github.com/liftpush/liftpush/internal/config"
)

func withTLS(o *spacelifttest.Options, c *config.SpaceliftConfig) {
	o.TLS = true
	c.InsecureHTTP = false
}

// ca_file adds the self-hosted installation's CA; without it the private
// certificate is refused.
func TestCAFile(t *testing.T) {
	e := newEnv(t, "demo", withTLS)
	if _, err := e.collect(t); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error without ca_file", err)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: e.loop.Certificate().Raw}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := *e.cfg
	cfg.CAFile = caFile
	c, err := New(&cfg, nil, "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(t.Context()); err != nil {
		t.Fatalf("Collect with ca_file: %v", err)
	}
}

func TestCAFileWithoutCertificate(t *testing.T) {
	cfg := config.DefaultSpaceliftConfig
	cfg.Endpoint = "https://acme.app.spacelift.io"
	cfg.APIKeyID = "id"
	cfg.APIKeySecretFile = "/dev/null"
	cfg.CAFile = filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(cfg.CAFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(&cfg, nil, "liftpush/test")
	if err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptySecretFile(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(file, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, "demo", func(_ *spacelifttest.Options, c *config.SpaceliftConfig) {
			c.APIKeySecret = ""
			c.APIKeySecretFile = file
		})
		_, err := e.collect(t)
		if err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Fatalf("err = %v, want the empty secret file named", err)
		}
		if s := e.srv.Stats(); s.Exchanges != 0 {
			t.Errorf("exchanged with an empty secret")
		}
	})
}
