// Package ksmgen writes a large, deterministic Prometheus text exposition
// shaped like kube-state-metrics output, for load tests and benchmarks: the
// families, label names and value shapes of a real cluster's pods,
// containers, Deployments and nodes.
//
// The label sets are kube-state-metrics' own, widened where it has fewer to
// 8-10 labels with more of the object's attributes (a pod's node, IPs and
// QoS class; a Deployment's labels), so that a sample averages about 250
// bytes, like a real cluster's scrape: a million samples make 250 MB.
package ksmgen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// MaxSamples is the largest n Write accepts, some 25 GB of text.
const MaxSamples = 100_000_000

// Stats describes what Write wrote.
type Stats struct {
	// Samples is the number of sample lines; Series equals it, since no
	// two lines share a series.
	Samples, Series int
	// Families lists the metric families written, in order.
	Families []string
	// Bytes is the size of the exposition.
	Bytes int64
}

// Write writes n samples of Prometheus text exposition (text/plain 0.0.4)
// shaped like kube-state-metrics output to w: families with # HELP and
// # TYPE lines, 8-10 labels per series, no timestamps, every series
// unique (every pod series has the pod's uid, every node series the node's
// name, every Deployment series its namespace and name), about 250 bytes
// per sample. The output depends on n only, and n >= 17 covers every
// family.
func Write(w io.Writer, n int) (Stats, error) {
	if n < 0 || n > MaxSamples {
		return Stats{}, fmt.Errorf("ksmgen: %d samples; want 0 to %d", n, MaxSamples)
	}
	counts := split(n)
	g := &gen{
		w:     bufio.NewWriterSize(w, 256<<10),
		buf:   make([]byte, 0, 1024),
		nodes: 1,
	}
	for i, f := range families {
		if f.perNode {
			g.nodes = max(g.nodes, (counts[i]+f.mult-1)/f.mult)
		}
	}
	var st Stats
	for i, f := range families {
		c := counts[i]
		if c == 0 {
			continue
		}
		st.Families = append(st.Families, f.name)
		g.buf = g.buf[:0]
		g.buf = append(g.buf, "# HELP "...)
		g.buf = append(g.buf, f.name...)
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, f.help...)
		g.buf = append(g.buf, "\n# TYPE "...)
		g.buf = append(g.buf, f.name...)
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, f.typ...)
		g.buf = append(g.buf, '\n')
		if err := g.emit(); err != nil {
			return st, err
		}
		for j := range c {
			g.buf = g.buf[:0]
			g.buf = append(g.buf, f.name...)
			g.buf = append(g.buf, '{')
			v := f.series(g, j/f.mult, j%f.mult)
			g.buf[len(g.buf)-1] = '}' // the last label's comma
			g.buf = append(g.buf, ' ')
			g.buf = strconv.AppendFloat(g.buf, v, 'g', -1, 64)
			g.buf = append(g.buf, '\n')
			if err := g.emit(); err != nil {
				return st, err
			}
			st.Samples++
		}
	}
	if err := g.w.Flush(); err != nil {
		return st, fmt.Errorf("ksmgen: %w", err)
	}
	st.Series = st.Samples
	st.Bytes = g.bytes
	return st, nil
}

// split shares n samples among the families: one each (to the first n
// when n is smaller), the rest by weight, what rounding leaves one each to
// the first families.
func split(n int) []int {
	counts := make([]int, len(families))
	if n < len(families) {
		for i := range n {
			counts[i] = 1
		}
		return counts
	}
	total := 0
	for _, f := range families {
		total += f.weight
	}
	rest := int64(n - len(families))
	left := n
	for i, f := range families {
		counts[i] = 1 + int(rest*int64(f.weight)/int64(total))
		left -= counts[i]
	}
	for i := 0; left > 0; i++ {
		counts[i]++
		left--
	}
	return counts
}

type gen struct {
	w     *bufio.Writer
	buf   []byte
	bytes int64
	nodes int // pods are spread over this many nodes
}

// emit writes the line in buf.
func (g *gen) emit() error {
	n, err := g.w.Write(g.buf)
	g.bytes += int64(n)
	if err != nil {
		return fmt.Errorf("ksmgen: %w", err)
	}
	return nil
}

