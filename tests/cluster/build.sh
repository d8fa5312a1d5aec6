#!/usr/bin/env bash
# Build the test control plane (etcd, kube-apiserver, kube-controller-manager)
# and the node agent from tests/cluster/go.mod, into a cache outside the work
# tree keyed by go.sum, the Go version and the sources. A second run with the
# same key costs nothing. Prints the folder holding the binaries, last.
#
#   tests/cluster/build.sh            # build if needed, print the bin folder
#   tests/cluster/build.sh --no-nodeagent   # the control plane only
#   tests/cluster/build.sh --go-test  # the node agent's Go unit tests
#   LIFEBOAT_CACHE=/some/dir ...      # cache root (default ~/.cache/lifeboat)
#
# Go is test infrastructure only: nothing built here ships.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}"

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.4

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
export GOFLAGS="-modcacherw -mod=readonly"
mkdir -p "$GOMODCACHE" "$GOCACHE"

# Go >= 1.24: the one on PATH, else Go 1.26.8 fetched from the Go module
# proxy into the cache (tests/setup-go.sh).
GO=$("$here/../setup-go.sh")
export PATH="$(dirname "$GO"):$PATH"
gover="$(go env GOVERSION)"

sum_of() { cat "$@" | sha256sum | cut -c1-16; }

if [[ ${1:-} == --go-test ]]; then
	shift
	cd "$here" && exec go test -count=1 "$@" ./cmd/nodeagent/
fi

# Control plane: keyed by the module files, Go and the mains.
cp_key="$(printf '%s\n%s\n%s\n' "$gover" "$K8S_VERSION" "$ETCD_VERSION" |
	cat - "$here/go.mod" "$here/go.sum" "$here"/cmd/{etcd,kube-apiserver,kube-controller-manager}/main.go |
	sha256sum | cut -c1-16)"
cp_dir="$cache/cluster/cp-$cp_key"
# Node agent: keyed by the module files, Go and its own sources.
na_key="$(sum_of <(echo "$gover") "$here/go.mod" "$here/go.sum" "$here"/cmd/nodeagent/*.go)"
na_dir="$cache/cluster/na-$na_key"
bin="$cache/cluster/bin-$cp_key-$na_key"

build() { # OUT PKG... ; logs to $cache/cluster/build.log
	local out="$1"; shift
	local tmp="$out.tmp.$$"
	rm -rf "$tmp"; mkdir -p "$tmp"
	local pf="k8s.io/component-base/version" cg="k8s.io/client-go/pkg/version"
	local ld="-s -w"
	local v
	for v in "$pf" "$cg"; do
		ld+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=34"
		ld+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
	done
	echo "build.sh: building $* (cold: many minutes on 2 cores; log $cache/cluster/build.log)" >&2
	local t0=$SECONDS
	(cd "$here" && /usr/bin/time -f 'peak RSS %M KiB, %e s wall, %U s user' \
		go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$tmp/" "$@") \
		>>"$cache/cluster/build.log" 2>&1 || {
		tail -30 "$cache/cluster/build.log" >&2
		rm -rf "$tmp"
		echo "build.sh: go build failed (full log: $cache/cluster/build.log)" >&2
		exit 1
	}
	echo "build.sh: built in $((SECONDS - t0)) s: $(tail -1 "$cache/cluster/build.log")" >&2
	rm -rf "$out"; mv "$tmp" "$out"
}

with_na=1
[[ ${1:-} == --no-nodeagent ]] && with_na=0

mkdir -p "$cache/cluster"
exec 9>"$cache/cluster/.lock"
flock 9
if [[ ! -x "$cp_dir/kube-apiserver" ]]; then
	build "$cp_dir" ./cmd/etcd ./cmd/kube-apiserver ./cmd/kube-controller-manager
fi
if [[ $with_na == 0 ]]; then
	echo "$cp_dir"
	exit 0
fi
if [[ ! -x "$na_dir/nodeagent" ]]; then
	build "$na_dir" ./cmd/nodeagent
fi
if [[ ! -d "$bin" ]]; then
	rm -rf "$bin.tmp"; mkdir -p "$bin.tmp"
	ln -s "$cp_dir"/* "$na_dir"/* "$bin.tmp/"
	mv "$bin.tmp" "$bin"
fi
echo "$bin"
