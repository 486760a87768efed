// Package shard splits the work of liftpush between replicas with nothing
// but a hash and a shard number, as kube-state-metrics and Prometheus'
// hashmod relabelling do: no leader election, no traffic between replicas.
// Replica I of N keeps what hashes to I modulo N; the N replicas together
// keep everything, each item exactly once, as long as they agree on N.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// Owner is one replica's part: shard Shard of Total, 0 <= Shard < Total.
// The zero value, like Total 1, owns everything.
type Owner struct {
	Shard, Total int
}

// Unsharded owns everything.
var Unsharded = Owner{Shard: 0, Total: 1}

// Sharded reports whether o owns less than everything.
func (o Owner) Sharded() bool { return o.Total > 1 }

// String is "I/N", the form logs and the staleness state use; "" when
// unsharded, so that state written before sharding existed reads as
// unsharded.
func (o Owner) String() string {
	if !o.Sharded() {
		return ""
	}
	return strconv.Itoa(o.Shard) + "/" + strconv.Itoa(o.Total)
}

// owns reports whether hash h falls in o's part.
func (o Owner) owns(h uint64) bool {
	if !o.Sharded() {
		return true
	}
	return h%uint64(o.Total) == uint64(o.Shard)
}

// OwnsUID reports whether o owns the Kubernetes object with this UID: the
// FNV-64a hash of the UID modulo Total is Shard, exactly as
// kube-state-metrics shards (pkg/sharding), so the two split a cluster the
// same way. A UID is random, so objects spread evenly whatever their
// names, and an object keeps its shard for its life.
func (o Owner) OwnsUID(uid string) bool {
	if !o.Sharded() {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	return o.owns(h.Sum64())
}

// OwnsLabels reports whether o owns the scrape target with these final
// target labels (after target relabelling). The hash is FNV-64a over the
// labels in name order, skipping the names that start with "__" (they
// never reach a series): each name, a 0xff byte, the value, a 0xff byte.
// It is liftpush's own definition, so it does not change with the
// Prometheus library; 0xff cannot occur in UTF-8, so no two label sets
// hash the same bytes. A user's own hashmod relabel rule runs before this
// and keeps working: it decides which targets exist at all.
func (o Owner) OwnsLabels(ls labels.Labels) bool {
	if !o.Sharded() {
		return true
	}
	return o.owns(LabelsHash(ls))
}

// LabelsHash is the hash OwnsLabels takes modulo Total.
func LabelsHash(ls labels.Labels) uint64 {
	h := fnv.New64a()
	sep := []byte{0xff}
	ls.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, "__") {
			return
		}
		_, _ = h.Write([]byte(l.Name))
		_, _ = h.Write(sep)
		_, _ = h.Write([]byte(l.Value))
		_, _ = h.Write(sep)
	})
	return h.Sum64()
}

// FromHostname reads the shard from a StatefulSet pod's hostname, which is
// <statefulset name>-<ordinal>: "liftpush-2" is shard 2.
func FromHostname(hostname string) (int, error) {
	// A FQDN's first label is the pod name.
	name, _, _ := strings.Cut(hostname, ".")
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return 0, fmt.Errorf("hostname %q has no ordinal; a StatefulSet pod is named <name>-<ordinal>, such as liftpush-2", hostname)
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 || strings.HasPrefix(name[i+1:], "+") {
		return 0, fmt.Errorf("hostname %q does not end in an ordinal (%q is not a number); a StatefulSet pod is named <name>-<ordinal>, such as liftpush-2", hostname, name[i+1:])
	}
	return n, nil
}

// Holder keeps the Owner of a component that outlives a configuration
// reload (a collector with a warm cache): the pipeline sets the new part
// between cycles, the component reads it during one. Safe for concurrent
// use; the zero value owns everything.
type Holder struct{ p atomic.Pointer[Owner] }

// Set replaces the part.
func (h *Holder) Set(o Owner) { h.p.Store(&o) }

// Get returns the part; Unsharded before the first Set.
func (h *Holder) Get() Owner {
	if o := h.p.Load(); o != nil {
		return *o
	}
	return Unsharded
}
