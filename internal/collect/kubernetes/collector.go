// Package kubernetes collects gauges from Kubernetes objects: Deployments by
// default, and any resource including CRDs such as Spacelift's WorkerPool,
// read through the dynamic client so no generated types are needed.
//
// Two namings exist. kube-api-exporter (default) turns every numeric or
// boolean field into k8s_<kind>_<json path>{namespace,name}; see flattener.
// kube-state-metrics emits that project's deployment family for
// Deployments, and the kube-api-exporter scheme with a kube_ prefix for
// every other resource.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/shard"
)

// Collector lists the configured resources once per Collect, or, once a
// daemon called Watch, reads them from watch caches. Collect must
// not be called concurrently with itself (the collect.Collector contract);
// it keeps the resolved resources between calls.
type Collector struct {
	cfg    config.KubernetesConfig
	logger *slog.Logger
	dyn    dynamic.Interface
	disc   discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper

	// targets is set once every configured resource resolved; until then
	// each Collect tries again (a CRD may be installed after liftpush).
	targets []target
	// shard is the part of the objects this replica keeps (shard.go).
	shard shard.Holder
	// watch holds the watches of a daemon (watch.go).
	watch watchState
	// defaults are the labels every series gets where it has none of
	// that name (seriesLabels).
	defaults []labels.Label
}

// New builds the collector. It reads the kubeconfig but does not contact
// the cluster: an unreachable apiserver is a failed collection, reported
// per cycle, not a reason to refuse to start. Every series gets each of
// defaults (config.GlobalConfig.SeriesDefaults) whose name it lacks, so
// that the pipeline, which adds them where missing, copies nothing.
func New(cfg *config.KubernetesConfig, defaults labels.Labels, logger *slog.Logger, userAgent string) (*Collector, error) {
	c := &Collector{cfg: *cfg, logger: logger}
	defaults.Range(func(l labels.Label) { c.defaults = append(c.defaults, l) })
	// Zero values from a config built in code rather than decoded from YAML.
	if c.cfg.Naming == "" {
		c.cfg.Naming = config.DefaultKubernetesConfig.Naming
	}
	if len(c.cfg.Resources) == 0 {
		c.cfg.Resources = config.DefaultKubernetesConfig.Resources
	}
	if c.cfg.PageSize <= 0 {
		c.cfg.PageSize = config.DefaultKubernetesConfig.PageSize
	}
	if err := c.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	routeKlog(c.logger)
	rc, err := restConfig(c.cfg.Kubeconfig, userAgent, c.logger)
	if err != nil {
		return nil, err
	}
	if c.dyn, err = dynamic.NewForConfig(rc); err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	c.disc = memory.NewMemCacheClient(dc)
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(c.disc)
	return c, nil
}

// Name implements collect.Collector.
func (c *Collector) Name() string { return "kubernetes" }

// Close implements collect.Collector; nothing runs between cycles.
func (c *Collector) Close(context.Context) error { return nil }

// Collect implements collect.Collector. A resource or namespace that fails
// does not stop the others; their errors are joined and the families hold
// what was listed.
func (c *Collector) Collect(ctx context.Context) ([]metric.Family, error) {
	var errs []error
	targets := c.targets
	if targets == nil {
		var err error
		targets, err = resolve(c.mapper, c.disc, c.cfg.Resources)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.targets = targets
		}
	}
	out := newFamilySet(c.defaults)
	truncated := 0
	own := c.shard.Get()
	watch := c.watching()
	for _, t := range targets {
		add, flat := c.emitter(t, out)
		namespaces := c.cfg.Namespaces
		if len(namespaces) == 0 || !t.namespaced {
			namespaces = []string{""}
		}
		for _, ns := range namespaces {
			start := time.Now()
			kept := 0
			keep := func(u *unstructured.Unstructured) {
				if own.OwnsUID(string(u.GetUID())) {
					kept++
					add(u.Object, u.GetNamespace(), u.GetName())
				}
			}
			var (
				objects, pages int
				err            error
			)
			if watch {
				var cut int
				objects, cut, err = c.fromCache(ctx, t, ns, out)
				kept, truncated = objects, truncated+cut
			} else {
				objects, pages, err = c.listPages(ctx, t, ns, func(items []unstructured.Unstructured) {
					for i := range items {
						keep(&items[i])
					}
				})
			}
			if err != nil {
				errs = append(errs, err)
			}
			c.logger.Debug("collected", "resource", t.spec, "namespace", ns, "watch", watch, "objects", objects, "kept", kept, "pages", pages, "duration", time.Since(start))
		}
		if flat != nil {
			truncated += flat.truncated
		}
	}
	if truncated > 0 {
		c.logger.Warn("objects too large or too deeply nested were cut short", "objects", truncated, "max_series_per_object", maxSeriesPerObject, "max_depth", maxDepth)
	}
	return out.result(), errors.Join(errs...)
}

// emitter picks the naming for t. flat is the flattener in use, if any,
// so its counters can be read afterwards.
func (c *Collector) emitter(t target, out sink) (add func(obj map[string]any, namespace, name string), flat *flattener) {
	if c.cfg.Naming == config.NamingKubeStateMetrics {
		if t.gvr.Group == "apps" && t.kind == "Deployment" {
			return func(obj map[string]any, namespace, name string) { ksmDeployment(out, obj, namespace, name) }, nil
		}
		flat = newFlattener(out, "kube_", t.kind, t.gvr.GroupVersion().String())
	} else {
		flat = newFlattener(out, "k8s_", t.kind, t.gvr.GroupVersion().String())
	}
	return flat.object, flat
}
