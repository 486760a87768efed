// Command spacelift-fake serves the fake Spacelift GraphQL API of
// internal/collect/spacelift/spacelifttest with a demo account, for
// `make demo` and manual tries:
//
//	go run ./hack/spacelift-fake --listen=127.0.0.1:8089 --fixture=demo
//
// The account accepts API key ID "demo" with secret "demo-secret" (flags
// change them). Point liftpush at it with --spacelift.endpoint=http://ADDR
// and insecure_http: true. It prints the address and the fixture, never the
// secret.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/liftpush/liftpush/internal/collect/spacelift/spacelifttest"
)

func main() { os.Exit(run()) }

func run() int {
	fs := flag.NewFlagSet("spacelift-fake", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8089", "address to listen on")
	fixture := fs.String("fixture", "demo", "account data: "+strings.Join(spacelifttest.FixtureNames(), ", "))
	keyID := fs.String("api-key-id", "demo", "the API key ID the account accepts")
	secretFile := fs.String("api-key-secret-file", "", `file holding the accepted secret (default "demo-secret")`)
	ttl := fs.Duration("token-ttl", time.Hour, "lifetime of issued tokens")
	machine := fs.Bool("machine-sessions", false, `refuse publicWorkerPool, usage and metrics to API keys, like older self-hosted Spacelift`)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	secret := "demo-secret"
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			logger.Error("Reading the secret file", "err", err)
			return 2
		}
		secret = strings.TrimSpace(string(b))
	}
	data, err := spacelifttest.Fixture(*fixture)
	if err != nil {
		logger.Error("Loading the fixture", "err", err)
		return 2
	}
	h, err := spacelifttest.NewHandler(spacelifttest.Options{KeyID: *keyID, Secret: secret, TokenTTL: *ttl, Data: data})
	if err != nil {
		logger.Error("Starting the fake", "err", err)
		return 1
	}
	h.SetMode(spacelifttest.Mode{MachineSessions: *machine})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Error("Listening", "err", err)
		return 1
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("fake Spacelift serving fixture %q at http://%s/graphql (api key id %q)\n", *fixture, ln.Addr(), *keyID)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("Serving", "err", err)
		return 1
	}
	return 0
}
