#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, and nothing when it
# is there already. Run by `make test`.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v etcd >/dev/null || need+=(etcd-server)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)   # a lenient 1.0-only receiver
[ -x /usr/bin/time ] || need+=(time)   # make bench measures peak RSS with it

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  # policy-rc.d or no systemd: nothing is started; the tests start their own.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# kube-apiserver, built from source (slow the first time, cached after).
hack/build-kube-apiserver.sh
# Prometheus 3, the remote-write 2.0 receiver (Debian's 2.42 lacks 2.0):
# built from source like kube-apiserver, about 8 minutes cold, cached after.
hack/build-prometheus3.sh
# Grafana Mimir, the receiver behind Grafana Cloud (tenants, 400 and 429
# answers): built from source, about 7 minutes and 2.1 GB RSS cold, cached
# after.
hack/build-mimir.sh
# promtool 3.16 for `promtool test rules examples/prometheus-rules.test.yml`
# (examples/promtool_test.go) and the bench baseline: about 3 minutes cold,
# cached after.
hack/build-promtool.sh >/dev/null
# helm for the chart tests (charts/liftpush), from the Go module proxy: about
# 2 minutes cold. The tests look for it in this cache.
helm_bin="${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}/bin/helm"
if [ ! -x "$helm_bin" ]; then
  echo "test-deps: installing helm v3.22.0 into $(dirname "$helm_bin")"
  GOBIN="$(dirname "$helm_bin")" go install helm.sh/helm/v3/cmd/helm@v3.22.0
fi
exit 0
