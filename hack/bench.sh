#!/usr/bin/env bash
# make bench: the whole-process and Go benchmarks of DESIGN.md section 8
# (issue 11), side by side in one run, printed as one table and written to
# bench/results/latest.md.
#   hack/bench.sh ./liftpush
# Environment:
#   BENCH_RUNS=5         runs per P1a case and per demo cycle (median, min-max)
#   BENCH_PROM_RUNS=3    runs per P1b case (a fresh Prometheus TSDB each)
#   BENCH_VERSION_RUNS=20 runs of `liftpush version`
#   BENCH_SIZES="100000 1000000"  P1a sizes; the last is the headline one
#   PROMTOOL=path        promtool 3.16 (default: hack/build-promtool.sh)
#   BENCH_SKIP_KUBE=1    leave out P4 (it creates 11,000 objects, and the shards' part 100,000)
#   BENCH_SHARDS_N=100000 Deployments of P4's sharding part (TestMeasureShards)
#   BENCH_SKIP_P5=1      leave out P5 (hack/bench-p5.sh: 200 scrape targets; it
#                        runs alone too, see its header)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/hack/demo-lib.sh"
bin=$(realpath "${1:-./liftpush}")
runs=${BENCH_RUNS:-5}
prom_runs=${BENCH_PROM_RUNS:-3}
version_runs=${BENCH_VERSION_RUNS:-20}
read -r -a sizes <<<"${BENCH_SIZES:-100000 1000000}"
big=${sizes[-1]}
out=$here/bench/results
mkdir -p "$out"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v prometheus >/dev/null || need+=(prometheus)
command -v vmagent >/dev/null || need+=(victoria-metrics)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
promtool=${PROMTOOL:-$("$here/hack/build-promtool.sh")}

work=$(mktemp -d)
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT
raw=$work/raw.tsv   # section case tool run wall cpu rss_kib samples
log=$out/latest-raw.txt
: >"$log"
note() { echo "$*" | tee -a "$log" >&2; }

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() { for _ in $(seq 400); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; return 1; }

(cd "$here" && go build -o "$work/ksmgen" ./hack/ksmgen && go build -o "$work/decode-receiver" ./hack/decode-receiver \
  && go build -o "$work/spacelift-fake" ./hack/spacelift-fake && go build -o "$work/replay-client" ./hack/replay-client)

# timed SECTION CASE TOOL RUN CMD...: wall (bash clock, ms resolution), CPU
# and peak RSS (/usr/bin/time) of CMD; samples are filled in by the caller.
timed() {
  local sec=$1 case=$2 tool=$3 run=$4; shift 4
  local t0 t1
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/cmd.out" 2>"$work/cmd.err"; then
    note "$tool ($case, run $run) failed:"; tail -5 "$work/cmd.err" | tee -a "$log" >&2
  fi
  t1=$EPOCHREALTIME
  read -r _ u s m < <(tail -n1 "$work/time")
  last="$sec	$case	$tool	$run	$(echo "$t1 - $t0" | bc -l)	$(echo "$u + $s" | bc -l)	$m"
}

# ---- P1a: into the decode-only receiver ------------------------------------
"$work/decode-receiver" --addr-file="$work/recv.addr" >"$work/recv.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/recv.addr" ] && break; sleep 0.05; done
recv=http://$(cat "$work/recv.addr")
count() { curl -sf "$recv/count" | cut -d' ' -f2; }
reset() { curl -sf -X POST "$recv/reset"; }
wirebytes() { curl -sf "$recv/count" | cut -d' ' -f4; }

vmport=$(freeport)
vmagent_run() { # FILE: POST the file to a fresh vmagent, wait until the receiver has every sample
  local f=$1 n=$2 sec=$3 case=$4 run=$5 vpid t0 t1 c0 c1
  rm -rf "$work/vmdata"
  vmagent -remoteWrite.url="$recv/api/v1/write" -httpListenAddr="127.0.0.1:$vmport" \
    -remoteWrite.tmpDataPath="$work/vmdata" -remoteWrite.flushInterval=50ms -loggerLevel=ERROR >"$work/vmagent.log" 2>&1 &
  vpid=$!
  wait_url "http://127.0.0.1:$vmport/health"
  reset
  c0=$(awk '{print $14+$15}' "/proc/$vpid/stat")
  t0=$EPOCHREALTIME
  curl -sf -H "Expect:" -X POST -T "$f" "http://127.0.0.1:$vmport/api/v1/import/prometheus" >/dev/null
  for _ in $(seq 12000); do [ "$(count)" -ge "$n" ] && break; sleep 0.01; done
  t1=$EPOCHREALTIME
  c1=$(awk '{print $14+$15}' "/proc/$vpid/stat")
  local hwm; hwm=$(awk '/^VmHWM/{print $2}' "/proc/$vpid/status")
  kill "$vpid"; wait "$vpid" 2>/dev/null || true
  echo "$sec	$case	vmagent	$run	$(echo "$t1 - $t0" | bc -l)	$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)	$hwm	$(count)	$(wirebytes)" >>"$raw"
}

