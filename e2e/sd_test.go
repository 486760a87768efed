package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// kubernetesExample is the job list of Prometheus' own
// documentation/examples/prometheus-kubernetes.yml, as a user pastes it,
// with three changes a cluster-external run needs: kubeconfig_file in every
// kubernetes_sd_configs entry, and the service account's CA and token
// files, which exist only in a pod, replaced (KUBECONFIG, CA, TOKEN). An
// endpointslice job is added, the role the example leaves out.
const kubernetesExample = `global:
  scrape_interval: 2s
  keep_dropped_targets: 100
scrape_configs:
  - job_name: "kubernetes-apiservers"
    kubernetes_sd_configs:
      - role: endpoints
        kubeconfig_file: KUBECONFIG
    scheme: https
    tls_config:
      ca_file: CA
    authorization:
      credentials_file: TOKEN
    relabel_configs:
      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_service_name, __meta_kubernetes_endpoint_port_name]
        action: keep
        regex: default;kubernetes;https
  - job_name: "kubernetes-nodes"
    scheme: https
    tls_config:
      ca_file: CA
    authorization:
      credentials_file: TOKEN
    kubernetes_sd_configs:
      - role: node
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_node_label_(.+)
  - job_name: "kubernetes-cadvisor"
    scheme: https
    metrics_path: /metrics/cadvisor
    tls_config:
      ca_file: CA
    authorization:
      credentials_file: TOKEN
    kubernetes_sd_configs:
      - role: node
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_node_label_(.+)
  - job_name: "kubernetes-service-endpoints"
    kubernetes_sd_configs:
      - role: endpoints
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        action: replace
        target_label: service
  - job_name: "kubernetes-service-endpointslices"
    kubernetes_sd_configs:
      - role: endpointslice
        kubeconfig_file: KUBECONFIG
        namespaces: {names: [shop]}
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_endpointslice_name]
        target_label: endpointslice
  - job_name: "kubernetes-services"
    metrics_path: /probe
    params:
      module: [http_2xx]
    kubernetes_sd_configs:
      - role: service
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - target_label: __address__
        replacement: blackbox-exporter.example.com:9115
      - source_labels: [__param_target]
        target_label: instance
      - action: labelmap
        regex: __meta_kubernetes_service_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        target_label: service
  - job_name: "kubernetes-ingresses"
    metrics_path: /probe
    params:
      module: [http_2xx]
    kubernetes_sd_configs:
      - role: ingress
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - source_labels: [__meta_kubernetes_ingress_scheme, __address__, __meta_kubernetes_ingress_path]
        regex: (.+);(.+);(.+)
        replacement: ${1}://${2}${3}
        target_label: __param_target
      - target_label: __address__
        replacement: blackbox-exporter.example.com:9115
      - source_labels: [__param_target]
        target_label: instance
      - action: labelmap
        regex: __meta_kubernetes_ingress_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_ingress_name]
        target_label: ingress
  - job_name: "kubernetes-pods"
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: KUBECONFIG
    relabel_configs:
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
`

// hostIP is this machine's first non-loopback IPv4 address: the apiserver
// refuses loopback addresses in Endpoints and EndpointSlices.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Fatal("no non-loopback IPv4 address: the Kubernetes objects need one to point at")
	return ""
}

// metricsTarget serves a fixed exposition on ip and returns its port.
func metricsTarget(t *testing.T, ip, body string) int32 {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, body)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return int32(p)
}

// createSDObjects makes, in namespace shop, what each role of the example
// finds: a Service with hand-made Endpoints and one with an EndpointSlice,
// both pointing at local targets; a Pod whose status holds a podIP; a Node
// with addresses; an Ingress.
func createSDObjects(t *testing.T, srv *kubeapi.Server, ip string, webPort, batchPort, workerPort int32) {
	t.Helper()
	ctx := t.Context()
	cs := srv.Clientset
	srv.CreateNamespaces(t, "shop")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := func(name string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": name, "tier": "backend"}},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		}
	}
	must(cs.CoreV1().Services("shop").Create(ctx, svc("web"), metav1.CreateOptions{}))
	must(cs.CoreV1().Services("shop").Create(ctx, svc("batch"), metav1.CreateOptions{}))
	//lint:ignore SA1019 the endpoints role reads v1 Endpoints, deprecated or not.
	must(cs.CoreV1().Endpoints("shop").Create(ctx, &corev1.Endpoints{ //nolint:staticcheck
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck
			Addresses: []corev1.EndpointAddress{{IP: ip}},                   //nolint:staticcheck
			Ports:     []corev1.EndpointPort{{Name: "http", Port: webPort}}, //nolint:staticcheck
		}},
	}, metav1.CreateOptions{}))
	must(cs.DiscoveryV1().EndpointSlices("shop").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "batch-x1", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "batch"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(batchPort)}},
	}, metav1.CreateOptions{}))
	// No controller manager runs here to make the default service account.
	must(cs.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
	pod, err := cs.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-0", Namespace: "shop", Labels: map[string]string{"app": "worker"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "worker", Image: "registry.example/worker:1",
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: workerPort}},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: ip}
	must(cs.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}))
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-1", Labels: map[string]string{"kubernetes.io/hostname": "edge-1", "topology.kubernetes.io/zone": "z1"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: "edge-1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 1}},
	}
	must(cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}))
	pathType := networkingv1.PathTypePrefix
	must(cs.NetworkingV1().Ingresses("shop").Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "shop.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}, metav1.CreateOptions{}))
}

