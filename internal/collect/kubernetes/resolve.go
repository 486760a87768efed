package kubernetes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
)

// target is a configured resource resolved against the server.
type target struct {
	spec       string // as configured, e.g. "statefulsets.apps"
	gvr        schema.GroupVersionResource
	kind       string // e.g. "StatefulSet"
	namespaced bool
}

// resolve maps kubectl-style names onto the server's resources, as kubectl
// does: "a.b.c" is first read as resource.version.group and then as
// resource.group; the version, when not given, is the server's preferred
// one; short names the server declares (deploy, sts) are expanded.
func resolve(mapper meta.RESTMapper, disc discovery.DiscoveryInterface, specs []string) ([]target, error) {
	mapper = restmapper.NewShortcutExpander(mapper, disc, nil)
	var (
		targets []target
		errs    []error
		kinds   = map[string]string{} // lower-case kind -> spec, to catch clashing metric names
	)
	for _, spec := range specs {
		t, err := resolveOne(mapper, spec)
		if err != nil {
			if meta.IsNoMatchError(err) {
				err = fmt.Errorf("resource %q is not served by this cluster; it serves %s", spec, available(disc))
			}
			errs = append(errs, err)
			continue
		}
		if prev, ok := kinds[strings.ToLower(t.kind)]; ok {
			errs = append(errs, fmt.Errorf("resources %q and %q both have kind %s, so their series would have the same names; keep one", prev, spec, t.kind))
			continue
		}
		kinds[strings.ToLower(t.kind)] = spec
		targets = append(targets, t)
	}
	return targets, errors.Join(errs...)
}

func resolveOne(mapper meta.RESTMapper, spec string) (target, error) {
	full, partial := schema.ParseResourceArg(spec)
	var gvr schema.GroupVersionResource
	var err error
	if full != nil {
		gvr, err = mapper.ResourceFor(*full)
	}
	if full == nil || err != nil {
		gvr, err = mapper.ResourceFor(partial.WithVersion(""))
	}
	if err != nil {
		return target{}, fmt.Errorf("resolving resource %q: %w", spec, err)
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return target{}, fmt.Errorf("resolving kind of %q: %w", spec, err)
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return target{}, fmt.Errorf("resolving scope of %q: %w", spec, err)
	}
	return target{
		spec:       spec,
		gvr:        gvr,
		kind:       gvk.Kind,
		namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace,
	}, nil
}

// available lists the listable resources of the server as kubectl names
// them (resource.group), for the error about an unknown resource.
func available(disc discovery.DiscoveryInterface) string {
	lists, err := disc.ServerPreferredResources()
	if len(lists) == 0 && err != nil {
		return fmt.Sprintf("(could not list them: %v)", err)
	}
	var names []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue // subresources and unlistable resources cannot be collected
			}
			name := r.Name
			if gv.Group != "" {
				name += "." + gv.Group
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}
