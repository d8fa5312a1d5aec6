#!/usr/bin/env bash
# shellcheck disable=SC2034 # T_SUITE and T_OUT are read by tests/lib/t.sh
# tests/e2e/backup.sh: a DatabaseBackup end to end on the real control plane
# (tests/cluster/up; $CLUSTER_DIR when a suite runner started one), a real
# PostgreSQL (tests/lib/pg.sh) and volume storage (a PVC is a folder under
# $CLUSTER_DIR/volumes/<ns>/<claim>), with the operator as a local process
# on the admin kubeconfig. Results go to $LIFEBOAT_RESULTS (T_SUITE=e2e-backup).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${LIFEBOAT_BIN_DIR:-$root/build}
export LIFEBOAT_BIN_DIR=$BIN
T_SUITE=e2e-backup
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"

WORK=$(mktemp -d /tmp/lifeboat-e2e-backup.XXXXXX)
chmod 755 "$WORK"
own_cluster=0
if [[ -z ${CLUSTER_DIR:-} ]]; then
	CLUSTER_DIR=$WORK/cluster
	own_cluster=1
	CLUSTER_TTL=${CLUSTER_TTL:-900} "$root/tests/cluster/up" "$CLUSTER_DIR" >/dev/null
fi
OP_PID=
cleanup() {
	[[ -n $OP_PID ]] && kill "$OP_PID" 2>/dev/null || true
	[[ $own_cluster == 1 ]] && "$root/tests/cluster/down" "$CLUSTER_DIR" >/dev/null 2>&1 || true
	pg_stop >/dev/null 2>&1 || true
	[[ -n ${E2E_KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
export KUBECONFIG=$CLUSTER_DIR/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
kubectl() { timeout 60 "$KUBECTL" --cache-dir "$WORK/kcache" "$@"; }
NS=e2e-backup-$$

pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE app" >/dev/null
pg_psql app -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 2000) i" >/dev/null

kubectl apply -f "$root/crds/" >/dev/null
kubectl wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=30s >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
kubectl -n "$NS" create secret generic app-db-wrong --from-literal=password=not-the-password >/dev/null
kubectl -n "$NS" create secret generic pp --from-literal=passphrase='e2e passphrase' >/dev/null
printf 'e2e passphrase\n' >"$WORK/passphrase"
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: backups}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
METRICS_PORT=$(free_port)
HEALTH_PORT=$(free_port)
start_operator() { # [extra flags]
	timeout 600 "$BIN/lifeboat-operator" --kubeconfig "$KUBECONFIG" --namespaces "$NS" \
		--metrics-addr "127.0.0.1:$METRICS_PORT" --health-addr "127.0.0.1:$HEALTH_PORT" --log-format logfmt \
		--log-level debug "$@" >>"$WORK/operator.log" 2>&1 &
	OP_PID=$!
}
start_operator

backup() { # NAME SECRET [extra spec lines]
	kubectl -n "$NS" apply -f - <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: $1}
spec:
  database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
             sslMode: disable, passwordSecretRef: {name: $2, key: "${KEY:-password}"}}
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
${3:-}
YAML
}
field() { kubectl -n "$NS" get dbb "$1" -o jsonpath="{$2}" 2>/dev/null || true; }
wait_phase() { # NAME PHASE...: prints the phase reached
	local p i
	for ((i = 0; i < 240; i++)); do
		p=$(field "$1" .status.phase)
		for want in "${@:2}"; do [[ $p == "$want" ]] && { echo "$p"; return 0; }; done
		sleep 0.5
	done
	echo "${p:-none}"
}

# 1. a good backup reaches Completed, its sha256 is the stored object's
backup good app-db >/dev/null
t_equals "good backup reaches Completed" Completed wait_phase good Completed Failed
sha=$(field good .status.artifact.sha256)
dir=$CLUSTER_DIR/volumes/$NS/backups/$NS/good
dump=$(find "$dir" -maxdepth 1 -name 'db.dump*' | head -1)
t_equals "status.artifact.sha256 is the stored object's" "$sha" bash -c "sha256sum '$dump' | cut -d' ' -f1"
t_equals "status.artifact.size is the stored object's" "$(field good .status.artifact.size)" stat -c %s "$dump"
t_equals "Ready=True Succeeded" "True Succeeded" bash -c \
	"'$KUBECTL' -n $NS get dbb good -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].reason}'"
t_run "lifeboat verify of the stored backup passes" 0 timeout 120 "$BIN/lifeboat" verify \
	--storage "file://$CLUSTER_DIR/volumes/$NS/backups" --namespace "$NS" --name good \
	--passphrase-file "$WORK/passphrase"
t_equals "exactly one Job for it" 1 bash -c "'$KUBECTL' -n $NS get jobs -l lifeboat.dev/backup=good -o name | wc -l"

t_run "/readyz is ready" 0 curl -sf --max-time 5 "http://127.0.0.1:$HEALTH_PORT/readyz"
t_run "/metrics answers" 0 curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"
t_contains "/metrics counts the Completed backup" "lifeboat_backups_total{namespace=\"$NS\",result=\"Completed\"} 1"
t_contains "/metrics has its size" "lifeboat_backup_size_bytes{namespace=\"$NS\",name=\"good\"} $(field good .status.artifact.size)"

