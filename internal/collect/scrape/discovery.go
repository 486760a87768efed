package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/kubernetes"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// quiet is how long a Kubernetes discoverer must stay silent after its
// last update before its answer counts as complete when the object count
// it was expected to reach is not reached (objects deleted meanwhile).
const quiet = time.Second

// discoverers runs the discovery of one job: static groups, and one
// goroutine per *_sd_configs entry, each keeping its latest groups. They
// run until Close, so a daemon keeps its watches between cycles.
type discoverers struct {
	logger    *slog.Logger
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	providers []*provider

	mu     sync.Mutex
	notify chan struct{} // one pending wake-up for wait
}

// provider is one discovery config's state.
type provider struct {
	name   string // as in the config: kubernetes_sd_configs[0]
	config discovery.Config
	groups map[string]*targetgroup.Group
	// answered is set once the first complete answer arrived: the first
	// update for file, http and dns (each sends all its groups at once),
	// for kubernetes as many groups as objects listed.
	answered bool
	err      error
	expect   int // kubernetes: groups in a complete answer; -1 unknown
	updates  int
	last     time.Time
}

// startDiscovery starts every discoverer of cfgs. Static groups are
// answered at once.
func startDiscovery(cfgs discovery.Configs, job string, logger *slog.Logger, userAgent string) *discoverers {
	ctx, cancel := context.WithCancel(context.Background())
	d := &discoverers{logger: logger, cancel: cancel, notify: make(chan struct{}, 1)}
	reg := prometheus.NewRegistry()
	metrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	index := map[string]int{}
	for _, cfg := range cfgs {
		key := cfg.Name() + "_sd_configs"
		static, isStatic := cfg.(discovery.StaticConfig)
		if isStatic {
			key = "static_configs"
		}
		p := &provider{name: fmt.Sprintf("%s[%d]", key, index[key]), config: cfg, groups: map[string]*targetgroup.Group{}, expect: -1}
		index[key]++
		d.providers = append(d.providers, p)
		if isStatic {
			for i, g := range static {
				p.groups[fmt.Sprint(i)] = g
			}
			p.answered = true
			continue
		}
		if err != nil {
			p.err = fmt.Errorf("registering discovery metrics: %w", err)
			continue
		}
		disc, derr := cfg.NewDiscoverer(discovery.DiscovererOptions{
			Logger:            logger.With("discovery", p.name),
			Metrics:           metrics.MechanismMetrics[cfg.Name()],
			HTTPClientOptions: []commoncfg.HTTPClientOption{commoncfg.WithUserAgent(userAgent)},
			SetName:           job,
		})
		if derr != nil {
			p.err = derr
			continue
		}
		ch := make(chan []*targetgroup.Group)
		d.wg.Add(2)
		go func() {
			defer d.wg.Done()
			disc.Run(ctx, ch)
		}()
		go func() {
			defer d.wg.Done()
			d.receive(ctx, p, ch)
		}()
		if kc, ok := cfg.(*kubernetes.SDConfig); ok {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				n, err := countObjects(ctx, kc, userAgent)
				d.mu.Lock()
				defer d.mu.Unlock()
				if err != nil {
					p.err = err
				} else {
					p.expect = n
					p.check(time.Now())
				}
				d.wake()
			}()
		}
	}
	return d
}

func (d *discoverers) receive(ctx context.Context, p *provider, ch <-chan []*targetgroup.Group) {
	for {
		select {
		case <-ctx.Done():
			return
		case tgs := <-ch:
			d.mu.Lock()
			for _, tg := range tgs {
				if tg != nil {
					p.groups[tg.Source] = tg
				}
			}
			p.updates++
			p.last = time.Now()
			p.check(p.last)
			d.mu.Unlock()
			d.wake()
		}
	}
}

// check sets answered when the provider's first answer is complete.
func (p *provider) check(now time.Time) {
	if p.answered {
		return
	}
	if _, ok := p.config.(*kubernetes.SDConfig); !ok {
		p.answered = p.updates > 0
		return
	}
	switch {
	case p.expect < 0:
		// Not listed yet: the count decides.
	case len(p.groups) >= p.expect:
		p.answered = true
	case p.updates > 0 && now.Sub(p.last) >= quiet:
		p.answered = true
	}
}

func (d *discoverers) wake() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// wait returns once every provider has answered completely, or an error
// naming those that failed or did not answer before deadline: a job never
// scrapes a partial target set.
func (d *discoverers) wait(ctx context.Context, deadline time.Time) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		d.mu.Lock()
		var errs []error
		pending := 0
		for _, p := range d.providers {
			p.check(time.Now())
			switch {
			case p.err != nil:
				errs = append(errs, fmt.Errorf("%s: %w", p.name, p.err))
			case !p.answered:
				pending++
			}
		}
		d.mu.Unlock()
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return d.late(ctx.Err())
		case <-timer.C:
			return d.late(context.DeadlineExceeded)
		case <-d.notify:
		case <-tick.C:
		}
	}
}

func (d *discoverers) late(cause error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, p := range d.providers {
		if !p.answered {
			errs = append(errs, fmt.Errorf("%s: no complete answer in time (%w); the job is not scraped rather than scraped in part", p.name, cause))
		}
	}
	return errors.Join(errs...)
}

// groups returns the current target groups, providers in config order,
// groups by source, so that target order is stable.
func (d *discoverers) groups() []*targetgroup.Group {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*targetgroup.Group
	for _, p := range d.providers {
		for _, src := range slices.Sorted(maps.Keys(p.groups)) {
			out = append(out, p.groups[src])
		}
	}
	return out
}

// status describes each provider for check-config --probe.
func (d *discoverers) status() []providerStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]providerStatus, 0, len(d.providers))
	for _, p := range d.providers {
		n := 0
		for _, g := range p.groups {
			n += len(g.Targets)
		}
		out = append(out, providerStatus{name: p.name, config: p.config, targets: n})
	}
	return out
}

// providerStatus is one probe row; a failure is wait's error.
type providerStatus struct {
	name    string
	config  discovery.Config
	targets int
}

// Close stops every discoverer and waits for them.
func (d *discoverers) Close() {
	d.cancel()
	d.wg.Wait()
}
