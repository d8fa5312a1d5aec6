#!/usr/bin/env bash
# Build a storage test peer from its Go module (tests/peers/NAME/go.mod) into
# a cache outside the work tree, keyed by go.mod, go.sum and the Go version.
# A second run with the same key costs nothing. Prints the binary's path.
#
#   tests/peers/build.sh seaweedfs   # SeaweedFS (weed): S3 gateway that checks SigV4
#   tests/peers/build.sh fakegcs     # fake-gcs-server: GCS JSON and XML APIs
#   LIFEBOAT_CACHE=/some/dir ...     # cache root (default ~/.cache/lifeboat)
#
# Go is test infrastructure only: nothing built here ships.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}"

name=${1:?usage: tests/peers/build.sh seaweedfs|fakegcs}
case $name in
seaweedfs) pkg=github.com/seaweedfs/seaweedfs/weed bin=weed ;;
fakegcs) pkg=github.com/fsouza/fake-gcs-server bin=fake-gcs-server ;;
*) echo "build.sh: unknown peer $name (seaweedfs or fakegcs)" >&2; exit 2 ;;
esac
mod="$here/$name"

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
export GOFLAGS="-modcacherw -mod=readonly"
mkdir -p "$GOMODCACHE" "$GOCACHE" "$cache/peers"

GO=$("$here/../setup-go.sh")
export PATH="$(dirname "$GO"):$PATH"
key="$( (go env GOVERSION; cat "$mod/go.mod" "$mod/go.sum") | sha256sum | cut -c1-16)"
out="$cache/peers/$name-$key"

exec 9>"$cache/peers/.lock"
flock 9
if [[ ! -x $out/$bin ]]; then
	log="$cache/peers/build-$name.log"
	echo "build.sh: building $pkg (cold: minutes on 2 cores; log $log)" >&2
	t0=$SECONDS
	tmp="$out.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if ! (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$tmp/" "$pkg") >"$log" 2>&1; then
		tail -30 "$log" >&2
		rm -rf "$tmp"
		echo "build.sh: go build of $pkg failed (full log: $log)" >&2
		exit 1
	fi
	rm -rf "$out"
	mv "$tmp" "$out"
	echo "build.sh: built $bin in $((SECONDS - t0)) s" >&2
fi
echo "$out/$bin"
