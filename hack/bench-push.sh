#!/usr/bin/env bash
# Whole-process benchmark: `liftpush push` of a generated exposition file
# into a real Prometheus remote-write receiver, wall time and peak RSS.
#   hack/bench-push.sh ./liftpush [samples...]     (default: 100000 1000000)
# With PROMTOOL=/path/to/promtool, `promtool push metrics` runs on the same
# file against a fresh Prometheus, side by side, for the ratio.
set -euo pipefail
bin=$(realpath "${1:-./liftpush}"); shift || true
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

if [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends time >/dev/null
fi
work=$(mktemp -d)
ksmgen="$work/ksmgen"
(cd "$(dirname "$0")/.." && go build -o "$ksmgen" ./hack/ksmgen)
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=""; }
trap 'stop; rm -rf "$work"' EXIT

start_prom() {
  stop
  rm -rf "$work/data"
  printf 'global:\n  scrape_interval: 15s\n' > "$work/prometheus.yml"
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address=127.0.0.1:19390 --web.enable-remote-write-receiver >"$work/prom.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -sf http://127.0.0.1:19390/-/ready >/dev/null && return; sleep 0.05; done
  echo "prometheus did not start" >&2; exit 1
}

# measure NAME CMD...: prints wall seconds and peak RSS in MiB.
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/$name.err" || { echo "$name failed:"; tail -5 "$work/$name.err"; }
  read -r wall rss < <(tail -n1 "$work/time")
  printf '%-28s wall %7.2f s   peak RSS %8.1f MiB\n' "$name" "$wall" "$(echo "$rss/1024" | bc -l)"
}

for n in "${sizes[@]}"; do
  f="$work/bench-$n.prom"
  # kube-state-metrics shaped: 8-10 labels a series, about 250 bytes a sample.
  "$ksmgen" "$n" > "$f"
  echo "== $n samples ($(du -h "$f" | cut -f1))"
  start_prom
  measure "liftpush push" "$bin" push --remote-write.url=http://127.0.0.1:19390/api/v1/write "$f"
  got=$(curl -sfG http://127.0.0.1:19390/api/v1/query --data-urlencode 'query=count({__name__=~"kube_.+"})' | sed -E 's/.*"value":\[[^,]*,"([0-9]+)".*/\1/')
  echo "   series in Prometheus afterwards: $got"
  if [ -n "${PROMTOOL:-}" ]; then
    start_prom
    # promtool appends --remote-write.path (/api/v1/write) to the URL itself.
    measure "promtool push metrics" "$PROMTOOL" push metrics --timeout=10m http://127.0.0.1:19390 "$f"
    got=$(curl -sfG http://127.0.0.1:19390/api/v1/query --data-urlencode 'query=count({__name__=~"kube_.+"})' | sed -E 's/.*"value":\[[^,]*,"([0-9]+)".*/\1/')
    echo "   series in Prometheus afterwards: $got"
  fi
done
