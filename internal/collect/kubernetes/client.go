package kubernetes

import (
	"errors"
	"fmt"
	"log/slog"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client-side rate limits. client-go's defaults (5 QPS, burst 10) would
// throttle a paginated list of 10,000 objects (20 pages) for seconds; one
// run makes a few dozen requests, so a higher ceiling costs the apiserver
// nothing but keeps the cycle short.
const (
	clientQPS   = 50
	clientBurst = 100
)

// restConfig finds the cluster: an explicit kubeconfig wins; otherwise the
// pod's service account when running in a cluster; otherwise clientcmd's
// loading rules ($KUBECONFIG, then ~/.kube/config), which honour the
// current context and exec/auth-provider plugins.
func restConfig(kubeconfig, userAgent string, logger *slog.Logger) (*rest.Config, error) {
	cfg, err := loadRESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = userAgent
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	// client-go prints apiserver warnings (deprecated APIs) to stderr via
	// klog; route them into our structured log instead.
	cfg.WarningHandler = slogWarnings{logger}
	return cfg, nil
}

type slogWarnings struct{ logger *slog.Logger }

// HandleWarningHeader implements rest.WarningHandler.
func (w slogWarnings) HandleWarningHeader(code int, agent, text string) {
	w.logger.Warn("kubernetes apiserver warning", "code", code, "agent", agent, "warning", text)
}

func loadRESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err == nil {
			return cfg, nil
		}
		if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no Kubernetes cluster found: not running in a pod, and no kubeconfig in kubernetes.kubeconfig, $KUBECONFIG or ~/.kube/config")
		}
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return cfg, nil
}