// l appends name="value",.
func (g *gen) l(name, value string) {
	g.buf = append(g.buf, name...)
	g.buf = append(g.buf, '=', '"')
	g.buf = append(g.buf, value...)
	g.buf = append(g.buf, '"', ',')
}

// lb is l for a value built by fn appending to the buffer.
func (g *gen) lb(name string, fn func([]byte) []byte) {
	g.buf = append(g.buf, name...)
	g.buf = append(g.buf, '=', '"')
	g.buf = fn(g.buf)
	g.buf = append(g.buf, '"', ',')
}

type family struct {
	name, help, typ string
	// weight is the family's share of the samples: series per 30 pods.
	weight int
	// mult is the number of series per unit (a pod, a Deployment, a node);
	// series appends the labels of the sub-th series of unit (each ending
	// in a comma) and returns its value.
	mult   int
	series func(g *gen, unit, sub int) float64
	// perNode families have a unit per node; their counts set the number
	// of nodes the pods run on.
	perNode bool
}

var families = []family{
	{
		name: "kube_pod_info", help: "[STABLE] Information about pod.", typ: "gauge",
		weight: 30, mult: 1,
		series: func(g *gen, p, _ int) float64 {
			g.pod(p)
			g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
			g.lb("pod_ip", func(b []byte) []byte { return appendPodIP(b, p) })
			g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
			g.l("created_by_kind", "ReplicaSet")
			g.lb("created_by_name", func(b []byte) []byte { return appendReplicaSet(b, p/replicas) })
			g.l("priority_class", priorityClasses[hash(uint64(p/replicas), 11)%uint64(len(priorityClasses))])
			g.l("host_network", "false")
			return 1
		},
	},
	{
		name: "kube_pod_owner", help: "[STABLE] Information about the Pod's owner.", typ: "gauge",
		weight: 30, mult: 1,
		series: func(g *gen, p, _ int) float64 {
			g.pod(p)
			g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
			g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
			g.l("owner_kind", "ReplicaSet")
			g.lb("owner_name", func(b []byte) []byte { return appendReplicaSet(b, p/replicas) })
			g.l("owner_is_controller", "true")
			return 1
		},
	},
	{
		name: "kube_pod_labels", help: "[STABLE] Kubernetes labels converted to Prometheus labels.", typ: "gauge",
		weight: 30, mult: 1,
		series: func(g *gen, p, _ int) float64 {
			d := p / replicas
			g.pod(p)
			g.l("label_app", apps[appOf(d)])
			g.l("label_app_kubernetes_io_part_of", namespaces[nsOf(d)])
			g.lb("label_pod_template_hash", func(b []byte) []byte { return appendHash(b, d) })
			g.l("label_team", teams[nsOf(d)%len(teams)])
			g.lb("label_version", func(b []byte) []byte { return appendVersion(b, d) })
			return 1
		},
	},
	{
		name: "kube_pod_status_phase", help: "[STABLE] The pods current phase.", typ: "gauge",
		weight: 30 * len(phases), mult: len(phases),
		series: func(g *gen, p, sub int) float64 {
			g.podPlacement(p)
			g.l("phase", phases[sub])
			return b2f(phaseOf(p) == sub)
		},
	},
	{
		name: "kube_pod_status_reason", help: "The pod status reasons", typ: "gauge",
		weight: 30 * len(reasons), mult: len(reasons),
		series: func(g *gen, p, sub int) float64 {
			g.podPlacement(p)
			g.l("reason", reasons[sub])
			return b2f(sub == 0 && phaseOf(p) == failed) // Evicted
		},
	},
	{
		name: "kube_pod_status_ready", help: "[STABLE] Describes whether the pod is ready to serve requests.", typ: "gauge",
		weight: 30 * len(conditionStatuses), mult: len(conditionStatuses),
		series: func(g *gen, p, sub int) float64 {
			g.podPlacement(p)
			g.l("condition", conditionStatuses[sub])
			ready := 1 // false
			if phaseOf(p) == running {
				ready = 0
			}
			return b2f(sub == ready)
		},
	},
	{
		name: "kube_pod_status_scheduled", help: "[STABLE] Describes the status of the scheduling process for the pod.", typ: "gauge",
		weight: 30 * len(conditionStatuses), mult: len(conditionStatuses),
		series: func(g *gen, p, sub int) float64 {
			g.podPlacement(p)
			g.l("condition", conditionStatuses[sub])
			return b2f(sub == 0) // every pod has a node
		},
	},
	{
		name: "kube_pod_container_info", help: "[STABLE] Information about a container in a pod.", typ: "gauge",
		weight: 30 * containers, mult: containers,
		series: func(g *gen, p, c int) float64 {
			g.pod(p)
			g.lb("container", func(b []byte) []byte { return appendContainer(b, p/replicas, c) })
			g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
			g.lb("image", func(b []byte) []byte { return appendImage(b, p/replicas, c) })
			g.lb("image_id", func(b []byte) []byte { return appendImageID(b, p/replicas, c) })
			g.lb("container_id", func(b []byte) []byte {
				b = append(b, "containerd://"...)
				return appendHex(b, uint64(p)*containers+uint64(c), 23, 64)
			})
			return 1
		},
	},
	{
		name: "kube_pod_container_status_restarts_total", help: "[STABLE] The number of container restarts per container.", typ: "counter",
		weight: 30 * containers, mult: containers,
		series: func(g *gen, p, c int) float64 {
			g.container(p, c)
			h := hash(uint64(p)*containers+uint64(c), 31)
			if h%10 < 8 {
				return 0
			}
			return float64(h % 23)
		},
	},
	{
		name: "kube_pod_container_status_running", help: "[STABLE] Describes whether the container is currently in running state.", typ: "gauge",
		weight: 30 * containers, mult: containers,
		series: func(g *gen, p, c int) float64 {
			g.container(p, c)
			return b2f(phaseOf(p) == running)
		},
	},
	{
		name: "kube_pod_container_resource_requests", help: "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.", typ: "gauge",
		weight: 30 * containers * 2, mult: containers * 2,
		series: func(g *gen, p, sub int) float64 { return g.resource(p, sub, 1) },
	},
	{
		name: "kube_pod_container_resource_limits", help: "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.", typ: "gauge",
		weight: 30 * containers * 2, mult: containers * 2,
		series: func(g *gen, p, sub int) float64 { return g.resource(p, sub, 2) },
	},
	{
		name: "kube_deployment_spec_replicas", help: "[STABLE] Number of desired pods for a deployment.", typ: "gauge",
		weight: 30 / replicas, mult: 1,
		series: func(g *gen, d, _ int) float64 {
			g.deployment(d)
			return replicas
		},
	},
	{
		name: "kube_deployment_status_replicas", help: "[STABLE] The number of replicas per deployment.", typ: "gauge",
		weight: 30 / replicas, mult: 1,
		series: func(g *gen, d, _ int) float64 {
			g.deployment(d)
			return replicas
		},
	},
	{
		name: "kube_deployment_status_replicas_available", help: "[STABLE] The number of available replicas per deployment.", typ: "gauge",
		weight: 30 / replicas, mult: 1,
		series: func(g *gen, d, _ int) float64 {
			g.deployment(d)
			available := 0
			for r := range replicas {
				if phaseOf(d*replicas+r) == running {
					available++
				}
			}
			return float64(available)
		},
	},
	{
		name: "kube_node_info", help: "[STABLE] Information about a cluster node.", typ: "gauge",
		weight: 1, mult: 1, perNode: true,
		series: func(g *gen, node, _ int) float64 {
			g.node(node)
			g.l("kubeproxy_version", "deprecated")
			g.lb("provider_id", func(b []byte) []byte {
				b = append(b, "aws:///eu-west-1"...)
				b = append(b, "abc"[hash(uint64(node), 47)%3])
				b = append(b, "/i-0"...)
				return appendHex(b, uint64(node), 53, 16)
			})
			g.lb("system_uuid", func(b []byte) []byte { return appendUUID(b, uint64(node), 41) })
			g.lb("pod_cidr", func(b []byte) []byte {
				b = append(b, "10."...)
				b = strconv.AppendInt(b, int64(244+(node>>8)%4), 10)
				b = append(b, '.')
				b = strconv.AppendInt(b, int64(node&255), 10)
				return append(b, ".0/24"...)
			})
			return 1
		},
	},
	{
		name: "kube_node_status_condition", help: "[STABLE] The condition of a cluster node.", typ: "gauge",
		weight: 15, mult: len(nodeConditions) * len(conditionStatuses), perNode: true,
		series: func(g *gen, node, sub int) float64 {
			cond, status := sub/len(conditionStatuses), sub%len(conditionStatuses)
			g.node(node)
			g.l("condition", nodeConditions[cond])
			g.l("status", conditionStatuses[status])
			healthy := 1 // false: no pressure
			if cond == 0 {
				healthy = 0 // Ready: true
			}
			return b2f(status == healthy)
		},
	},
}

