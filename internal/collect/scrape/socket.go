package scrape

import (
	"context"
	"fmt"
	"net"
	"net/http"

	commoncfg "github.com/prometheus/common/config"
	promscrape "github.com/prometheus/prometheus/scrape"
)

// A target with the __unix_socket__ label is scraped through that unix
// socket, as in Prometheus 3.16: the URL still comes from __address__
// ("localhost" when empty) and the path, but the connection is dialled to
// the socket. Each socket has its own client: a transport pools idle
// connections by host and port only, so one shared client could send a
// target's request down another socket's connection.
const socketLabel = promscrape.UnixSocketLabel

// clientFor returns the client that scrapes t.
func (c *Collector) clientFor(t *target) *http.Client {
	if t.socket == "" {
		return c.client
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.sockets[t.socket]; ok {
		return cl
	}
	path := t.socket
	cl, err := c.newClient(commoncfg.WithDialContextFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}))
	if err != nil {
		// The job's client was built from the same config, so this is not
		// expected; the target fails rather than being scraped over TCP.
		cl = &http.Client{Transport: failing{fmt.Errorf("building the client of unix socket %q: %w", path, err)}}
	}
	if c.sockets == nil {
		c.sockets = map[string]*http.Client{}
	}
	c.sockets[path] = cl
	return cl
}

type failing struct{ err error }

func (f failing) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }
