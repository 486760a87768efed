package remotewrite

import (
	"math"
	"sync"
	"time"

	"github.com/liftpush/liftpush/internal/metric"
)

// metadata_config in a pusher. Prometheus sends metadata in requests of its
// own every send_interval, for 1.0 only. liftpush has it at hand with the
// samples, so a 1.0 delivery puts a family's HELP, TYPE and unit into the
// request with its first samples, in deliveries at least send_interval
// apart (less a tenth, so that a cycle as long as the interval, a little
// early, still sends it), and the first delivery of a process always.
// 2.0 carries type, help and unit on every series, as its spec wants;
// send: false leaves them out there too.

// metadataSchedule remembers when a delivery last sent 1.0 metadata.
type metadataSchedule struct {
	mu   sync.Mutex
	last time.Time
}

// metadataPlan is what one delivery sends of metadata.
type metadataPlan struct {
	// v1 says the delivery sends 1.0 metadata, v2 per-series metadata.
	v1, v2 bool
	// max bounds the 1.0 metadata entries of one request.
	max int
}

// planMetadata decides the metadata of a delivery opening now.
func (c *Client) planMetadata() metadataPlan {
	now := time.Now()
	m := c.cfg.MetadataConfig
	p := metadataPlan{v2: m.Send, max: math.MaxInt}
	if !m.Send {
		return p
	}
	s := &c.metaSchedule
	s.mu.Lock()
	defer s.mu.Unlock()
	interval := time.Duration(m.SendInterval)
	if !s.last.IsZero() && now.Sub(s.last) < interval-interval/10 {
		return p
	}
	s.last = now
	p.v1, p.max = true, m.MaxSamplesPerSend
	return p
}

// family is f when series carry their family's metadata, nil otherwise.
func (p metadataPlan) family(f *metric.Family) *metric.Family {
	if p.v2 {
		return f
	}
	return nil
}
