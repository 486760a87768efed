// Package web is the daemon's optional HTTP listener: health, readiness,
// reload and /metrics, behind exporter-toolkit's TLS and basic auth, as in
// every Prometheus exporter.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// Daemon is what the listener reports on and controls.
type Daemon interface {
	// Ready returns nil once the first cycle has finished, while cycles
	// keep running; else it says why not.
	Ready() error
	// Reload re-reads the configuration; the error says why it was kept.
	Reload() error
}

// Handler serves /-/healthy, /-/ready, /-/reload (POST or PUT, as
// Prometheus), /metrics from g, and /debug/pprof/, as Prometheus and the
// Pushgateway do: a daemon's memory is best explained where it runs.
func Handler(d Daemon, g prometheus.Gatherer, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "liftpush is healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if err := d.Ready(); err != nil {
			http.Error(w, "liftpush is not ready: "+err.Error()+".", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "liftpush is ready.")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST or PUT to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if err := d.Reload(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded; it takes effect from the next cycle.")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "liftpush: /metrics, /-/healthy, /-/ready, POST /-/reload, /debug/pprof/")
	})
	return mux
}

// Server is a started listener.
type Server struct {
	srv  *http.Server
	done chan error
}

// Options bound what clients of the listener can hold (issue 22: 1,011
// idle keep-alive connections used up the file descriptors, and every
// cycle then failed with "too many open files").
type Options struct {
	// MaxConnections caps the connections open at once, across every
	// address; 0 is no cap. A new connection past it replaces the oldest
	// idle one (no request in progress), or is closed when none is idle.
	MaxConnections int
	// ReadTimeout bounds the reading of a request, headers and body, and
	// how long an idle keep-alive connection stays open.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the
	// end of the response (a reload included).
	WriteTimeout time.Duration
}

// DefaultOptions are the flags' defaults: a health probe and a scraper need
// a handful of connections, and liftpush's cycles need the rest of the
// file descriptors.
var DefaultOptions = Options{MaxConnections: 64, ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute}

// Listen binds every address now, so that a taken port fails the start
// rather than a later goroutine, then serves h on them with the TLS and
// basic auth of configFile (exporter-toolkit's web config; "" for none),
// within the limits of opts.
func Listen(addrs []string, configFile string, h http.Handler, opts Options, logger *slog.Logger) (*Server, error) {
	if configFile != "" {
		if err := web.Validate(configFile); err != nil {
			return nil, fmt.Errorf("--web.config.file=%s: %w", configFile, err)
		}
	}
	lim := newLimiter(opts.MaxConnections, logger)
	var ls []net.Listener
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("--web.listen-address=%s: %w", a, err)
		}
		ls = append(ls, lim.wrap(l))
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: opts.ReadTimeout,
			ReadTimeout:       opts.ReadTimeout,
			IdleTimeout:       opts.ReadTimeout,
			WriteTimeout:      opts.WriteTimeout,
			ConnState:         lim.connState,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		done: make(chan error, 1),
	}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &configFile}
	go func() { s.done <- web.ServeMultiple(ls, s.srv, flags, logger) }()
	return s, nil
}

// Shutdown stops the listener, letting requests in progress finish.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
