#!/usr/bin/env bash
# Builds one command of Prometheus 3.16 (prometheus or promtool) through the
# Go module proxy, caches it as $LIFTPUSH_CACHE/<cmd>-v3.16.0 and prints its
# path. `go install .../cmd/<cmd>@v0.316.0` fails because the proxy does not
# serve the nomad/api pseudo-version Prometheus pins, so a scratch module pins
# a served one. Built without the `builtinassets` tag: no web UI, no npm step.
#   hack/build-prometheus-cmd.sh prometheus|promtool
set -euo pipefail
cmd=$1
cache=${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}
out=$cache/$cmd-v3.16.0
if [[ -x $out ]] && "$out" --version >/dev/null 2>&1; then echo "$out"; exit 0; fi
mkdir -p "$cache"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
cat > go.mod <<'MOD'
module liftpush.local/prometheus-build

go 1.26.7

require github.com/prometheus/prometheus v0.316.0

replace github.com/hashicorp/nomad/api => github.com/hashicorp/nomad/api v0.0.0-20260205205048-8315996478d1
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/%s"\n' "$cmd" > tools.go
go mod tidy >&2
go build -trimpath -ldflags '-s -w -X github.com/prometheus/common/version.Version=3.16.0' \
	-o "$out.tmp" "github.com/prometheus/prometheus/cmd/$cmd"
mv "$out.tmp" "$out"
echo "$out"
