package shard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestOwnsUIDKnownHash pins the hash to FNV-64a: the published test vector
// of "a" is 0xaf63dc4c8601ec8c, so its owner is that value modulo N. A
// change of hash would move every object to another shard.
func TestOwnsUIDKnownHash(t *testing.T) {
	const fnvA = uint64(0xaf63dc4c8601ec8c)
	for _, n := range []int{2, 3, 4, 7} {
		want := int(fnvA % uint64(n))
		for i := range n {
			o := Owner{Shard: i, Total: n}
			if got := o.OwnsUID("a"); got != (i == want) {
				t.Errorf("Owner{%d,%d}.OwnsUID(a) = %v, want the owner to be shard %d", i, n, got, want)
			}
		}
	}
}

// TestEachItemOnce checks the property sharding rests on: for any N, every
// UID and every label set has exactly one owner among 0..N-1, and the parts
// are of similar size.
func TestEachItemOnce(t *testing.T) {
	const items = 3000
	for _, n := range []int{1, 2, 3, 5} {
		counts := make([]int, n)
		for k := range items {
			uid := fmt.Sprintf("5f0c8c2e-%04x-4a1b-9c7d-%012x", k, k*7919)
			ls := labels.FromStrings("job", "pods", "instance", fmt.Sprintf("10.0.%d.%d:9100", k/250, k%250))
			uidOwners, lsOwners := 0, 0
			for i := range n {
				o := Owner{Shard: i, Total: n}
				if o.OwnsUID(uid) {
					uidOwners++
					counts[i]++
				}
				if o.OwnsLabels(ls) {
					lsOwners++
				}
			}
			if uidOwners != 1 || lsOwners != 1 {
				t.Fatalf("N=%d item %d: %d UID owners and %d label owners, want 1 each", n, k, uidOwners, lsOwners)
			}
		}
		for i, c := range counts {
			if share := float64(c) / items; share < 0.8/float64(n) || share > 1.2/float64(n) {
				t.Errorf("N=%d: shard %d owns %.1f%% of the UIDs, want about %.1f%%", n, i, 100*share, 100/float64(n))
			}
		}
	}
}

func TestUnshardedOwnsAll(t *testing.T) {
	for _, o := range []Owner{{}, Unsharded} {
		if !o.OwnsUID("x") || !o.OwnsLabels(labels.FromStrings("a", "b")) || o.Sharded() || o.String() != "" {
			t.Errorf("%#v does not own everything", o)
		}
	}
	if s := (Owner{Shard: 1, Total: 3}).String(); s != "1/3" {
		t.Errorf("String() = %q, want 1/3", s)
	}
}

// TestLabelsHashIgnoresInternal: labels starting with __ never reach a
// series, so they must not move a target; every other label does.
func TestLabelsHashIgnoresInternal(t *testing.T) {
	base := labels.FromStrings("instance", "a:80", "job", "x")
	withMeta := labels.FromStrings("__meta_kubernetes_pod_name", "p", "__address__", "a:80", "instance", "a:80", "job", "x")
	if LabelsHash(base) != LabelsHash(withMeta) {
		t.Error("__ labels changed the hash")
	}
	if LabelsHash(base) == LabelsHash(labels.FromStrings("instance", "a:80", "job", "y")) {
		t.Error("a different job gave the same hash")
	}
	// The separator keeps name and value apart: {ab="c"} is not {a="bc"}.
	if LabelsHash(labels.FromStrings("ab", "c")) == LabelsHash(labels.FromStrings("a", "bc")) {
		t.Error("ab=c and a=bc hash the same")
	}
}

func TestFromHostname(t *testing.T) {
	for _, tc := range []struct {
		host string
		want int
		err  string
	}{
		{host: "liftpush-2", want: 2},
		{host: "liftpush-0", want: 0},
		{host: "my-release-liftpush-11", want: 11},
		{host: "liftpush-3.liftpush.monitoring.svc.cluster.local", want: 3},
		{host: "liftpush", err: `hostname "liftpush" has no ordinal`},
		{host: "liftpush-", err: `has no ordinal`},
		{host: "liftpush-7d9f8b-x2x9z", err: `"x2x9z" is not a number`},
		{host: "liftpush-+1", err: `is not a number`},
		{host: "liftpush--1", want: 1},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got, err := FromHostname(tc.host)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("FromHostname(%q) = %d, %v; want an error containing %q", tc.host, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FromHostname(%q) = %d, %v; want %d", tc.host, got, err, tc.want)
			}
		})
	}
}

func TestHolder(t *testing.T) {
	var h Holder
	if h.Get() != Unsharded {
		t.Fatalf("zero Holder = %v, want Unsharded", h.Get())
	}
	h.Set(Owner{Shard: 2, Total: 3})
	if got := h.Get(); got != (Owner{Shard: 2, Total: 3}) {
		t.Fatalf("Get() = %v after Set(2/3)", got)
	}
}
