package web

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter caps the connections open at once across listeners. Rather than
// blocking Accept as netutil.LimitListener does, which leaves a health
// probe queued behind every idle connection, a connection past the cap
// replaces the oldest idle one: held connections cannot starve requests.
// It is safe for concurrent use.
type limiter struct {
	max    int
	logger *slog.Logger

	mu      sync.Mutex
	open    []*limitedConn // oldest first
	refused int            // connections closed since the last log
	logged  time.Time
}

func newLimiter(max int, logger *slog.Logger) *limiter {
	return &limiter{max: max, logger: logger}
}

// limitLogEvery spaces the warnings of a full listener: a flood of
// connections must not become a flood of log lines.
const limitLogEvery = 10 * time.Second

func (lim *limiter) wrap(l net.Listener) net.Listener {
	if lim.max <= 0 {
		return l
	}
	return &limitedListener{Listener: l, lim: lim}
}

type limitedListener struct {
	net.Listener
	lim *limiter
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.lim.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit tracks c, closing the oldest idle connection to make room; with
// none idle it closes c and returns nil.
func (lim *limiter) admit(c net.Conn) *limitedConn {
	lc := &limitedConn{Conn: c, lim: lim, idle: true}
	var evict net.Conn
	closed := 0 // to log: connections closed for the cap since the last log
	lim.mu.Lock()
	if len(lim.open) >= lim.max {
		evict = c
		for _, o := range lim.open {
			if o.idle {
				evict = o
				lim.removeLocked(o)
				break
			}
		}
		lim.refused++
		if time.Since(lim.logged) >= limitLogEvery {
			closed, lim.refused, lim.logged = lim.refused, 0, time.Now()
		}
	}
	if evict == c {
		lc = nil
	} else {
		lim.open = append(lim.open, lc)
	}
	lim.mu.Unlock()
	if evict != nil {
		evict.Close()
	}
	if closed > 0 {
		lim.logger.Warn("web listener at --web.max-connections: closing the oldest idle connection, or the new one when none is idle",
			"max_connections", lim.max, "closed", closed)
	}
	return lc
}

// removeLocked forgets c; lim.mu is held.
func (lim *limiter) removeLocked(c *limitedConn) {
	for i, o := range lim.open {
		if o == c {
			lim.open = append(lim.open[:i], lim.open[i+1:]...)
			return
		}
	}
}

// connState is the http.Server's ConnState hook: a connection waiting for
// its first request or between requests is idle.
func (lim *limiter) connState(c net.Conn, s http.ConnState) {
	// Behind TLS the server sees a *tls.Conn over ours.
	for {
		if lc, ok := c.(*limitedConn); ok {
			lim.mu.Lock()
			lc.idle = s == http.StateNew || s == http.StateIdle
			lim.mu.Unlock()
			return
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		c = u.NetConn()
	}
}

// limitedConn is a connection the limiter counts until it is closed.
type limitedConn struct {
	net.Conn
	lim  *limiter
	idle bool // under lim.mu
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.lim.mu.Lock()
		c.lim.removeLocked(c)
		c.lim.mu.Unlock()
	})
	return c.Conn.Close()
}