for n in "${sizes[@]}"; do
  f=$work/ksm-$n.prom
  "$work/ksmgen" "$n" >"$f"
  note "== P1a: $n samples ($(du -m "$f" | cut -f1) MB), $runs runs each"
  for run in $(seq "$runs"); do
    reset; timed P1a "$n" liftpush "$run" "$bin" push --log.level=warn --remote-write.url="$recv/api/v1/write" "$f"
    echo "$last	$(count)	$(wirebytes)" >>"$raw"
    reset; timed P1a "$n" promtool "$run" "$promtool" push metrics --timeout=10m "$recv" "$f"
    echo "$last	$(count)	$(wirebytes)" >>"$raw"
    vmagent_run "$f" "$n" P1a "$n" "$run"
    tail -n3 "$raw" | tee -a "$log" >&2
  done
done
[ "$big" = "${sizes[0]}" ] || rm -f "$work/ksm-${sizes[0]}.prom"
stop_all

# ---- P1b: into a real Prometheus 2.42 --------------------------------------
pport=$(freeport)
prom=http://127.0.0.1:$pport
start_prom() {
  rm -rf "$work/data"
  printf 'global:\n  scrape_interval: 15s\n' >"$work/prometheus.yml"
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$pport" --web.enable-remote-write-receiver >"$work/prom.log" 2>&1 &
  pids+=($!)
  wait_url "$prom/-/ready"
}
series() { curl -sfG "$prom/api/v1/query" --data-urlencode 'query=count({__name__=~".+"})' | sed -E 's/.*"value":\[[^,]*,"([0-9]+)".*/\1/'; }
f=$work/ksm-$big.prom
note "== P1b: $big samples into Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), $prom_runs runs each, fresh TSDB each"
for run in $(seq "$prom_runs"); do
  start_prom; timed P1b "$big" liftpush "$run" "$bin" push --log.level=warn --remote-write.url="$prom/api/v1/write" "$f"
  echo "$last	$(series)	" >>"$raw"; stop_all
  start_prom; timed P1b "$big" promtool "$run" "$promtool" push metrics --timeout=10m "$prom" "$f"
  echo "$last	$(series)	" >>"$raw"; stop_all
  # The receiver's pace: requests encoded beforehand, sent on as many
  # connections as liftpush's default max_shards; wall is the sending only.
  start_prom; timed P1b "$big" replay "$run" "$work/replay-client" --url="$prom/api/v1/write" --concurrency=4 "$f"
  send=$(sed -nE 's/.* in ([0-9.]+) s$/\1/p' "$work/cmd.out")
  echo "$(echo "$last" | awk -F'\t' -v s="${send:-nan}" 'BEGIN{OFS="\t"} {$5=s; print}')	$(series)	" >>"$raw"; stop_all
  tail -n3 "$raw" | tee -a "$log" >&2
done
rm -f "$f"

# ---- P3: cold start ---------------------------------------------------------
note "== P3: liftpush version x$version_runs, demo cycle x$runs"
for run in $(seq "$version_runs"); do
  timed P3 version liftpush "$run" "$bin" version; echo "$last		" >>"$raw"
done
start_prom
demo_start "$work" "$here" "$prom" "$work/spacelift-fake"
"$bin" run --once --log.level=warn --config.file="$work/liftpush.yml" >/dev/null 2>&1 || true # warm the page cache
for run in $(seq "$runs"); do
  timed P3 demo liftpush "$run" "$bin" run --once --log.level=warn --config.file="$work/liftpush.yml"; echo "$last	$(series)	" >>"$raw"
done
stop_all
tail -n1 "$raw" | tee -a "$log" >&2

# ---- P5: one run --once over 200 discovered targets ------------------------
if [ "${BENCH_SKIP_P5:-}" != 1 ]; then
  note "== P5: 200 targets x 1,000 series via file_sd, run --once vs a Prometheus 3.16 agent's first round, $runs runs"
  BENCH_RUNS=$runs "$here/hack/bench-p5.sh" "$bin" "$raw" 2>>"$log" || note "P5 failed; see $log"
