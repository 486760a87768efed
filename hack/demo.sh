#!/usr/bin/env bash
# make demo: start a throw-away Prometheus with the remote-write receiver and
# the fake Spacelift API, push to it once with liftpush, show what arrived, stop everything.
set -euo pipefail
bin=${1:-./liftpush}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/hack/demo-lib.sh"

if ! command -v prometheus >/dev/null; then
  echo "==> installing Prometheus (Debian package)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 19090)
prom="http://127.0.0.1:$port"
printf 'global:\n  scrape_interval: 15s\n' > "$work/prometheus.yml"
echo "==> starting Prometheus on $prom (data in $work)"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver >"$work/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$prom/-/ready" >/dev/null && break; sleep 0.1; done

# The fake Spacelift API from the tests, with the demo account.
echo "==> starting the fake Spacelift API (demo account)"
(cd "$here" && go build -o "$work/spacelift-fake" ./hack/spacelift-fake)
demo_start "$work" "$here" "$prom" "$work/spacelift-fake"
echo "==> liftpush run --once --config.file=liftpush.yml"
"$bin" run --once --config.file="$work/liftpush.yml"

query() {
  echo
  echo "==> PromQL: $1"
  curl -sfG "$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]; name = m.pop("__name__", "")
    print("  %s{%s} %s" % (name, ",".join("%s=%r" % kv for kv in sorted(m.items())), r["value"][1]))'
}
query 'shop_orders_total'
query 'histogram_quantile(0.9, sum by (le) (shop_checkout_seconds_bucket))'
query 'max(spacelift_worker_pool_runs_pending) by (worker_pool_id, worker_pool_name)'
query 'max(spacelift_worker_pool_runs_pending) by (worker_pool_id, worker_pool_name) >= 10'
query 'clamp_min(max(spacelift_current_billing_period_end_timestamp_seconds) - time(), 0)'
query '{__name__=~"liftpush_collector_up|liftpush_collector_samples"}'
echo
echo "==> done; stopping Prometheus"
