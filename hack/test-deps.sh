#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, and nothing when it
# is there already. Run by `make test`.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v etcd >/dev/null || need+=(etcd-server)
[ -x /usr/bin/time ] || need+=(time)   # make bench measures peak RSS with it

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  # policy-rc.d or no systemd: nothing is started; the tests start their own.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Binaries built from source (slow the first time, cached after).
for script in hack/build-kube-apiserver.sh; do
  [ -x "$script" ] && "$script"
done
exit 0