fi

# ---- P2 and snappy: Go benchmarks -------------------------------------------
note "== P2: go test -bench (BenchmarkEncode, BenchmarkEncodeBaseline, BenchmarkSnappy: -count=$runs; BenchmarkWireFormat: once)"
(cd "$here" && go test -run '^$' -bench '^(BenchmarkEncode|BenchmarkEncodeBaseline|BenchmarkSnappy)$' -count="$runs" -benchmem ./internal/push/remotewrite/) | tee "$work/gobench.txt" >>"$log"
(cd "$here" && go test -run '^$' -bench '^BenchmarkWireFormat$' -benchmem ./internal/push/remotewrite/) | tee "$work/wire.txt" >>"$log"

# ---- P4: Kubernetes 1k vs 10k Deployments -----------------------------------
: >"$work/kube.txt"
if [ "${BENCH_SKIP_KUBE:-}" != 1 ]; then
  note "== P4: Kubernetes 1k vs 10k Deployments (TestMeasureScaling)"
  (cd "$here" && LIFTPUSH_KUBE_MEASURE=1 go test -count=1 -timeout 30m -v -run '^TestMeasureScaling$' ./internal/collect/kubernetes/) 2>&1 \
    | grep -E 'Deployments|ratio|^(ok|FAIL|---)' | tee "$work/kube.txt" >>"$log" || true
  # P4 with shards (issue 20): run --once unsharded vs 4 shards, and the
  # daemon's steady state watching vs listing, at BENCH_SHARDS_N Deployments.
  note "== P4: shards at ${BENCH_SHARDS_N:-100000} Deployments (TestMeasureShards)"
  (cd "$here" && LIFTPUSH_KUBE_SHARDS_MEASURE=1 LIFTPUSH_KUBE_SHARDS_N="${BENCH_SHARDS_N:-100000}" \
    go test -count=1 -timeout 60m -v -run '^TestMeasureShards$' ./internal/collect/kubernetes/) 2>&1 \
    | grep -E 'Deployments|run --once|daemon|^(ok|FAIL|---)' | tee -a "$work/kube.txt" >>"$log" || true
fi

{
  echo "host: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "liftpush: $("$bin" --version 2>&1 | head -1)"
  echo "promtool: v3.16.0 built by hack/build-promtool.sh ($promtool)"
  echo "vmagent: Debian victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null), -remoteWrite.flushInterval=50ms; its wall has a fixed ~0.9 s floor (0.96 s for 1,000 samples), so compare its CPU, not its wall"
  echo "prometheus: $(prometheus --version 2>&1 | head -1)"
} >"$work/env.txt"
python3 - "$raw" "$work/gobench.txt" "$work/wire.txt" "$work/kube.txt" "$work/env.txt" \
  "$runs" "$prom_runs" "$version_runs" "${sizes[0]}" "$big" >"$out/latest.md" <<'PY'
import re, statistics, sys
raw, gob, wire, kube, env, runs, prom_runs, vruns, small, big = sys.argv[1:]
rows = {}
for line in open(raw):
    p = line.rstrip("\n").split("\t")
    sec, case, tool = p[0], p[1], p[2]
    wall, cpu, rss = float(p[4]), float(p[5]), float(p[6]) / 1024
    got = int(p[7]) if len(p) > 7 and p[7] else None
    wb = int(p[8]) if len(p) > 8 and p[8] else None
    rows.setdefault((sec, case, tool), []).append((wall, cpu, rss, got, wb))

def med(xs): return statistics.median(xs)
def cell(xs, fmt):
    return f"{fmt(med(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"
sec_s = lambda v: f"{v:.2f} s"
ms = lambda v: f"{v*1000:.0f} ms"
mib = lambda v: f"{v:.1f}"
def col(k, i): return [r[i] for r in rows.get(k, [])]
def m(k, i):
    xs = col(k, i)
    return med(xs) if xs else float("nan")
def samples(k):
    xs = [r[3] for r in rows.get(k, []) if r[3] is not None]
    return "–" if not xs else (str(xs[0]) if min(xs) == max(xs) else f"{min(xs)}–{max(xs)}")