// TestE2EKubernetesSDLikePrometheus runs Prometheus' Kubernetes example
// config, unchanged apart from kubeconfig_file and the in-pod files, in
// Prometheus 3.16 and in one `liftpush run --once` against the same
// apiserver: the targets (every up series, with its labels and value) and
// the scraped series must be the same.
func TestE2EKubernetesSDLikePrometheus(t *testing.T) {
	srv := kubeapi.Start(t)
	ip := hostIP(t)
	webPort := metricsTarget(t, ip, "# TYPE shop_requests_total counter\nshop_requests_total{code=\"200\"} 7\nshop_requests_total{code=\"500\"} 1\n")
	batchPort := metricsTarget(t, ip, "# TYPE shop_batch_last_success gauge\nshop_batch_last_success 1.7e+09\n")
	workerPort := metricsTarget(t, ip, "# TYPE shop_queue_depth gauge\nshop_queue_depth{queue=\"emails\"} 3\n")
	createSDObjects(t, srv, ip, webPort, batchPort, workerPort)

	dir := t.TempDir()
	token := writeFile(t, dir, "token", "not-a-valid-token\n")
	cfg := strings.NewReplacer("KUBECONFIG", srv.Kubeconfig, "CA", srv.CAFile, "TOKEN", token).Replace(kubernetesExample)
	cfgFile := writeFile(t, dir, "prometheus.yml", cfg)

	ref := testinfra.StartPrometheus3With(t, cfg)
	prom := testinfra.StartPrometheus(t, "")
	res := testinfra.Run(t, nil, "run", "--once", "--config.file="+cfgFile, "--remote-write.url="+prom.WriteURL())
	// Some targets cannot answer (kubelets, the blackbox exporter): the run
	// says so with exit code 1, and pushes every target's up.
	if res.ExitCode != 1 {
		t.Fatalf("exit code %d, want 1 (some targets are down)", res.ExitCode)
	}

	const jobs = `{job=~"kubernetes-.*"}`
	got := waitQuery(t, prom, "up"+jobs, func(s []testinfra.Sample) bool { return len(s) > 0 })
	want := upAndValues(got)
	// The reference scrapes every 2s: wait until it has seen every target.
	var refUp []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		refUp = upAndValues(ref.Query(t, "up"+jobs))
		if cmp.Equal(want, refUp) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if diff := cmp.Diff(refUp, want); diff != "" {
		t.Errorf("up series, Prometheus 3.16 (-) against liftpush (+):\n%s", diff)
	}
	// kubernetes-apiservers finds nothing here: this apiserver listens on
	// loopback, which it does not publish in default/kubernetes' Endpoints.
	for _, want := range []string{"kubernetes-service-endpoints", "kubernetes-service-endpointslices", "kubernetes-pods", "kubernetes-nodes", "kubernetes-cadvisor", "kubernetes-ingresses", "kubernetes-services"} {
		if !slices.ContainsFunc(got, func(s testinfra.Sample) bool { return s.Metric["job"] == want }) {
			t.Errorf("no target of job %s: %v", want, labelSets(got))
		}
	}

	scraped := `{__name__=~"shop_.*"}`
	gotSeries := upAndValues(prom.Query(t, scraped))
	refSeries := upAndValues(ref.Query(t, scraped))
	if len(gotSeries) != 4 {
		t.Errorf("liftpush pushed %d shop_ series, want 4: %v", len(gotSeries), gotSeries)
	}
	if diff := cmp.Diff(refSeries, gotSeries); diff != "" {
		t.Errorf("scraped series, Prometheus 3.16 (-) against liftpush (+):\n%s", diff)
	}
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
		t.Logf("config:\n%s", b)
	}
}

// upAndValues renders samples as "labels value", sorted.
func upAndValues(res []testinfra.Sample) []string {
	out := make([]string, 0, len(res))
	for _, s := range res {
		out = append(out, fmt.Sprintf("%s %g", labelSets([]testinfra.Sample{s})[0], s.Value))
	}
	slices.Sort(out)
	return out
}
