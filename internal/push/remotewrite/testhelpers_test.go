package remotewrite

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/spool"
)

// received is one decoded request.
type received struct {
	header http.Header
	req    prompb.WriteRequest
}

// receiver decodes remote-write requests like a real receiver would (snappy
// block format, then protobuf) and records them in arrival order.
type receiver struct {
	mu   sync.Mutex
	reqs []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "proto: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), req: req})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func testConfig(t *testing.T, rawURL string, mod func(*config.RemoteWriteConfig)) *config.RemoteWriteConfig {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := config.DefaultRemoteWriteConfig
	c.URL = &commoncfg.URL{URL: u}
	c.Name = "test"
	if mod != nil {
		mod(&c)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("invalid test config: %v", err)
	}
	return &c
}

func newTestClient(t *testing.T, cfg *config.RemoteWriteConfig, logs io.Writer) *Client {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	c, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withSpool gives cl the queue of a spool opened in a fresh dir, closed when
// the test ends, and returns the queue.
func withSpool(t *testing.T, cl *Client) *spool.Queue {
	t.Helper()
	sp, err := spool.Open(t.Context(), t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	q, err := sp.Queue(cl.Name())
	if err != nil {
		t.Fatal(err)
	}
	cl.SetSpool(q)
	return q
}

func md(d time.Duration) model.Duration { return model.Duration(d) }
