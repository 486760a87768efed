package remotewrite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	commoncfg "github.com/prometheus/common/config"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/spool"
)

// Tenants from labels (headers_from_labels, issue 19): one Mimir serves many
// teams, and each series goes in a request whose X-Scope-OrgID is its team
// label's value. Each tenant is a destination of its own inside the entry,
// a Client with the tenant's headers: its own batches, shards, spool queue,
// 2.0 fallback and staleness, so a tenant over its limit holds back no other.
// Series without the label take the static headers value, or are dropped
// with reason no_tenant. The label is read before write_relabel_configs,
// which may then drop it.

// tenants routes series to the tenant Clients of one remote_write entry.
type tenants struct {
	parent *Client
	// headers are the entry's headers_from_labels, sorted; a tenant's key
	// is its header values joined by tenantSep.
	headers []string
	// writeClient makes a tenant's WriteClient from its config.
	writeClient func(*config.RemoteWriteConfig) WriteClient

	mu   sync.Mutex
	subs map[string]*Client
}

const tenantSep = "\xff"

// tenantsState lists the tenants seen, so that their spooled records are
// replayed, and their series marked stale, when a later process starts.
const tenantsState = "tenants"

func newTenants(parent *Client, writeClient func(*config.RemoteWriteConfig) WriteClient) *tenants {
	return &tenants{
		parent:      parent,
		writeClient: writeClient,
		headers:     slices.Sorted(maps.Keys(parent.cfg.HeadersFromLabels)),
		subs:        map[string]*Client{},
	}
}

// key returns the tenant of a series with labels get, and false when some
// header has neither a label value nor a static value.
func (t *tenants) key(get func(string) string) (string, bool) {
	value := func(h string) (string, bool) {
		if v := get(t.parent.cfg.HeadersFromLabels[h]); v != "" {
			return v, true
		}
		s, ok := t.parent.cfg.Headers[h]
		return string(s), ok && s != ""
	}
	if len(t.headers) == 1 {
		// The usual case (X-Scope-OrgID): the key is the label's value
		// itself, with no string built per sample.
		return value(t.headers[0])
	}
	var b strings.Builder
	for i, h := range t.headers {
		v, ok := value(h)
		if !ok {
			return "", false
		}
		if i > 0 {
			b.WriteString(tenantSep)
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// staticKey is the tenant of series without the labels: the static headers.
func (t *tenants) staticKey() (string, bool) {
	return t.key(func(string) string { return "" })
}

// sub returns the Client of tenant key, creating it. A tenant whose spool
// queue cannot be made sends without one, as a failed spool write does.
func (t *tenants) sub(key string) *Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.subs[key]; c != nil {
		return c
	}
	p := t.parent
	cfg := *p.cfg
	cfg.Headers = maps.Clone(p.cfg.Headers)
	if cfg.Headers == nil {
		cfg.Headers = map[string]commoncfg.Secret{}
	}
	for i, v := range strings.Split(key, tenantSep) {
		cfg.Headers[t.headers[i]] = commoncfg.Secret(v)
	}
	cfg.HeadersFromLabels = nil
	c := newClient(&cfg, t.writeClient(&cfg), p.logger)
	c.logger = c.logger.With("tenant", strings.ReplaceAll(key, tenantSep, ","))
	t.subs[key] = c
	if p.queue == nil {
		return c
	}
	q, err := p.queue.Sub("tenant=" + key)
	if err != nil {
		c.logger.Error("opening the tenant's spool queue failed; sending without it", "err", err)
		return c
	}
	c.SetSpool(q)
	t.save()
	return c
}

// save writes the tenants seen to the spool; t.mu is held.
func (t *tenants) save() {
	b, err := json.Marshal(slices.Sorted(maps.Keys(t.subs)))
	if err == nil {
		err = t.parent.queue.SaveState(tenantsState, b)
	}
	if err != nil {
		t.parent.logger.Error("remembering the tenants in the spool", "err", err)
	}
}

// load creates the Clients of the tenants an earlier process saw.
func (t *tenants) load(q *spool.Queue) {
	b, err := q.LoadState(tenantsState)
	if err != nil || b == nil {
		return
	}
	var keys []string
	if json.Unmarshal(b, &keys) != nil {
		return
	}
	for _, k := range keys {
		if len(strings.Split(k, tenantSep)) != len(t.headers) {
			continue // headers_from_labels changed since
		}
		t.sub(k)
	}
}

func (t *tenants) all() []*Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Client, 0, len(t.subs))
	for _, k := range slices.Sorted(maps.Keys(t.subs)) {
		out = append(out, t.subs[k])
	}
	return out
}

