#!/usr/bin/env bash
# tests/kind/run.sh DIR [SUITE...]: runs test suites written for
# tests/cluster (CLUSTER_DIR=DIR) against a kind cluster with the images
# built from the Dockerfile (lifeboat-operator:VERSION, lifeboat-job:VERSION,
# VERSION the chart's appVersion, loaded with `kind load docker-image`).
# CI's e2e-kind job runs it (.github/workflows/ci.yml); nothing here can
# (no Docker). Default SUITE: tests/kustomize/run.sh.
#
# It makes DIR look like what tests/cluster/up leaves, as far as the suites
# read it:
#   DIR/kubeconfig, DIR/env  kind's admin kubeconfig; env exports KUBECONFIG,
#                            LIFEBOAT_CLUSTER_DIR, APISERVER_URL, NODE_NAME
#   DIR/volumes/NS/CLAIM     the node agent keeps a PersistentVolumeClaim
#                            there; here DIR/volumes is the kind node's
#                            /var/lifeboat/volumes (extraMounts) and a loop
#                            below binds every pending claim to a hostPath
#                            PersistentVolume at that path (kind's
#                            local-path StorageClass is made non-default)
#   PostgreSQL               the suites start it on 127.0.0.1 (tests/lib/pg.sh),
#                            which the node agent's pods share; kind's pods
#                            do not, so a relay listens on the kind network's
#                            gateway at PGTEST_WANT_PORT (pg.sh tries that
#                            port first) and LIFEBOAT_DB_HOST tells the suite
#                            to give that address to the pods
#
# What the other suites assume of the node agent, so that they do not run
# here as they are:
#  - tests/e2e/*.sh write `host: 127.0.0.1` into every database spec (the
#    pods share the host's network), start the operator as a host process
#    with its default --job-image `lifeboat-job` (untagged: `:latest`, which
#    a kubelet pulls, imagePullPolicy Always), and read and write the
#    backups in DIR/volumes/NS/CLAIM before and after the Jobs (the binder
#    below gives them that path, but the first two need the suites to take
#    the database address and job image from the environment);
#  - tests/e2e/backup.sh and restore.sh use the node agent's annotations
#    (nodeagent.lifeboat.dev/oom-kill) and, restore.sh, DIR/pki/ca.{crt,key}
#    (the cluster CA's key, to sign users' client certificates) and
#    DIR/apiserver.url, which kind does not expose the same way;
#  - tests/e2e/backup-storage.sh starts s3rver and Azurite on 127.0.0.1;
#  - tests/helm/operate.sh uses operator.listenOnPodIP and 127.0.0.1 too.
# tests/kustomize/run.sh needs none of that (tests/helm/run.sh should not
# either; it has not been tried on kind).
#
#   LIFEBOAT_BIN_DIR  where a `lifeboat` binary is (default: the work
#                 tree's build/; without one, a wrapper running the job image)
#   KIND          the kind binary (default: kind on PATH)
#   KIND_NAME     the cluster's name (default lifeboat)
#   KIND_KEEP=1   leave the cluster running
# Exits non-zero when a suite failed.
# shellcheck disable=SC2317 # cleanup runs from the trap
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:?usage: tests/kind/run.sh DIR [SUITE...]}
shift
suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=("$root/tests/kustomize/run.sh")
KIND=${KIND:-kind}
NAME=${KIND_NAME:-lifeboat}
VERSION=$(sed -n 's/^appVersion: *"*\([^"]*\)"*$/\1/p' "$root/charts/lifeboat/Chart.yaml")
mkdir -p "$DIR/volumes"
DIR=$(cd "$DIR" && pwd)
chmod 0755 "$DIR" "$DIR/volumes"
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 60 "$KUBECTL" --kubeconfig "$DIR/kubeconfig" "$@"; }
say() { printf 'kind: %s\n' "$*" >&2; }
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[[ -n ${KIND_KEEP:-} ]] || "$KIND" delete cluster --name "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cat >"$DIR/kind.yaml" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraMounts:
  - hostPath: $DIR/volumes
    containerPath: /var/lifeboat/volumes
