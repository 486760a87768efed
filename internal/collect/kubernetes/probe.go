package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// Probe checks what a Collect needs, cheaply: the discovery of the
// configured resources, then a one-item list (limit=1) of each in each
// configured namespace. A 403 names the RBAC rule that would allow it
// (listError). Check-config --probe (issue 12).
func (c *Collector) Probe(ctx context.Context) (string, error) {
	v, err := c.disc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("reaching the apiserver: %w; check the kubeconfig (kubernetes.kubeconfig, $KUBECONFIG) or the in-cluster service account", err)
	}
	targets, err := resolve(c.mapper, c.disc, c.cfg.Resources)
	if err != nil {
		return "", err
	}
	var (
		listed []string
		errs   []error
	)
	for _, t := range targets {
		namespaces := c.cfg.Namespaces
		if len(namespaces) == 0 || !t.namespaced {
			namespaces = []string{""}
		}
		for _, ns := range namespaces {
			var ri dynamic.ResourceInterface = c.dyn.Resource(t.gvr)
			if t.namespaced && ns != "" {
				ri = c.dyn.Resource(t.gvr).Namespace(ns)
			}
			if _, err := ri.List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: c.cfg.LabelSelector}); err != nil {
				errs = append(errs, c.listError(err, t, ns))
				continue
			}
			where := "all namespaces"
			if ns != "" {
				where = ns
			} else if !t.namespaced {
				where = "cluster"
			}
			listed = append(listed, t.gvr.Resource+" ("+where+")")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return fmt.Sprintf("Kubernetes %s; can list %s", v.GitVersion, strings.Join(listed, ", ")), nil
}