// tenantDelivery is a delivery of an entry with tenants: every tenant seen
// has a delivery of its own, opened on its first series or, for the
// tenants of earlier deliveries, at once (their backlog and stale markers).
type tenantDelivery struct {
	t    *tenants
	ctx  context.Context
	opts push.Options
	open map[string]push.Delivery
	// noTenant counts samples without a tenant.
	noTenant int
}

func (t *tenants) deliver(ctx context.Context, opts push.Options) *tenantDelivery {
	d := &tenantDelivery{t: t, ctx: ctx, opts: opts, open: map[string]push.Delivery{}}
	t.mu.Lock()
	keys := slices.Sorted(maps.Keys(t.subs))
	t.mu.Unlock()
	for _, k := range keys {
		d.delivery(k)
	}
	return d
}

// delivery returns the open delivery of tenant key, opening it.
func (d *tenantDelivery) delivery(key string) push.Delivery {
	if dl, ok := d.open[key]; ok {
		return dl
	}
	dl := d.t.sub(key).Open(d.ctx, d.opts)
	d.open[key] = dl
	return dl
}

// Write implements push.Delivery: each family is cut by tenant, keeping
// the order of each tenant's samples.
func (d *tenantDelivery) Write(g *metric.Group) {
	byTenant := map[string][]metric.Sample{}
	var order []string
	for i := range g.Families {
		f := &g.Families[i]
		clear(byTenant)
		order = order[:0]
		for _, s := range f.Samples {
			k, ok := d.t.key(s.Labels.Get)
			if !ok {
				d.noTenant++
				continue
			}
			if _, seen := byTenant[k]; !seen {
				order = append(order, k)
			}
			byTenant[k] = append(byTenant[k], s)
		}
		for _, k := range order {
			part := *f
			part.Samples = byTenant[k]
			d.delivery(k).Write(&metric.Group{Collector: g.Collector, Up: g.Up, Families: []metric.Family{part}})
		}
	}
	if len(g.Self) == 0 {
		return
	}
	// Self-metrics go to the static tenant: they belong to no team.
	k, ok := d.t.staticKey()
	if !ok {
		d.noTenant += metric.Samples(g.Self)
		return
	}
	d.delivery(k).Write(&metric.Group{Collector: g.Collector, Up: g.Up, Self: g.Self})
}

// Close implements push.Delivery: the tenants' reports summed as the
// entry's.
func (d *tenantDelivery) Close() push.Report {
	p := d.t.parent
	rep := push.Report{Destination: p.Name()}
	for _, k := range slices.Sorted(maps.Keys(d.open)) {
		r := d.open[k].Close()
		rep.Sent += r.Sent
		rep.Retried += r.Retried
		rep.Spooled += r.Spooled
		rep.Replayed += r.Replayed
		for reason, n := range r.Dropped {
			rep.Drop(reason, n)
		}
		if rep.Err == nil && r.Err != nil {
			rep.Err = fmt.Errorf("tenant %s: %w", strings.ReplaceAll(k, tenantSep, ","), r.Err)
		}
	}
	if d.noTenant > 0 {
		rep.Drop("no_tenant", d.noTenant)
		labels := make([]string, len(d.t.headers))
		for i, h := range d.t.headers {
			labels[i] = p.cfg.HeadersFromLabels[h]
		}
		err := fmt.Errorf("%d samples have no %s label and the entry has no static %s header: add the label, or set headers: {%s: <default tenant>}",
			d.noTenant, strings.Join(labels, "/"), strings.Join(d.t.headers, "/"), d.t.headers[0])
		p.logger.Error("samples without a tenant dropped", "reason", "no_tenant", "samples", d.noTenant, "labels", strings.Join(labels, ","), "err", err)
		if rep.Err == nil {
			rep.Err = err
		}
	}
	rep.Spool = p.Stats().Spool
	return rep
}

// spoolStats sums the queues of the tenants and of the entry.
func (t *tenants) spoolStats() *push.SpoolState {
	var st *push.SpoolState
	for _, c := range t.all() {
		s := c.Stats().Spool
		if s == nil {
			continue
		}
		if st == nil {
			st = &push.SpoolState{}
		}
		st.Records += s.Records
		st.Bytes += s.Bytes
		st.Corrupt += s.Corrupt
		if !s.Oldest.IsZero() && (st.Oldest.IsZero() || s.Oldest.Before(st.Oldest)) {
			st.Oldest = s.Oldest
		}
	}
	return st
}

// closeAll closes the tenants' Clients.
func (t *tenants) closeAll(ctx context.Context) error {
	var errs []error
	for _, c := range t.all() {
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}