print("# make bench results\n")
print("Generated by `make bench` (hack/bench.sh). Median of the runs, (min–max) in brackets. Wall and CPU are noisy on a shared machine: other work may run alongside.\n")
print("```\n" + open(env).read().strip() + "\n```\n")
print(f"## P1a: client cost, KSM-shaped file into a decode-only receiver ({runs} runs)\n")
print("| samples | client | wall | CPU (user+sys) | peak RSS MiB | samples received | wire B/sample |")
print("|---|---|---|---|---|---|---|")
for n in dict.fromkeys([small, big]):
    for tool in ("liftpush", "promtool", "vmagent"):
        k = ("P1a", n, tool)
        if k not in rows: continue
        wb = [r[4] for r in rows[k] if r[4]]
        print(f"| {int(n):,} | {tool} | {cell(col(k,0), sec_s)} | {cell(col(k,1), sec_s)} | {cell(col(k,2), mib)} | {samples(k)} | {med(wb)/int(n):.1f} |" if wb else
              f"| {int(n):,} | {tool} | {cell(col(k,0), sec_s)} | {cell(col(k,1), sec_s)} | {cell(col(k,2), mib)} | {samples(k)} | – |")
L, P, V = ("P1a", big, "liftpush"), ("P1a", big, "promtool"), ("P1a", big, "vmagent")
print()
print(f"- promtool / liftpush, {int(big):,} samples: wall **{m(P,0)/m(L,0):.2f}×**, CPU **{m(P,1)/m(L,1):.2f}×** (target ≥ 10×)")
print(f"- liftpush peak RSS {m(L,2):.1f} MiB (target ≤ 100 MiB); {int(big):,} / {int(small):,} samples RSS **{m(L,2)/m(('P1a',small,'liftpush'),2):.2f}×** (target ≤ 1.5×)")
print(f"- liftpush CPU / vmagent CPU: **{m(L,1)/m(V,1):.2f}×** (target ≤ 1×); vmagent's wall runs from the POST until the receiver has counted every sample, its CPU is the /proc utime+stime delta over that span, RSS its VmHWM")
print()
print(f"## P1b: {int(big):,} samples into a real Prometheus 2.42, fresh TSDB per run ({prom_runs} runs)\n")
print("| client | wall | CPU (user+sys) | peak RSS MiB | series in Prometheus |")
print("|---|---|---|---|---|")
for tool in ("liftpush", "promtool", "replay"):
    k = ("P1b", big, tool)
    if k in rows:
        name = "pre-encoded replay, 4 connections (sending only; CPU and RSS include encoding)" if tool == "replay" else tool
        print(f"| {name} | {cell(col(k,0), sec_s)} | {cell(col(k,1), sec_s)} | {cell(col(k,2), mib)} | {samples(k)} |")
L, P, R = ("P1b", big, "liftpush"), ("P1b", big, "promtool"), ("P1b", big, "replay")
if L in rows and P in rows:
    print(f"\n- promtool / liftpush wall: **{m(P,0)/m(L,0):.2f}×** (target ≥ 2.5×)")
if L in rows and R in rows:
    print(f"- liftpush / pre-encoded replay wall: **{m(L,0)/m(R,0):.2f}×** (1× is the receiver's pace: what any client could reach with 4 requests in flight)")
print()
print("## P2: encoding, and snappy codecs\n")
bench = {}
for line in open(gob):
    f = line.split()
    if not f or not f[0].startswith("Benchmark"): continue
    name = re.sub(r"-\d+$", "", f[0])
    vals = {f[i+1]: float(f[i]) for i in range(2, len(f)-1) if re.match(r"^[\d.]+$", f[i])}
    bench.setdefault(name, []).append(vals)
def bm(name, unit):
    xs = [v[unit] for v in bench.get(name, []) if unit in v]
    return xs
e, b = bm("BenchmarkEncode", "ns/sample"), bm("BenchmarkEncodeBaseline", "ns/sample")
print(f"| benchmark | ns/sample ({len(e)} runs) |")
print("|---|---|")
if e: print(f"| BenchmarkEncode (liftpush: model → protobuf → snappy) | {cell(e, lambda v: f'{v:.0f}')} |")
if b: print(f"| BenchmarkEncodeBaseline (prompb.Marshal + snappy.Encode) | {cell(b, lambda v: f'{v:.0f}')} |")
if e and b: print(f"\n- encode / baseline: **{med(e)/med(b):.2f}×** (target ≤ 1.3×)\n")
print("Snappy on real remote-write 1.0 bodies (20,000 ksmgen samples in batches of 2,000):\n")
print("| codec | ns/sample | MB/s | bytes/sample | compression ratio |")
print("|---|---|---|---|---|")
for c in ("golang-snappy", "s2-EncodeSnappy", "s2-EncodeSnappyBetter"):
    n = f"BenchmarkSnappy/codec={c}"
    if n in bench:
        print(f"| {c} | {cell(bm(n,'ns/sample'), lambda v: f'{v:.0f}')} | {med(bm(n,'MB/s')):.0f} | {med(bm(n,'bytes/sample')):.2f} | {med(bm(n,'ratio')):.2f} |")
