#!/usr/bin/env bash
# Builds promtool 3.16 (the baseline of make bench: `promtool push metrics`)
# and caches it; prints its path. A plain `go install .../cmd/promtool@v0.316.0`
# fails because the proxy does not serve the nomad/api pseudo-version that
# Prometheus pins, so a scratch module pins a served one instead.
set -euo pipefail
cache=${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}
out=$cache/promtool-v3.16.0
if [[ -x $out ]]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
cat > go.mod <<'MOD'
module liftpush.local/promtool-build

go 1.26.7

require github.com/prometheus/prometheus v0.316.0

replace github.com/hashicorp/nomad/api => github.com/hashicorp/nomad/api v0.0.0-20260205205048-8315996478d1
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/promtool"\n' > tools.go
go mod tidy >&2
go build -trimpath -ldflags '-s -w' -o "$out.tmp" github.com/prometheus/prometheus/cmd/promtool
mv "$out.tmp" "$out"
echo "$out"