const (
	replicas   = 3 // pods per Deployment
	containers = 2 // per pod: the app and a sidecar
	running    = 1 // index in phases
	failed     = 3
)

var (
	phases            = []string{"Pending", "Running", "Succeeded", "Failed", "Unknown"}
	reasons           = []string{"Evicted", "NodeAffinity", "NodeLost", "Shutdown", "UnexpectedAdmissionError"}
	conditionStatuses = []string{"true", "false", "unknown"}
	nodeConditions    = []string{"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}
	priorityClasses   = []string{"default-priority", "high-priority", "batch-low-priority"}
	qosClasses        = []string{"Burstable", "Guaranteed", "Burstable", "BestEffort"}
	namespaces        = []string{
		"payments", "checkout", "search", "observability", "ingress",
		"data", "identity", "notify", "catalog", "recs",
		"billing", "cert-manager", "argocd", "logging", "support", "fulfillment",
	}
	teams = []string{"core-platform", "commerce", "growth", "data-eng", "sre", "identity-access"}
	apps  = []string{
		"api-gateway", "orders", "payments-api", "inventory", "profile",
		"search-api", "notifier", "cart", "pricing", "fraud-check",
		"sessions", "thumbnailer", "reports", "mailer", "flags",
		"audit", "shipping", "recommender", "importer", "auth",
	}
	sidecars      = []string{"istio-proxy", "fluent-bit", "otel-collector", "envoy"}
	sidecarImages = []string{
		"docker.io/istio/proxyv2:1.22.3", "cr.fluentbit.io/fluent/fluent-bit:3.1.4",
		"ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib:0.104.0",
		"docker.io/envoyproxy/envoy:v1.30.4",
	}
	kernels  = []string{"6.1.102-111.182.amzn2023.x86_64", "6.1.97-104.177.amzn2023.x86_64"}
	kubelets = []string{"v1.30.2-eks-1552ad0", "v1.30.4-eks-a737599"}
)

// Deployment d lives in namespace nsOf(d) and is named after apps[appOf(d)],
// with a generation suffix once every (namespace, app) pair is taken, so
// (namespace, name) is unique for every d.
func nsOf(d int) int  { return d % len(namespaces) }
func appOf(d int) int { return (d / len(namespaces)) % len(apps) }

func appendDeployment(b []byte, d int) []byte {
	b = append(b, apps[appOf(d)]...)
	if gen := d / (len(namespaces) * len(apps)); gen > 0 {
		b = append(b, "-v"...)
		b = strconv.AppendInt(b, int64(gen+1), 10)
	}
	return b
}

func appendReplicaSet(b []byte, d int) []byte {
	b = appendDeployment(b, d)
	b = append(b, '-')
	return appendHash(b, d)
}

// safeChars is the alphabet of Kubernetes' generated name suffixes.
const safeChars = "bcdfghjklmnpqrstvwxz2456789"

// appendHash appends Deployment d's pod-template-hash (9 or 10
// characters: a uint32 in decimal, encoded).
func appendHash(b []byte, d int) []byte {
	h := hash(uint64(d), 3)
	for range 9 + h>>63 {
		b = append(b, safeChars[h%uint64(len(safeChars))])
		h /= uint64(len(safeChars))
	}
	return b
}

// appendPod appends pod p's name: its ReplicaSet's, then 5 characters
// that differ between the replicas of one ReplicaSet.
func appendPod(b []byte, p int) []byte {
	d := p / replicas
	b = appendReplicaSet(b, d)
	b = append(b, '-')
	const space = 27 * 27 * 27 * 27 * 27
	x := (hash(uint64(d), 5)%space + uint64(p%replicas)*(space/replicas)) % space
	for range 5 {
		b = append(b, safeChars[x%27])
		x /= 27
	}
	return b
}

func (g *gen) nodeOf(p int) int { return int(hash(uint64(p), 7) % uint64(g.nodes)) }

// appendHostIP appends node i's address, 10.a.b.c, distinct for every
// node below 2^24-266.
func appendHostIP(b []byte, node int) []byte {
	x := node + 266
	b = append(b, "10."...)
	b = strconv.AppendInt(b, int64((x>>16)&255), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64((x>>8)&255), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(x&255), 10)
}

// appendNode appends node i's name, worker-0042 (more digits past 9999).
func appendNode(b []byte, node int) []byte {
	b = append(b, "worker-"...)
	for z := 1000; z > 1 && node < z; z /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(node), 10)
}