YAML
say "creating cluster $NAME"
"$KIND" create cluster --name "$NAME" --config "$DIR/kind.yaml" --kubeconfig "$DIR/kubeconfig" --wait 180s
for img in "lifeboat-operator:$VERSION" "lifeboat-job:$VERSION"; do
	say "loading $img"
	"$KIND" load docker-image --name "$NAME" "$img"
done
cat >"$DIR/env" <<EOF
# tests/kind/run.sh $DIR: source this file.
export KUBECONFIG=$DIR/kubeconfig
export LIFEBOAT_CLUSTER_DIR=$DIR
export APISERVER_URL=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
export NODE_NAME=$NAME-control-plane
EOF
printf '%s\n' "$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')" >"$DIR/apiserver.url"

# claims without a StorageClass stay for the binder below
for sc in $(k get storageclass -o name); do
	k annotate "$sc" storageclass.kubernetes.io/is-default-class=false --overwrite >/dev/null
done
bind_claims() {
	local ns name size modes pv
	while sleep 1; do
		k get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace} {.metadata.name} {.spec.resources.requests.storage} {.spec.accessModes[0]}{"\n"}{end}' 2>/dev/null |
			while read -r ns name size modes; do
				[[ -n $name ]] || continue
				pv=kind-$(printf '%s/%s' "$ns" "$name" | sha256sum | cut -c1-16)
				mkdir -p "$DIR/volumes/$ns/$name"
				chmod 0777 "$DIR/volumes/$ns/$name"
				k apply -f - >/dev/null 2>&1 <<YAML || true
apiVersion: v1
kind: PersistentVolume
metadata: {name: $pv, labels: {lifeboat.dev/kind-binder: "true"}}
spec:
  capacity: {storage: ${size:-1Gi}}
  accessModes: [${modes:-ReadWriteOnce}]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: $ns, name: $name}
  hostPath: {path: /var/lifeboat/volumes/$ns/$name, type: Directory}
YAML
			done
	done
}
bind_claims &
pids+=($!)

# PostgreSQL on the runner's loopback, reached by the pods through the kind
# network's gateway
GW=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 '\.' || true)
[[ -n $GW ]] || { say "no IPv4 gateway on the docker network kind"; exit 1; }
export PGTEST_WANT_PORT=${PGTEST_WANT_PORT:-55432} LIFEBOAT_DB_HOST=$GW
timeout 7200 python3 - "$GW" "$PGTEST_WANT_PORT" <<'PY' &
import asyncio, sys

host, port = sys.argv[1], int(sys.argv[2])

async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()

async def serve(r, w):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        w.close()
        return
    await asyncio.gather(pipe(r, uw), pipe(ur, w), return_exceptions=True)

async def main():
    server = await asyncio.start_server(serve, host, port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
pids+=($!)
say "PostgreSQL relay $GW:$PGTEST_WANT_PORT -> 127.0.0.1:$PGTEST_WANT_PORT"

# `lifeboat` on the runner (tests/kustomize/run.sh runs `lifeboat verify` on
# what a Job stored): the work tree's build, else the job image's binary
if [[ ! -x ${LIFEBOAT_BIN_DIR:-$root/build}/lifeboat ]]; then
	mkdir -p "$DIR/bin"
	printf '#!/bin/sh\n# the job image'"'"'s lifeboat, with /tmp (the suites'"'"' files) mounted\nexec docker run --rm --network none -v /tmp:/tmp lifeboat-job:%s "$@"\n' "$VERSION" >"$DIR/bin/lifeboat"
	chmod 755 "$DIR/bin/lifeboat"
	# (printf -v: tests/deps/commands.py would take a plain assignment for
	# every script's LIFEBOAT_BIN_DIR)
	printf -v LIFEBOAT_BIN_DIR '%s/bin' "$DIR"
	export LIFEBOAT_BIN_DIR
fi

rc=0
for s in "${suites[@]}"; do
	say "running $s"
	CLUSTER_DIR=$DIR timeout 1800 "$s" || rc=1
done
exit "$rc"
