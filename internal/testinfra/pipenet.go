package testinfra

import (
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
)

// PipeServer is an HTTP server on an in-memory network, every connection a
// net.Pipe: the httptest.Server of tests that run in a synctest bubble. A
// goroutine blocked on a loopback socket is not durably blocked, so while
// a client keeps a connection open the bubble's clock could never move; a
// goroutine blocked on a pipe is. The server and the client are the real
// net/http ones, speaking HTTP/1.1 over the pipe.
//
// Start it inside the bubble that uses it; it closes in t.Cleanup.
type PipeServer struct {
	// URL is the server's base URL. The address is a name only: the
	// Transport reaches this server whatever address it dials.
	URL string

	srv    *http.Server
	ln     *pipeListener
	tr     *http.Transport
	served chan struct{}
}

// NewPipeServer serves h until the test ends.
func NewPipeServer(t testing.TB, h http.Handler) *PipeServer {
	t.Helper()
	ln := &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
	s := &PipeServer{
		URL:    "http://pipe.test",
		srv:    &http.Server{Handler: h},
		ln:     ln,
		tr:     &http.Transport{DialContext: ln.dial},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(s.Close)
	return s
}

// Transport dials this server, whatever the address asked for. Tests put it
// under the client they test.
func (s *PipeServer) Transport() *http.Transport { return s.tr }

// Close stops the server and closes every connection, its own and the
// Transport's idle ones, so that no goroutine outlives the bubble. A
// connection in use ends with an error on the client's side.
func (s *PipeServer) Close() {
	_ = s.srv.Close()
	<-s.served
	s.tr.CloseIdleConnections()
}

// pipeListener hands the server one end of each pipe a client dials.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-ctx.Done():
		err := ctx.Err()
		_, _ = client.Close(), server.Close()
		return nil, err
	case <-l.closed:
		_, _ = client.Close(), server.Close()
		return nil, &net.OpError{Op: "dial", Net: network, Addr: pipeAddr{}, Err: syscall.ECONNREFUSED}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