// appendPodIP appends pod p's address in 10.244.0.0/14.
func appendPodIP(b []byte, p int) []byte {
	x := p + 10
	b = append(b, "10."...)
	b = strconv.AppendInt(b, int64(244+(x>>16)%4), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64((x>>8)&255), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, int64(x&255), 10)
}

func appendVersion(b []byte, d int) []byte {
	h := hash(uint64(d), 13)
	b = append(b, "v1."...)
	b = strconv.AppendUint(b, h%40, 10)
	b = append(b, '.')
	return strconv.AppendUint(b, (h>>8)%20, 10)
}

func appendContainer(b []byte, d, c int) []byte {
	if c == 0 {
		return append(b, apps[appOf(d)]...)
	}
	return append(b, sidecars[hash(uint64(d), 17)%uint64(len(sidecars))]...)
}

func appendImage(b []byte, d, c int) []byte {
	if c == 0 {
		b = append(b, "registry.acme.io/"...)
		b = append(b, teams[nsOf(d)%len(teams)]...)
		b = append(b, '/')
		b = append(b, apps[appOf(d)]...)
		b = append(b, ':')
		return appendVersion(b, d)
	}
	return append(b, sidecarImages[hash(uint64(d), 17)%uint64(len(sidecarImages))]...)
}

func appendImageID(b []byte, d, c int) []byte {
	img := len(b)
	b = appendImage(b, d, c)
	// repository@sha256:digest: the image without its tag.
	for i := len(b) - 1; i > img; i-- {
		if b[i] == ':' {
			b = b[:i]
			break
		}
	}
	b = append(b, "@sha256:"...)
	if c == 0 {
		return appendHex(b, uint64(d), 19, 64)
	}
	return appendHex(b, hash(uint64(d), 17)%uint64(len(sidecarImages)), 29, 64)
}

