# Sourced by hack/demo.sh and hack/bench.sh, so that the bench's demo cycle
# is the demo.
#
# demo_start WORK HERE PROM FAKE_BIN starts the fake Spacelift API with the
# demo account (API key ID "demo", secret "demo-secret") on a free port, adds
# its pid to the caller's pids, and writes WORK/liftpush.yml: that account
# and the file scrape of examples/demo.prom, remote-written to PROM.
demo_start() {
  local work=$1 here=$2 prom=$3 fake=$4 sport
  sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$fake" --listen="127.0.0.1:$sport" --fixture=demo >"$work/spacelift-fake.log" 2>&1 &
  pids+=($!)
  printf 'demo-secret\n' >"$work/spacelift-secret"
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$sport/graphql" && break; sleep 0.05; done
  cat >"$work/liftpush.yml" <<YAML
global:
  job: demo
  external_labels: {cluster: demo-laptop}
scrape_configs:
  - job_name: shop
    scheme: file
    metrics_path: $here/examples/demo.prom
spacelift:
  endpoint: http://127.0.0.1:$sport
  insecure_http: true              # the fake speaks plain http; real accounts are https
  api_key_id: demo
  api_key_secret_file: $work/spacelift-secret
remote_write:
  - name: local-prometheus
    url: $prom/api/v1/write
YAML
}
