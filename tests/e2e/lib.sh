# shellcheck shell=bash
# tests/e2e/lib.sh: what every end-to-end suite shares. Source it after
# setting T_SUITE and E2E_NAME; it leaves:
#   root BIN WORK NS KUBECTL CLUSTER_DIR KUBECONFIG METRICS_PORT HEALTH_PORT
#   kubectl            kubectl with a timeout and the suite's own cache
#   free_port          a free loopback port
#   e2e_on_exit CMD    run CMD (a string) at exit, before the cluster goes
#   start_operator [FLAGS]   the operator on $NS, logging to $WORK/operator.log
#   kill_operator      SIGKILL it (not its timeout wrapper)
#   stop_operator      SIGTERM it; its exit status in $OP_RC
#   field NAME PATH    a jsonpath of DatabaseBackup NAME ("" when absent)
#   wait_phase NAME PHASE...   waits (2 min) for one of the phases; prints it
#   one_job NAME       a check: exactly one Job for backup NAME
#   e2e_claim NAME     a 1Gi PersistentVolumeClaim NAME in $NS (a folder
#                      $CLUSTER_DIR/volumes/$NS/NAME once bound)
#   save_object KIND NAME CASE   with $LIFEBOAT_OBJECTS_DIR set, keeps the
#                      object as $LIFEBOAT_OBJECTS_DIR/KIND-CASE.json (KIND
#                      lowercase: databasebackup...; tests/gitops/run.sh
#                      judges its Argo CD health); else nothing
# The cluster is $CLUSTER_DIR when a suite runner started one (else its own,
# with the node agent), PostgreSQL is tests/lib/pg.sh's (pg_start was run,
# database "app" holds a table), and the CRDs are applied.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${LIFEBOAT_BIN_DIR:-$root/build}
export LIFEBOAT_BIN_DIR=$BIN
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"

WORK=$(mktemp -d "/tmp/lifeboat-${E2E_NAME:?set E2E_NAME}.XXXXXX")
chmod 755 "$WORK"
own_cluster=0
if [[ -z ${CLUSTER_DIR:-} ]]; then
	CLUSTER_DIR=$WORK/cluster
	own_cluster=1
	CLUSTER_TTL=${CLUSTER_TTL:-900} "$root/tests/cluster/up" "$CLUSTER_DIR" >/dev/null
fi
OP_PID=
OP_RC=
E2E_EXIT=()
e2e_on_exit() { E2E_EXIT+=("$1"); }
_e2e_cleanup() {
	local c
	[[ -n $OP_PID ]] && kill "$OP_PID" 2>/dev/null || true
	for c in "${E2E_EXIT[@]}"; do eval "$c" || true; done
	[[ $own_cluster == 1 ]] && "$root/tests/cluster/down" "$CLUSTER_DIR" >/dev/null 2>&1 || true
	pg_stop >/dev/null 2>&1 || true
	[[ -n ${E2E_KEEP:-} ]] || rm -rf "$WORK"
}
trap _e2e_cleanup EXIT
export KUBECONFIG=$CLUSTER_DIR/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
kubectl() { timeout 60 "$KUBECTL" --cache-dir "$WORK/kcache" "$@"; }
NS=$E2E_NAME-$$

pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE app" >/dev/null
pg_psql app -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 2000) i" >/dev/null

kubectl apply -f "$root/crds/" >/dev/null
kubectl wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=30s >/dev/null
kubectl create namespace "$NS" >/dev/null

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
METRICS_PORT=$(free_port)
HEALTH_PORT=$(free_port)
start_operator() { # [extra flags]
	timeout 900 "$BIN/lifeboat-operator" --kubeconfig "$KUBECONFIG" --namespaces "$NS" \
		--metrics-addr "127.0.0.1:$METRICS_PORT" --health-addr "127.0.0.1:$HEALTH_PORT" --log-format logfmt \
		--log-level debug "$@" >>"$WORK/operator.log" 2>&1 &
	OP_PID=$!
}
# OP_PID is timeout's; SIGKILL the operator itself, then timeout exits too.
kill_operator() {
	local child
	child=$(pgrep -P "$OP_PID" | sed -n 1p)
	kill -KILL "${child:-$OP_PID}"
	wait "$OP_PID" 2>/dev/null || true
	OP_PID=
}
stop_operator() {
	kill -TERM "$OP_PID"
	set +e
	wait "$OP_PID"
	OP_RC=$?
	set -e
	OP_PID=
}
field() { kubectl -n "$NS" get dbb "$1" -o jsonpath="{$2}" 2>/dev/null || true; }
wait_phase() { # NAME PHASE...: prints the phase reached
	local p i want
	for ((i = 0; i < 240; i++)); do
		p=$(field "$1" .status.phase)
		for want in "${@:2}"; do [[ $p == "$want" ]] && { echo "$p"; return 0; }; done
		sleep 0.5
	done
	echo "${p:-none}"
}
save_object() { # KIND NAME CASE
	[[ -n ${LIFEBOAT_OBJECTS_DIR:-} ]] || return 0
	mkdir -p "$LIFEBOAT_OBJECTS_DIR"
	kubectl -n "$NS" get "$1" "$2" -o json >"$LIFEBOAT_OBJECTS_DIR/$1-$3.json" || rm -f "$LIFEBOAT_OBJECTS_DIR/$1-$3.json"
}
one_job() { # NAME
	t_equals "$1: exactly one Job" 1 bash -c "'$KUBECTL' -n $NS get jobs -l lifeboat.dev/backup=$1 -o name | wc -l"
}
e2e_claim() { # NAME
	kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
}