// pod appends namespace, pod and uid.
func (g *gen) pod(p int) {
	d := p / replicas
	g.l("namespace", namespaces[nsOf(d)])
	g.lb("pod", func(b []byte) []byte { return appendPod(b, p) })
	g.lb("uid", func(b []byte) []byte { return appendUUID(b, uint64(p), 0) })
}

// podPlacement is pod plus node, host and pod IP, and host_network.
func (g *gen) podPlacement(p int) {
	g.pod(p)
	g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
	g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
	g.lb("pod_ip", func(b []byte) []byte { return appendPodIP(b, p) })
	g.l("host_network", "false")
}

// container appends pod, container, placement and QoS class labels.
func (g *gen) container(p, c int) {
	g.pod(p)
	g.lb("container", func(b []byte) []byte { return appendContainer(b, p/replicas, c) })
	g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
	g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
	g.lb("pod_ip", func(b []byte) []byte { return appendPodIP(b, p) })
	g.l("qos_class", qosClasses[hash(uint64(p/replicas), 61)%uint64(len(qosClasses))])
}

// resource is a requests (factor 1) or limits (factor 2) series: sub is
// container*2 + (0 cpu, 1 memory).
func (g *gen) resource(p, sub int, factor float64) float64 {
	c, mem := sub/2, sub%2 == 1
	g.pod(p)
	g.lb("container", func(b []byte) []byte { return appendContainer(b, p/replicas, c) })
	g.lb("node", func(b []byte) []byte { return appendNode(b, g.nodeOf(p)) })
	h := hash(uint64(p/replicas)*containers+uint64(c), 37)
	if mem {
		g.l("resource", "memory")
		g.l("unit", "byte")
		g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
		return factor * float64(int64(64)<<20<<(h%5))
	}
	g.l("resource", "cpu")
	g.l("unit", "core")
	g.lb("host_ip", func(b []byte) []byte { return appendHostIP(b, g.nodeOf(p)) })
	return factor * []float64{0.05, 0.1, 0.25, 0.5, 1}[h%5]
}

