#!/usr/bin/env bash
# Builds the Prometheus 3.16 server (a remote-write 2.0 receiver; Debian's
# Prometheus is 2.42 and silently drops 2.0) for the e2e tests, and caches it;
# prints its path.
#
# env: LIFTPUSH_CACHE  cache directory (default $HOME/.cache/liftpush)
#
# Same scratch-module trick as build-promtool.sh: `go install ...@v0.316.0`
# fails because the proxy lacks the nomad/api pseudo-version Prometheus pins.
# Built without the `builtinassets` tag, so no web UI and no npm step; the HTTP
# API and the remote-write receiver work. Cold cost (empty module and build
# caches, 2 cores shared with other work): 7 min 51 s wall, 8.8 min of CPU,
# 3.4 GB peak RSS, 4 GB of Go caches, a 105 MB binary; warm Go cache: a minute.
set -euo pipefail
cache=${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}
out=$cache/prometheus-v3.16.0
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
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/prometheus"\n' > tools.go
go mod tidy >&2
go build -trimpath -ldflags '-s -w -X github.com/prometheus/common/version.Version=3.16.0' \
	-o "$out.tmp" github.com/prometheus/prometheus/cmd/prometheus
mv "$out.tmp" "$out"
"$out" --version 2>&1 | head -1 >&2
echo "$out"
