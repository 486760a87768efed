package kubernetes

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// listPages lists t in namespace ns ("" for all namespaces, or for a
// cluster-scoped resource) one page at a time and hands each page to fn.
// Only one page is alive at a time, so memory is bounded by page_size, not
// by the number of objects. It returns the number of objects and pages.
func (c *Collector) listPages(ctx context.Context, t target, ns string, fn func(items []unstructured.Unstructured)) (objects, pages int, err error) {
	var ri dynamic.ResourceInterface = c.dyn.Resource(t.gvr)
	if t.namespaced && ns != "" {
		ri = c.dyn.Resource(t.gvr).Namespace(ns)
	}
	opts := metav1.ListOptions{Limit: c.cfg.PageSize, LabelSelector: c.cfg.LabelSelector}
	if c.cfg.UseAPIServerCache {
		// resourceVersion=0: any version the apiserver's watch cache holds.
		// Only on the first request: the apiserver refuses a resourceVersion
		// together with a continue token, which pins the version itself.
		opts.ResourceVersion = "0"
	}
	for {
		list, err := ri.List(ctx, opts)
		if err != nil {
			return objects, pages, c.listError(err, t, ns)
		}
		pages++
		objects += len(list.Items)
		fn(list.Items)
		next := list.GetContinue()
		if next == "" {
			return objects, pages, nil
		}
		opts.Continue, opts.ResourceVersion = next, ""
	}
}

// listError explains a failed list. A 403 names the verb, resource and
// namespace and the RBAC rule that would allow it, since that is the most
// common failure when liftpush runs with a namespaced Role.
func (c *Collector) listError(err error, t target, ns string) error {
	return c.accessError(err, t, ns, "list")
}

// accessError is listError for the verbs a request needed: a watching
// daemon needs list and watch.
func (c *Collector) accessError(err error, t target, ns string, verbs ...string) error {
	resource := t.gvr.Resource
	if t.gvr.Group != "" {
		resource += "." + t.gvr.Group
	}
	where := "in all namespaces"
	if !t.namespaced {
		where = "(cluster-scoped)"
	} else if ns != "" {
		where = fmt.Sprintf("in namespace %q", ns)
	}
	if !apierrors.IsForbidden(err) {
		return fmt.Errorf("listing %s %s: %w", resource, where, err)
	}
	quoted := make([]string, len(verbs))
	for i, v := range verbs {
		quoted[i] = strconv.Quote(v)
	}
	rule := fmt.Sprintf(`{apiGroups: [%q], resources: [%q], verbs: [%s]}`, t.gvr.Group, t.gvr.Resource, strings.Join(quoted, ", "))
	var fix string
	switch {
	case t.namespaced && ns != "":
		fix = fmt.Sprintf("grant it with a Role in namespace %q with the rule %s and a RoleBinding to liftpush's identity", ns, rule)
	case t.namespaced:
		fix = fmt.Sprintf("grant it with a ClusterRole with the rule %s and a ClusterRoleBinding, or set kubernetes.namespaces to the namespaces where a Role grants it", rule)
	default:
		fix = fmt.Sprintf("grant it with a ClusterRole with the rule %s and a ClusterRoleBinding", rule)
	}
	return fmt.Errorf("listing %s %s is forbidden (verb %s, resource %s): %s: %w", resource, where, strings.Join(verbs, " and "), resource, fix, err)
}