// deployment appends a Deployment's labels.
func (g *gen) deployment(d int) {
	g.l("namespace", namespaces[nsOf(d)])
	g.lb("deployment", func(b []byte) []byte { return appendDeployment(b, d) })
	g.lb("uid", func(b []byte) []byte { return appendUUID(b, uint64(d), 43) })
	g.l("label_app_kubernetes_io_name", apps[appOf(d)])
	g.l("label_app_kubernetes_io_part_of", namespaces[nsOf(d)])
	g.lb("label_app_kubernetes_io_version", func(b []byte) []byte { return appendVersion(b, d) })
	g.l("label_team", teams[nsOf(d)%len(teams)])
	g.l("strategy", "RollingUpdate")
}

// node appends a node's identity and versions.
func (g *gen) node(node int) {
	h := hash(uint64(node), 47)
	g.lb("node", func(b []byte) []byte { return appendNode(b, node) })
	g.lb("internal_ip", func(b []byte) []byte { return appendHostIP(b, node) })
	g.l("kernel_version", kernels[h%uint64(len(kernels))])
	g.l("os_image", "Amazon Linux 2023.5.20240805")
	g.l("kubelet_version", kubelets[h%uint64(len(kubelets))])
	g.l("container_runtime_version", "containerd://1.7.20")
}

// appendUUID appends a version 4 UUID whose last 62 bits are a bijection
// of i, so different i never share one.
func appendUUID(b []byte, i, salt uint64) []byte {
	hi := hash(i, salt+101)
	hi = hi&^(0xf<<12) | 0x4<<12               // version 4
	lo := permute62(i^hash(salt, 0)) | 0x8<<60 // variant 10
	const hex = "0123456789abcdef"
	var s [32]byte
	for k := range 16 {
		s[k] = hex[hi>>(60-4*k)&0xf]
		s[16+k] = hex[lo>>(60-4*k)&0xf]
	}
	b = append(b, s[0:8]...)
	b = append(b, '-')
	b = append(b, s[8:12]...)
	b = append(b, '-')
	b = append(b, s[12:16]...)
	b = append(b, '-')
	b = append(b, s[16:20]...)
	b = append(b, '-')
	return append(b, s[20:32]...)
}

// appendHex appends n pseudo-random hex digits for (i, salt).
func appendHex(b []byte, i, salt uint64, n int) []byte {
	const hex = "0123456789abcdef"
	for k := uint64(0); n > 0; k++ {
		h := hash(i, salt*1000+k)
		for range min(16, n) {
			b = append(b, hex[h&0xf])
			h >>= 4
			n--
		}
	}
	return b
}

// hash is splitmix64's finalizer over i and salt: deterministic noise.
func hash(i, salt uint64) uint64 {
	x := i + salt*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// permute62 is a bijection of the 62-bit integers: odd multipliers and
// xor-shifts are each invertible modulo 2^62.
func permute62(x uint64) uint64 {
	const mask = 1<<62 - 1
	x &= mask
	x = x * 0xbf58476d1ce4e5b9 & mask
	x ^= x >> 29
	x = x * 0x94d049bb133111eb & mask
	x ^= x >> 32
	return x
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// phaseOf gives most pods Running, a few Pending, Failed or Succeeded.
func phaseOf(p int) int {
	switch hash(uint64(p), 59) % 100 {
	case 0, 1:
		return 0 // Pending
	case 2:
		return failed
	case 3:
		return 2 // Succeeded
	}
	return running
}
