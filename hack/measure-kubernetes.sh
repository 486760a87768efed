#!/usr/bin/env bash
# Measures the Kubernetes collector against a real kube-apiserver: wall time
# and peak RSS of `liftpush collect` for 1,000 and 10,000 Deployments, and
# the ratio between them (DESIGN.md section 8: at most 11x). Then the
# in-process Go benchmark of one Collect for both sizes.
# Needs etcd and the kube-apiserver of hack/build-kube-apiserver.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/build-kube-apiserver.sh >/dev/null
LIFTPUSH_KUBE_MEASURE=1 go test -count=1 -timeout 30m -v \
	-run '^TestMeasureScaling$' -bench '^BenchmarkCollect$' -benchmem -benchtime 3x \
	./internal/collect/kubernetes/ | grep -E 'Deployments|ratio|Benchmark|^(ok|FAIL|---)'
