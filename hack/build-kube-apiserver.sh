#!/usr/bin/env bash
# Builds the kube-apiserver binary used by the Kubernetes collector's tests and
# caches it, so repeated runs (and CI on the same machine) cost nothing.
#
# usage: hack/build-kube-apiserver.sh [version]   (default 1.37.2, matching client-go v0.37)
# env:   LIFTPUSH_CACHE  cache directory (default $HOME/.cache/liftpush)
# prints the path of the binary on stdout.
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@v...` is refused because
# k8s.io/kubernetes' go.mod replaces its staging modules with local paths.
# We therefore build from a scratch module that requires k8s.io/kubernetes and
# points every staging module at its published version instead.
# Cold cost on 2 cores: about 8 minutes and 2.5 GB RSS; warm Go cache: seconds.
set -euo pipefail

version=${1:-1.37.2}
cache=${LIFTPUSH_CACHE:-$HOME/.cache/liftpush}
out=$cache/kube-apiserver-v$version

if [[ -x $out ]] && "$out" --version >/dev/null 2>&1; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
minor=$(cut -d. -f2 <<<"$version")
patch=${version##*.}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

cat >go.mod <<MOD
module liftpush.local/kube-apiserver-build

go 1.26.0
MOD

# Find the upstream go.mod in the module cache and turn every
# "k8s.io/X => ./staging/src/k8s.io/X" line into "k8s.io/X => k8s.io/X v0.<minor>.<patch>".
upstream_gomod=$(go mod download -json "k8s.io/kubernetes@v$version" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[[ -f $upstream_gomod ]] || { echo "cannot locate go.mod of k8s.io/kubernetes@v$version" >&2; exit 1; }
{
	echo "require k8s.io/kubernetes v$version"
	echo "replace ("
	# sample-* modules are examples the apiserver never imports.
	awk -v v="v0.$minor.$patch" '$2 == "=>" && $3 ~ /^\.\/staging\// && $1 !~ /^k8s\.io\/sample-/ { print "\t" $1 " => " $1 " " v }' "$upstream_gomod"
	echo ")"
} >>go.mod

cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO

go mod tidy
# The -X flags give the binary a real version; without them it reports v0.0.0-master.
go build -trimpath \
	-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
	-o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out.tmp" "$out"
"$out" --version >&2
echo "$out"