# 2. an invalid spec the CRD accepts: InvalidSpec, no Job
# (a Secret key ".." or starting with "..": the schema cannot say it)
KEY=..password backup invalid app-db >"$WORK/apply-invalid.out" 2>&1 || true
if grep -q created "$WORK/apply-invalid.out"; then
	sleep 3
	t_equals "invalid spec: Ready reason InvalidSpec" InvalidSpec bash -c \
		"'$KUBECTL' -n $NS get dbb invalid -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
	t_equals "invalid spec: no Job" 0 bash -c "'$KUBECTL' -n $NS get jobs -o name | grep -c invalid || true"
	T_OUT=$(kubectl -n "$NS" get events --field-selector involvedObject.name=invalid -o jsonpath='{.items[*].type} {.items[*].reason}')
	t_contains "invalid spec: a Warning event" "Warning"
else
	t_fail "invalid spec accepted by the CRD" "$(cat "$WORK/apply-invalid.out")"
fi

# 3. the wrong password: Failed, the job's error in status, a Warning event
backup wrongpw app-db-wrong >/dev/null
t_equals "wrong password reaches Failed" Failed wait_phase wrongpw Completed Failed
T_OUT=$(field wrongpw .status.message)
t_contains "the job's error in status.message" "password authentication failed"
t_equals "Ready reason is the job's" DatabaseError bash -c \
	"'$KUBECTL' -n $NS get dbb wrongpw -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
sleep 2
T_OUT=$(kubectl -n "$NS" get events --field-selector involvedObject.name=wrongpw -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}')
t_contains "a Warning event with the reason" "Warning DatabaseError"
t_true "no manifest left by the failed backup" test ! -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/wrongpw/manifest.json"

# 4. deletionPolicy Delete: the finalizer, a delete Job, the stored objects
# gone, then the resource; Retain keeps the stored objects
backup delme app-db "  deletionPolicy: Delete" >/dev/null
t_equals "Delete backup reaches Completed" Completed wait_phase delme Completed Failed
t_equals "Delete backup holds the finalizer" lifeboat.dev/delete-stored-backup field delme .metadata.finalizers[0]
t_true "its manifest is stored" test -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/delme/manifest.json"
t_run "deleting it completes" 0 kubectl -n "$NS" delete dbb delme --timeout=120s
t_true "deletionPolicy Delete removed the stored manifest" test ! -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/delme/manifest.json"
t_run "deleting a Retain backup completes" 0 kubectl -n "$NS" delete dbb good --timeout=60s
t_true "deletionPolicy Retain kept the stored manifest" test -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/good/manifest.json"

# 5. the operator SIGKILLed as soon as it created the Job, then restarted:
# it adopts that Job (one Job) and the backup converges
backup killed app-db >/dev/null
for ((i = 0; i < 100; i++)); do
	[[ -n $(field killed .status.jobName) ]] && break
	sleep 0.1
done
# OP_PID is timeout's; SIGKILL the operator itself, then timeout exits too
op_child=$(pgrep -P "$OP_PID" | head -1)
kill -KILL "${op_child:-$OP_PID}"
wait "$OP_PID" 2>/dev/null || true
start_operator
t_equals "after SIGKILL and restart: Completed" Completed wait_phase killed Completed Failed
t_equals "after SIGKILL and restart: exactly one Job" 1 bash -c "'$KUBECTL' -n $NS get jobs -l lifeboat.dev/backup=killed -o name | wc -l"

# 6. SIGTERM: exit 0
kill -TERM "$OP_PID"
set +e
wait "$OP_PID"
rc=$?
set -e
OP_PID=
t_equals "operator exits 0 on SIGTERM" 0 echo "$rc"

# 6b. no Secret value in the operator's log, the Jobs, the Events or a status
kubectl -n "$NS" get dbb,jobs,events -o json >"$WORK/objects.json"
for secret in "$PGTEST_PASSWORD" not-the-password 'e2e passphrase'; do
	t_true "secret value absent from the operator's log and the objects: ${secret:0:3}..." \
		bash -c "! grep -qF -- '$secret' '$WORK/operator.log' '$WORK/objects.json'"
done

# 7. --leader-elect: reconciles while holding the Lease, releases it on SIGTERM
start_operator --leader-elect --leader-election-namespace "$NS"
backup leader app-db >/dev/null
t_equals "with --leader-elect: Completed" Completed wait_phase leader Completed Failed
T_OUT=$(kubectl -n "$NS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}')
t_matches "the Lease names a holder" '.+'
kill -TERM "$OP_PID"
set +e
wait "$OP_PID"
rc=$?
set -e
OP_PID=
t_equals "leader exits 0 on SIGTERM" 0 echo "$rc"
t_equals "the Lease is released" "" kubectl -n "$NS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}'
t_true "no sanitizer report in the operator's log" bash -c "! grep -q 'Sanitizer' '$WORK/operator.log'"
if grep -q '^FAIL' "$LIFEBOAT_RESULTS" 2>/dev/null || [[ ${E2E_SHOW_LOG:-0} == 1 ]]; then
	tail -40 "$WORK/operator.log" >&2
fi
