#!/usr/bin/env bash
# tests/setup-go.sh: prints the path of a `go` (Go >= 1.24) for the test-only
# Go builds (tests/cluster). Nothing built with it ships.
#   1. `go` on PATH, when it is Go 1.24 or newer;
#   2. else Go 1.26.8 from the Go module proxy: the module zip
#      golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64 (what
#      GOTOOLCHAIN=go1.26.8 itself downloads), fetched with curl, checked
#      against the SHA-256 pinned below, and unpacked into
#      ${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/go-toolchain/go1.26.8.
# A second run finds it there and costs nothing (no network). Messages go to
# stderr; stdout is the path alone:  GO=$(tests/setup-go.sh)
set -euo pipefail

GO_VERSION=1.26.8
MIN_MINOR=24 # Go 1.24 or newer
MODULE_VERSION=v0.0.1-go$GO_VERSION.linux-amd64
URL=https://proxy.golang.org/golang.org/toolchain/@v/$MODULE_VERSION.zip
# sha256sum of that zip. Its dirhash is
# h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=, the same as the checksum
# database's line for golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64.
SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7

cache=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}
dest=$cache/go-toolchain/go$GO_VERSION

say() { printf 'setup-go: %s\n' "$*" >&2; }

# new_enough GO: whether GO runs and is Go 1.(MIN_MINOR) or newer. Probed
# with GOTOOLCHAIN=local (no toolchain switch, no download) and without a
# GOROOT of another installation.
new_enough() {
	local v
	v=$(env -u GOROOT GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null) || return 1
	[[ $v =~ go([0-9]+)\.([0-9]+) ]] || return 1
	((BASH_REMATCH[1] > 1 || (BASH_REMATCH[1] == 1 && BASH_REMATCH[2] >= MIN_MINOR)))
}

if path=$(command -v go 2>/dev/null) && new_enough "$path"; then
	echo "$path"
	exit 0
fi
if [[ -x $dest/bin/go ]] && new_enough "$dest/bin/go"; then
	echo "$dest/bin/go"
	exit 0
fi

if [[ $(uname -s)/$(uname -m) != Linux/x86_64 ]]; then
	say "no Go >= 1.$MIN_MINOR on PATH, and the pinned toolchain is for linux-amd64 only ($(uname -sm) here): install Go >= 1.$MIN_MINOR"
	exit 1
fi
for tool in curl unzip sha256sum flock; do
	command -v "$tool" >/dev/null || { say "$tool is missing: run tests/setup-deps.sh"; exit 1; }
done

mkdir -p "$cache/go-toolchain"
# One fetch at a time (parallel builds may all ask at once).
exec 9>"$cache/go-toolchain/.lock"
flock 9
if [[ ! -x $dest/bin/go ]]; then
	tmp=$(mktemp -d "$cache/go-toolchain/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "fetching Go $GO_VERSION from the Go module proxy (about 70 MB) into $dest"
	curl -fsSL --retry 3 --retry-delay 2 -o "$tmp/go.zip" "$URL" ||
		{ say "download failed: $URL"; exit 1; }
	got=$(sha256sum "$tmp/go.zip" | cut -d' ' -f1)
	if [[ $got != "$SHA256" ]]; then
		say "SHA-256 mismatch for $URL: got $got, want $SHA256"
		exit 1
	fi
	unzip -q "$tmp/go.zip" -d "$tmp/x"
	root=$tmp/x/golang.org/toolchain@$MODULE_VERSION
	[[ -x $root/bin/go ]] || { say "the zip holds no bin/go"; exit 1; }
	# (the zip records the modes; make sure, as the go command does)
	chmod -R a+rX,u+w "$root"
	find "$root/bin" "$root/pkg/tool" -type f -exec chmod a+x {} +
	rm -rf "$dest"
	mv "$root" "$dest"
fi
new_enough "$dest/bin/go" || { say "$dest/bin/go does not run or reports an old version"; exit 1; }
echo "$dest/bin/go"
