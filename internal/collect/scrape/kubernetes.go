package scrape

import (
	"context"
	"fmt"
	"os"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/discovery/kubernetes"
	authv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Prometheus' Kubernetes discovery sends one target group per object of
// its role's resource once its informers synced, and gives no other sign
// that its first answer is complete. countObjects lists the same objects
// (names only) so that a one-shot run knows how many groups to wait for,
// and so that a missing RBAC rule is an error at once, not a silent wait.

// roleResource is the resource whose objects become target groups.
var roleResource = map[kubernetes.Role]schema.GroupVersionResource{
	kubernetes.RoleNode:          {Version: "v1", Resource: "nodes"},
	kubernetes.RolePod:           {Version: "v1", Resource: "pods"},
	kubernetes.RoleService:       {Version: "v1", Resource: "services"},
	kubernetes.RoleEndpoint:      {Version: "v1", Resource: "endpoints"},
	kubernetes.RoleEndpointSlice: {Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"},
	kubernetes.RoleIngress:       {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// roleNeeds lists every resource a role's discoverer lists and watches.
func roleNeeds(c *kubernetes.SDConfig) []schema.GroupVersionResource {
	v1 := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	needs := []schema.GroupVersionResource{roleResource[c.Role]}
	switch c.Role {
	case kubernetes.RoleEndpoint, kubernetes.RoleEndpointSlice:
		needs = append(needs, v1("services"), v1("pods"))
		if c.AttachMetadata.Node {
			needs = append(needs, v1("nodes"))
		}
	case kubernetes.RolePod:
		if c.AttachMetadata.Node {
			needs = append(needs, v1("nodes"))
		}
	}
	if c.AttachMetadata.Namespace && c.Role != kubernetes.RoleNode {
		needs = append(needs, v1("namespaces"))
	}
	return needs
}

// restConfig builds the client configuration as Prometheus' discovery does.
func restConfig(c *kubernetes.SDConfig, userAgent string) (*rest.Config, error) {
	var (
		kcfg *rest.Config
		err  error
	)
	switch {
	case c.KubeConfig != "":
		kcfg, err = clientcmd.BuildConfigFromFlags("", c.KubeConfig)
	case c.APIServer.URL == nil:
		kcfg, err = rest.InClusterConfig()
	default:
		rt, rerr := commoncfg.NewRoundTripperFromConfig(c.HTTPClientConfig, "kubernetes_sd")
		if rerr != nil {
			return nil, rerr
		}
		kcfg = &rest.Config{Host: c.APIServer.String(), Transport: rt}
	}
	if err != nil {
		return nil, err
	}
	kcfg.UserAgent = userAgent
	return kcfg, nil
}

// namespaces are those the discoverer watches; "" is all.
func namespaces(c *kubernetes.SDConfig) ([]string, error) {
	ns := c.NamespaceDiscovery.Names
	if c.NamespaceDiscovery.IncludeOwnNamespace && c.KubeConfig == "" && c.APIServer.URL == nil {
		b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		if err != nil {
			return nil, fmt.Errorf("namespaces.own_namespace: reading the pod's namespace: %w", err)
		}
		ns = append(ns, strings.TrimSpace(string(b)))
	}
	if len(ns) == 0 || c.Role == kubernetes.RoleNode {
		return []string{metav1.NamespaceAll}, nil
	}
	return ns, nil
}

func selector(c *kubernetes.SDConfig) metav1.ListOptions {
	var o metav1.ListOptions
	for _, s := range c.Selectors {
		if s.Role == c.Role {
			o.LabelSelector, o.FieldSelector = s.Label, s.Field
		}
	}
	return o
}

// countObjects returns how many objects of the role's resource match, or an
// error naming the RBAC rule that is missing.
func countObjects(ctx context.Context, c *kubernetes.SDConfig, userAgent string) (int, error) {
	kcfg, err := restConfig(c, userAgent)
	if err != nil {
		return 0, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	mc, err := metadata.NewForConfig(kcfg)
	if err != nil {
		return 0, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	nss, err := namespaces(c)
	if err != nil {
		return 0, err
	}
	gvr := roleResource[c.Role]
	n := 0
	for _, ns := range nss {
		opts := selector(c)
		opts.Limit = 500
		for {
			list, err := mc.Resource(gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				return 0, listError(gvr, ns, err)
			}
			n += len(list.Items)
			if list.Continue == "" {
				break
			}
			opts.Continue = list.Continue
		}
	}
	return n, nil
}

func listError(gvr schema.GroupVersionResource, ns string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("listing %s: forbidden; grant the RBAC rule %s: %w", gvr.Resource, rbacRule(gvr, ns), err)
	}
	return fmt.Errorf("listing %s: %w", gvr.Resource, err)
}

func rbacRule(gvr schema.GroupVersionResource, ns string) string {
	scope := "a ClusterRole"
	if ns != "" {
		scope = fmt.Sprintf("a Role in namespace %s", ns)
	}
	return fmt.Sprintf("{apiGroups: [%q], resources: [%s], verbs: [list, watch]} (%s)", gvr.Group, gvr.Resource, scope)
}

// missingRBAC asks the apiserver, for every resource the role needs, in
// every namespace it watches, whether list and watch are allowed, and
// returns the rules that are missing (check-config --probe).
func missingRBAC(ctx context.Context, c *kubernetes.SDConfig, userAgent string) ([]string, error) {
	kcfg, err := restConfig(c, userAgent)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	cs, err := k8s.NewForConfig(kcfg)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	nss, err := namespaces(c)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, gvr := range roleNeeds(c) {
		for _, ns := range nss {
			if gvr.Resource == "nodes" || gvr.Resource == "namespaces" {
				ns = ""
			}
			for _, verb := range []string{"list", "watch"} {
				r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
					Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
						Namespace: ns, Verb: verb, Group: gvr.Group, Resource: gvr.Resource,
					}},
				}, metav1.CreateOptions{})
				if err != nil {
					return nil, fmt.Errorf("asking the apiserver what is allowed: %w", err)
				}
				if !r.Status.Allowed {
					missing = append(missing, rbacRule(gvr, ns))
					break
				}
			}
		}
	}
	return missing, nil
}
