#!/usr/bin/env bash
# `make bench`, Kubernetes client part: list+watch of N DatabaseBackups
# (BENCH_KUBE_N, default 10000) from the real kube-apiserver (tests/cluster)
# by the C informer: time to a synced cache, events per second, and the
# client's peak RSS, against kubectl listing the same objects in the same
# invocation. (Figures from the retired test API server, for comparison,
# are in docs/performance.md.)
set -euo pipefail
KUBETOOL=${1:?usage: bench/kube.sh PATH/TO/kubetool}
root=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_KUBE_N:-10000}
W=$(mktemp -d /tmp/lifeboat-kbench.XXXXXX)
trap '"$root/tests/cluster/down" --purge "$W/cluster" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
CLUSTER_NODEAGENT=0 CLUSTER_TTL=1800 "$root/tests/cluster/up" "$W/cluster" >/dev/null
cp "$W/cluster/kubeconfig" "$W/kc"
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { "$KUBECTL" --kubeconfig "$W/kc" --cache-dir "$W/cache" "$@"; }
k apply -f "$root/tests/cluster/testdata/databasebackup-crd.yaml" >/dev/null
k wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=60s >/dev/null

now() { date +%s.%N; }
t=$(now)
"$KUBETOOL" populate "$W/kc" "$N"
populate=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
t=$(now)
k get databasebackups -n bench -o json >/dev/null
kubectl_list=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
/usr/bin/time -f '%M' -o "$W/kubectl.rss" "$KUBECTL" --kubeconfig "$W/kc" --cache-dir "$W/cache" \
	get databasebackups -n bench -o name >/dev/null
out=$("$KUBETOOL" bench "$W/kc" "$N" "$KUBETOOL touch $W/kc $N")
echo "$out"
sync=$(sed -n 's/^sync time: \([0-9.]*\) s/\1/p' <<<"$out")
rss=$(sed -n 's/^peak RSS: \([0-9]*\) KiB/\1/p' <<<"$out")
{
	echo
	echo "[kube] $N DatabaseBackups in the real kube-apiserver v1.34.4 (created in ${populate} s)"
	echo "  C informer: $out" | sed '2,$s/^/              /'
	echo "  kubectl get -o json (baseline, same objects): ${kubectl_list} s; kubectl peak RSS $(cat "$W/kubectl.rss") KiB"
	awk -v s="$sync" -v k="$kubectl_list" -v r="$rss" -v kr="$(cat "$W/kubectl.rss")" \
		'BEGIN { printf "  ratios: informer sync / kubectl list %.2f; informer RSS / kubectl RSS %.2f (target RSS <= 32768 KiB: %s)\n", s / k, r / kr, r <= 32768 ? "met" : "MISSED" }'
} | tee -a "$root/bench/results/latest.txt"
