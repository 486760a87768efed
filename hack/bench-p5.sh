#!/usr/bin/env bash
# P5 of make bench (issue 18): 200 targets of 1,000 series each, served by
# one local process (hack/p5target) and found through file_sd. One
# `liftpush run --once` end to end (wall, CPU, peak RSS) into the
# decode-only receiver, beside a Prometheus 3.16 agent with the same
# scrape_config and receiver: its time from start to the first complete
# scrape round (every target's lastScrape set, and every sample of that round
# received). Goal for liftpush: at most 3 s and 150 MiB.
#   hack/bench-p5.sh ./liftpush RAW_TSV
# Appends rows "P5 CASE TOOL RUN WALL CPU RSS_KIB SAMPLES BYTES" to RAW_TSV.
# Environment: BENCH_RUNS (default 5), P5_TARGETS (200), P5_SERIES (1000),
# P5_PROM_INTERVAL (the agent's scrape_interval, 1m; its first round spreads
# over it), PROMETHEUS3 (default ~/.cache/liftpush/prometheus-v3.16.0, built by
# hack/build-prometheus3.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "$1")
raw=$2
runs=${BENCH_RUNS:-5}
ntargets=${P5_TARGETS:-200}
nseries=${P5_SERIES:-1000}
interval=${P5_PROM_INTERVAL:-1m}
prom3=${PROMETHEUS3:-${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}/prometheus-v3.16.0}
[ -x "$prom3" ] || prom3=$("$here/hack/build-prometheus3.sh")

work=$(mktemp -d)
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() { for _ in $(seq 400); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; return 1; }

(cd "$here" && go build -o "$work/p5target" ./hack/p5target && go build -o "$work/decode-receiver" ./hack/decode-receiver)

"$work/p5target" -targets "$ntargets" -series "$nseries" -file-sd "$work/targets.json" >"$work/p5target.log" 2>&1 &
pids+=($!)
"$work/decode-receiver" --addr-file="$work/recv.addr" >"$work/recv.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/recv.addr" ] && [ -s "$work/targets.json" ] && break; sleep 0.05; done
recv=http://$(cat "$work/recv.addr")
count() { curl -sf "$recv/count" | cut -d' ' -f2; }
reset() { curl -sf -X POST "$recv/reset"; }
wirebytes() { curl -sf "$recv/count" | cut -d' ' -f4; }
agent_cpu() { echo "$(awk '{print $14+$15}' "/proc/$ppid/stat") / $(getconf CLK_TCK)" | bc -l; }
agent_hwm() { awk '/^VmHWM/{print $2}' "/proc/$ppid/status"; }
# One round: every scraped series plus the five report series of each target.
want=$((ntargets * (nseries + 5)))

# The same scrape_config for both.
scrape="scrape_configs:
  - job_name: p5
    file_sd_configs:
      - files: [$work/targets.json]"
cat >"$work/liftpush.yml" <<YAML
$scrape
remote_write:
  - url: $recv/api/v1/write
YAML
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: $interval
$scrape
remote_write:
  - url: $recv/api/v1/write
    queue_config: {batch_send_deadline: 100ms}
YAML

"$bin" check-config --config.file="$work/liftpush.yml" >/dev/null
"$bin" run --once --log.level=warn --config.file="$work/liftpush.yml" >/dev/null 2>&1 || true # warm the page cache
for run in $(seq "$runs"); do
  reset
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" run --once --log.level=warn --config.file="$work/liftpush.yml" >"$work/lp.out" 2>"$work/lp.err" \
    || { echo "liftpush run --once (P5, run $run) failed:" >&2; tail -5 "$work/lp.err" >&2; }
  t1=$EPOCHREALTIME
  read -r _ u s m < <(tail -n1 "$work/time")
  echo "P5	$ntargets	liftpush	$run	$(echo "$t1 - $t0" | bc -l)	$(echo "$u + $s" | bc -l)	$m	$(count)	$(wirebytes)" >>"$raw"

  # Prometheus 3.16 in agent mode: from its start until every target has
  # been scraped once and every sample of that round has arrived. It
  # spreads a job's first scrapes over the scrape interval (a per-target
  # offset), so its round takes up to the interval by design; the bench
  # reports it as it is. CPU and RSS are read from /proc at that moment;
  # the samples received may include some targets' second scrape.
  reset
  rm -rf "$work/agent"
  pport=$(freeport)
  t0=$EPOCHREALTIME
  "$prom3" --agent --config.file="$work/prometheus.yml" --storage.agent.path="$work/agent" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$work/prom.log" 2>&1 &
  ppid=$!
  # Two moments: every target scraped once (/api/v1/targets), and every
  # sample of that round received. CPU and RSS are taken at each.
  ts=""
  for _ in $(seq 12000); do
    kill -0 "$ppid" 2>/dev/null || { echo "prometheus --agent exited:" >&2; tail -5 "$work/prom.log" >&2; exit 1; }
    if [ -z "$ts" ]; then
      scraped=$(curl -sf "http://127.0.0.1:$pport/api/v1/targets?state=active" 2>/dev/null \
        | python3 -c 'import json,sys; print(sum(1 for t in json.load(sys.stdin)["data"]["activeTargets"] if not t["lastScrape"].startswith("0001")))' 2>/dev/null || echo 0)
      if [ "$scraped" -ge "$ntargets" ]; then
        ts=$EPOCHREALTIME
        echo "P5	$ntargets	prometheus-agent $interval scraped	$run	$(echo "$ts - $t0" | bc -l)	$(agent_cpu)	$(agent_hwm)	$(count)	$(wirebytes)" >>"$raw"
      fi
    fi
    [ -n "$ts" ] && [ "$(count)" -ge "$want" ] && break
    sleep 0.02
  done
  t1=$EPOCHREALTIME
  echo "P5	$ntargets	prometheus-agent $interval received	$run	$(echo "$t1 - $t0" | bc -l)	$(agent_cpu)	$(agent_hwm)	$(count)	$(wirebytes)" >>"$raw"
  kill "$ppid"; wait "$ppid" 2>/dev/null || true
  tail -n3 "$raw" >&2
done
echo "P5: one round is $want samples ($ntargets targets x ($nseries series + 5 report series))" >&2
