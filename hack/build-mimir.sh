#!/usr/bin/env bash
# Builds Grafana Mimir (one binary, -target=all), the receiver behind Grafana
# Cloud, for the e2e tests of multi-tenancy (X-Scope-OrgID), per-tenant limits
# (429), out-of-order refusals (400) and remote-write 1.0/2.0. Caches it as
# $LIFTPUSH_CACHE/mimir-<commit> and prints its path.
#
# Mimir's tags (mimir-X.Y.Z) are not semver, so the proxy serves pseudo-versions
# only, and its go.mod replaces Prometheus with Grafana's fork (requiring the
# placeholder prometheus v1.99.0). `go install` refuses replace directives, so a
# scratch module copies them from the pinned commit.
# Cold cost on 2 cores: about 7 minutes wall and 2.1 GB peak RSS; binary 156 MB.
set -euo pipefail
version=v1.3.1-0.20260423142704-aced80d74930 # grafana/mimir main, 2026-04-23
cache=${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}
out=$cache/mimir-${version##*-}
if [[ -x $out ]] && "$out" -version >/dev/null 2>&1; then echo "$out"; exit 0; fi
mkdir -p "$cache"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
cat > go.mod <<MOD
module liftpush.local/mimir-build

go 1.26.7

require github.com/grafana/mimir $version

replace github.com/prometheus/prometheus => github.com/grafana/mimir-prometheus v1.8.2-0.20260421065545-af7900704075
replace github.com/hashicorp/memberlist => github.com/grafana/memberlist v0.3.1-0.20251126142931-6f9f62ab6f86
replace go.yaml.in/yaml/v3 => github.com/grafana/go-yaml/v3 v3.0.0-20260130164322-e3c24e8f4c87
replace github.com/grafana/regexp => github.com/grafana/regexp v0.0.0-20250905101755-5eb4f3acbf71
replace github.com/munnerz/goautoneg => github.com/grafana/goautoneg v0.0.0-20240607115440-f335c04c58ce
replace github.com/opentracing-contrib/go-stdlib => github.com/grafana/opentracing-contrib-go-stdlib v0.0.0-20230509071955-f410e79da956
replace github.com/opentracing-contrib/go-grpc => github.com/charleskorn/go-grpc v0.0.0-20231024023642-e9298576254f
replace github.com/prometheus/otlptranslator => github.com/grafana/mimir-otlptranslator v0.0.0-20251017074411-ea1e8f863e1d
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/grafana/mimir/cmd/mimir"\n' > tools.go
go mod tidy >&2
vpkg=github.com/grafana/mimir/pkg/util/version
go build -trimpath -ldflags "-s -w -X $vpkg.Version=main-2026-04-23 -X $vpkg.Branch=main -X $vpkg.Revision=${version##*-}" \
	-o "$out.tmp" github.com/grafana/mimir/cmd/mimir
mv "$out.tmp" "$out"
"$out" -version 2>&1 | head -1 >&2
echo "$out"