print()
print("Remote-write 1.0 vs 2.0 on the wire (BenchmarkWireFormat, ksmgen series, one run):\n")
print("| series | 1.0 bytes/sample | 2.0 bytes/sample | 1.0 ns/sample | 2.0 ns/sample |")
print("|---|---|---|---|---|")
wf = {}
for line in open(wire):
    mm = re.match(r"BenchmarkWireFormat/series=(\d+)/format=([\d.]+)-\d+\s", line)
    if not mm: continue
    f = line.split()
    vals = {f[i+1]: f[i] for i in range(2, len(f)-1)}
    wf.setdefault(mm.group(1), {})[mm.group(2)] = vals
for s, d in wf.items():
    g = lambda fmt, u: d.get(fmt, {}).get(u, "–")
    print(f"| {int(s):,} | {g('1.0','bytes/sample')} | {g('2.0','bytes/sample')} | {g('1.0','ns/sample')} | {g('2.0','ns/sample')} |")
print()
print(f"## P3: cold start\n")
print("| run | wall | CPU (user+sys) | peak RSS MiB |")
print("|---|---|---|---|")
V, D = ("P3", "version", "liftpush"), ("P3", "demo", "liftpush")
if V in rows: print(f"| `liftpush version` ({vruns} runs) | {cell(col(V,0), ms)} | {cell(col(V,1), ms)} | {cell(col(V,2), mib)} |")
if D in rows: print(f"| demo cycle: `liftpush run --once`, fake Spacelift demo account + file scrape into Prometheus ({runs} runs) | {cell(col(D,0), ms)} | {cell(col(D,1), ms)} | {cell(col(D,2), mib)} |")
if V in rows and D in rows:
    print(f"\n- demo cycle / version: wall **{m(D,0)/m(V,0):.2f}×**, RSS **{m(D,2)/m(V,2):.2f}×** (target ≤ 1.5×); version target ≤ 30 ms and ≤ 30 MiB (DESIGN.md section 8)")
    print("- wall is taken by the shell around /usr/bin/time (≈1 ms fork overhead included); CPU has /usr/bin/time's 10 ms resolution")
print()
print(f"## P5: 200 scrape targets of 1,000 series (hack/p5target, file_sd) into the decode-only receiver ({runs} runs)\n")
p5 = sorted(k for k in rows if k[0] == "P5")
if p5:
    print("| scraper | wall | CPU (user+sys) | peak RSS MiB | samples received |")
    print("|---|---|---|---|---|")
    for k in sorted(p5, key=lambda k: (k[2] != "liftpush", k[2].endswith("received"), k[2])):
        if k[2] == "liftpush":
            name = "liftpush `run --once`, end to end"
        else:
            _, interval, moment = k[2].split(" ")
            name = f"Prometheus 3.16 `--agent`, scrape_interval {interval}: start until " + ("every target was scraped once" if moment == "scraped" else "that round's samples were all received")
        print(f"| {name} | {cell(col(k,0), sec_s)} | {cell(col(k,1), sec_s)} | {cell(col(k,2), mib)} | {samples(k)} |")
    L = ("P5", p5[0][1], "liftpush")
    if L in rows:
        print(f"\n- liftpush: {m(L,0):.2f} s (target ≤ 3 s), {m(L,2):.0f} MiB (target ≤ 150 MiB). One round is 201,000 samples (1,000 series + 5 report series a target); liftpush adds its own few self-metrics")
        print("- Prometheus spreads a job's first scrapes over its scrape interval (a per-target offset), so its first round takes up to one interval by design; its CPU and RSS are read from /proc when the round is complete")
else:
    print("(left out: BENCH_SKIP_P5=1)")
print()
print("## P4: Kubernetes, 1,000 vs 10,000 Deployments (TestMeasureScaling, 3 runs each), and shards (TestMeasureShards)\n")
kt = [l.strip() for l in open(kube) if l.strip()]
if kt:
    print("```")
    for l in kt: print(re.sub(r"^\s*\w*measure_test.go:\d+:\s*", "", l))
    print("```")
else:
    print("(left out: BENCH_SKIP_KUBE=1)")
PY
cat "$out/latest.md"
