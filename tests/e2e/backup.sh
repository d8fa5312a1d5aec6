#!/usr/bin/env bash
# shellcheck disable=SC2034 # T_SUITE and T_OUT are read by tests/lib/t.sh
# tests/e2e/backup.sh: a DatabaseBackup end to end on the real control plane
# (tests/cluster/up; $CLUSTER_DIR when a suite runner started one), a real
# PostgreSQL (tests/lib/pg.sh) and volume storage (a PVC is a folder under
# $CLUSTER_DIR/volumes/<ns>/<claim>), with the operator as a local process
# on the admin kubeconfig. Results go to $LIFEBOAT_RESULTS (T_SUITE=e2e-backup).
T_SUITE=e2e-backup
E2E_NAME=e2e-backup
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
REPLICA_PIDS=()
e2e_on_exit 'for p in "${REPLICA_PIDS[@]}"; do kill "$p" 2>/dev/null; done'

kubectl -n "$NS" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
kubectl -n "$NS" create secret generic app-db-wrong --from-literal=password=not-the-password >/dev/null
kubectl -n "$NS" create secret generic pp --from-literal=passphrase='e2e passphrase' >/dev/null
printf 'e2e passphrase\n' >"$WORK/passphrase"
mkdir -p -m 700 "$WORK/gnupg"
e2e_claim backups

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

# 1. a good backup reaches Completed, its sha256 is the stored object's
backup good app-db >/dev/null
t_equals "good backup reaches Completed" Completed wait_phase good Completed Failed
save_object databasebackup good completed
sha=$(field good .status.artifact.sha256)
dir=$CLUSTER_DIR/volumes/$NS/backups/$NS/good
dump=$dir/$(field good '.status.artifact.objects[0].key')
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
t_contains "/metrics counts the Completed backup" "lifeboat_backups_total{namespace=\"$NS\",result=\"succeeded\"} 1"
t_contains "/metrics has its size" "lifeboat_backup_size_bytes{namespace=\"$NS\",name=\"good\",schedule=\"\"} $(field good .status.artifact.size)"
t_contains "/metrics has its completion time" "lifeboat_backup_last_success_timestamp_seconds{namespace=\"$NS\",name=\"good\",schedule=\"\"} $(date -d "$(field good .status.completionTime)" +%s)"
t_contains "/metrics has its duration in the histogram" "lifeboat_backup_duration_seconds_count{namespace=\"$NS\",schedule=\"\"} 1"
t_contains "/metrics counts the Job created (lifeboat_kube_requests_total)" "lifeboat_kube_requests_total{verb=\"create\",resource=\"jobs\",code=\"201\"} 1"
t_contains "/metrics counts the status writes" "lifeboat_kube_requests_total{verb=\"update\",resource=\"databasebackups/status\",code=\"200\"}"
t_contains "/metrics counts the initial lists" "lifeboat_kube_requests_total{verb=\"list\",resource=\"databasebackups\",code=\"200\"}"
curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics-1.txt" || true
t_run "promtool check metrics accepts the live /metrics" 0 bash -c 'promtool check metrics <"$1"' _ "$WORK/metrics-1.txt"
t_run "the Python prometheus_client parser reads the live /metrics" 0 /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = {f.name: f for f in parse(open(sys.argv[1]).read())}
for n in ("lifeboat_backups", "lifeboat_backup_size_bytes", "lifeboat_reconcile", "process_resident_memory_bytes"):
    assert n in fams, n
' "$WORK/metrics-1.txt"

# 1b. spec.files: an uploads folder (a PVC the Job mounts read-only) is
# archived beside the dump: odd names, a symlink, 2,000 files
e2e_claim uploads
media=$CLUSTER_DIR/volumes/$NS/uploads/media
mkdir -p "$media"
/usr/bin/python3 - "$media" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(20):
    sub = os.path.join(root, "dir %02d" % d)
    os.makedirs(sub, exist_ok=True)
    for f in range(100):
        with open(os.path.join(sub, "file-%03d.txt" % f), "w") as fh:
            fh.write("upload %d/%d\n" % (d, f))
for odd in ["-leading dash", "ünïcödé ファイル", "a" * 200, "with\nnewline", "tab\there"]:
    with open(os.path.join(root, odd), "w") as fh:
        fh.write(odd)
os.symlink("dir 00/file-000.txt", os.path.join(root, "link to first"))
PY
chmod -R a+rX "$CLUSTER_DIR/volumes/$NS/uploads"
backup withfiles app-db "  files: {claimName: uploads, path: media}" >/dev/null
t_equals "spec.files: the backup reaches Completed" Completed wait_phase withfiles Completed Failed
fdir=$CLUSTER_DIR/volumes/$NS/backups/$NS/withfiles
fobj=$fdir/$(field withfiles .status.artifact.files.object)
t_true "spec.files: the archive is stored beside the dump" test -f "$fobj"
t_equals "spec.files: status.artifact.files.sha256 is the stored archive's" "$(field withfiles .status.artifact.files.sha256)" \
	bash -c "sha256sum '$fobj' | cut -d' ' -f1"
t_equals "spec.files: status.artifact.files.count counts every entry (2,026)" 2026 field withfiles .status.artifact.files.count
T_OUT=$(gpg --batch --quiet --homedir "$WORK/gnupg" --passphrase-file "$WORK/passphrase" -d "$fobj" 2>/dev/null | zstd -dq | tar -tv 2>&1 || true)
t_contains "spec.files: gpg -d | zstd -d | tar -t lists the files" "dir 19/file-099.txt"
t_contains "spec.files: the symlink is archived as a link" "link to first -> dir 00/file-000.txt"
t_contains "spec.files: a UTF-8 name survives" "ünïcödé ファイル"
t_run "spec.files: lifeboat verify checks the archive too" 0 timeout 120 "$BIN/lifeboat" verify \
	--storage "file://$CLUSTER_DIR/volumes/$NS/backups" --namespace "$NS" --name withfiles \
	--passphrase-file "$WORK/passphrase"
t_matches "spec.files: verify checked the archive to its end" "files archive files-[0-9a-f]{8}\\.tar\\.zst\\.pgp verified: 2026 entries"
t_true "spec.files: the Job mounts the claim read-only" bash -c \
	"'$KUBECTL' -n $NS get job withfiles-backup -o json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); v=[v for v in j[\"spec\"][\"template\"][\"spec\"][\"volumes\"] if v[\"name\"]==\"files\"][0]; assert v[\"persistentVolumeClaim\"][\"readOnly\"] is True'"

# 2. an invalid spec the CRD accepts: InvalidSpec, no Job
# (a Secret key ".." or starting with "..": the schema cannot say it)
KEY=..password backup invalid app-db >"$WORK/apply-invalid.out" 2>&1 || true
if grep -q created "$WORK/apply-invalid.out"; then
	sleep 3
	t_equals "invalid spec: Ready reason InvalidSpec" InvalidSpec bash -c \
		"'$KUBECTL' -n $NS get dbb invalid -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
	save_object databasebackup invalid invalidspec
	t_equals "invalid spec: no Job" 0 bash -c "'$KUBECTL' -n $NS get jobs -o name | grep -c invalid || true"
	T_OUT=$(kubectl -n "$NS" get events --field-selector involvedObject.name=invalid -o jsonpath='{.items[*].type} {.items[*].reason}')
	t_contains "invalid spec: a Warning event" "Warning"
else
	t_fail "invalid spec accepted by the CRD" "$(cat "$WORK/apply-invalid.out")"
fi

# 2b. a Secret that does not exist: the pod cannot start; still Pending,
# but Ready says why (the kubelet's words) and a Warning event
backup nosecret no-such-secret "  jobTemplate: {activeDeadlineSeconds: 600}" >/dev/null
for ((i = 0; i < 120; i++)); do
	[[ $(kubectl -n "$NS" get dbb nosecret -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}' 2>/dev/null) == PodNotStarting ]] && break
	sleep 0.5
done
t_equals "missing Secret: Ready reason PodNotStarting" PodNotStarting bash -c \
	"'$KUBECTL' -n $NS get dbb nosecret -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
t_equals "missing Secret: still Pending" Pending field nosecret .status.phase
save_object databasebackup nosecret podnotstarting
T_OUT=$(field nosecret .status.message)
t_contains "missing Secret: the message names the Secret" 'no-such-secret'
sleep 1
T_OUT=$(kubectl -n "$NS" get events --field-selector involvedObject.name=nosecret -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}')
t_contains "missing Secret: a Warning event" "Warning PodNotStarting"
kubectl -n "$NS" create secret generic no-such-secret --from-literal=password="$PGTEST_PASSWORD" >/dev/null
t_equals "once the Secret exists, the same backup completes" Completed wait_phase nosecret Completed Failed

# 2c. a jobTemplate the CRD accepts but the API server refuses in a Job:
# InvalidSpec with the server's words, not a silent retry loop
backup badaffinity app-db "  jobTemplate:
    affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: Sometimes}]}]}}}" \
	>"$WORK/apply-affinity.out" 2>&1 || true
if grep -q created "$WORK/apply-affinity.out"; then
	for ((i = 0; i < 60; i++)); do
		[[ -n $(field badaffinity .status.message) ]] && break
		sleep 0.5
	done
	t_equals "a Job the API server refuses: InvalidSpec" InvalidSpec bash -c \
		"'$KUBECTL' -n $NS get dbb badaffinity -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
	T_OUT=$(field badaffinity .status.message)
	t_contains "a Job the API server refuses: its words in status.message" "the API server refused the backup Job"
	t_contains "a Job the API server refuses: the field is named" "Sometimes"
else
	t_fail "a jobTemplate.affinity the CRD accepts" "$(cat "$WORK/apply-affinity.out")"
fi

# 3. the wrong password: Failed, the job's error in status, a Warning event
backup wrongpw app-db-wrong >/dev/null
t_equals "wrong password reaches Failed" Failed wait_phase wrongpw Completed Failed
save_object databasebackup wrongpw failed-databaseerror
T_OUT=$(field wrongpw .status.message)
t_contains "the job's error in status.message" "password authentication failed"
t_equals "Ready reason is the job's" DatabaseError bash -c \
	"'$KUBECTL' -n $NS get dbb wrongpw -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
sleep 2
T_OUT=$(kubectl -n "$NS" get events --field-selector involvedObject.name=wrongpw -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}')
t_contains "a Warning event with the reason" "Warning DatabaseError"
t_true "no manifest left by the failed backup" test ! -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/wrongpw/manifest.json"

T_OUT=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" || true)
t_contains "/metrics counts the Failed backup" "lifeboat_backups_total{namespace=\"$NS\",result=\"failed\"} 1"

# 3b. an unreachable database (a port nothing listens on): Failed, the job's error
DEAD_PORT=$(free_port)
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: nohost}
spec:
  database: {host: 127.0.0.1, port: $DEAD_PORT, user: $PGTEST_ROLE, database: app,
             sslMode: disable, connectTimeoutSeconds: 3, passwordSecretRef: {name: app-db, key: password}}
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
YAML
t_equals "unreachable database reaches Failed" Failed wait_phase nohost Completed Failed
T_OUT=$(field nohost .status.message)
t_contains "the connection error in status.message" "$DEAD_PORT"
t_true "no manifest left by the unreachable-database backup" test ! -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/nohost/manifest.json"

# 3c. the Job's deadline: a backup that outlives jobTemplate.activeDeadlineSeconds
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: slow}
spec:
  database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app, sslMode: disable,
             passwordSecretRef: {name: app-db, key: password},
             schemaVersionQuery: "SELECT 'v1' FROM pg_sleep(60)"}
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
  jobTemplate: {activeDeadlineSeconds: 3, backoffLimit: 0}
YAML
t_equals "a backup past its deadline reaches Failed" Failed wait_phase slow Completed Failed
save_object databasebackup slow failed-deadlineexceeded
t_equals "its reason is DeadlineExceeded" DeadlineExceeded bash -c \
	"'$KUBECTL' -n $NS get dbb slow -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
t_true "no manifest left by the timed-out backup" test ! -e "$CLUSTER_DIR/volumes/$NS/backups/$NS/slow/manifest.json"

# 3d. the spec of a created backup is immutable (deletionPolicy aside)
t_run "a spec change on a created backup is refused" 1 kubectl -n "$NS" patch dbb good --type=merge \
	-p '{"spec":{"verify":false}}'
t_contains "the refusal says the spec is immutable" "spec is immutable once created"
t_run "deletionPolicy may change" 0 kubectl -n "$NS" patch dbb wrongpw --type=merge \
	-p '{"spec":{"deletionPolicy":"Delete"}}'
t_equals "a Failed backup stays Failed when deletionPolicy changes" Failed field wrongpw .status.phase

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
T_OUT=
for ((i = 0; i < 50; i++)); do
	T_OUT=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" || true)
	[[ $T_OUT != *'name="good"'* ]] && break
	sleep 0.2
done
t_true "a deleted backup's series leave /metrics" bash -c '[[ $1 != *"name=\"good\""* && $1 == *lifeboat_backups_total* ]]' _ "$T_OUT"

# 5. the operator SIGKILLed at each phase it can be caught in, then
# restarted: it adopts the Job (exactly one per backup) and converges.
# 5a. as soon as it created the Job (Pending), restarted at once
backup killed app-db >/dev/null
for ((i = 0; i < 100; i++)); do
	[[ -n $(field killed .status.jobName) ]] && break
	sleep 0.1
done
kill_operator
start_operator
t_equals "killed at Pending, restarted: Completed" Completed wait_phase killed Completed Failed
one_job killed
# 5b. while the backup runs (a schema query that sleeps keeps it Running);
# the Job finishes while the operator is down
SLOWQ="  database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app, sslMode: disable,
             passwordSecretRef: {name: app-db, key: password}, schemaVersionQuery: \"SELECT 'v1' FROM pg_sleep(4)\"}"
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: killrun}
spec:
$SLOWQ
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
YAML
t_equals "killrun reaches Running" Running wait_phase killrun Running Verifying Completed Failed
save_object databasebackup killrun running
kill_operator
t_run "the Job completes while the operator is down" 0 kubectl -n "$NS" wait --for=condition=Complete job/killrun-backup --timeout=60s
t_equals "while down, the status still says Running" Running field killrun .status.phase
start_operator
t_equals "killed at Running, restarted after the Job finished: Completed" Completed wait_phase killrun Completed Failed
one_job killrun
T_OUT=$(field killrun .status.artifact.sha256)
t_matches "killrun: the result's sha256 in status" '^[0-9a-f]{64}$'
# 5c. killed again and again while a backup goes through its phases
backup churn app-db >/dev/null
for ((k = 0; k < 4; k++)); do
	sleep 0.7
	kill_operator
	start_operator
done
t_equals "killed four times during a backup: Completed" Completed wait_phase churn Completed Failed
one_job churn

# 6. SIGTERM: exit 0
stop_operator
t_equals "operator exits 0 on SIGTERM" 0 echo "$OP_RC"

# 7. --leader-elect: reconciles while holding the Lease, releases it on SIGTERM
start_operator --leader-elect --leader-election-namespace "$NS"
backup leader app-db >/dev/null
t_equals "with --leader-elect: Completed" Completed wait_phase leader Completed Failed
T_OUT=$(kubectl -n "$NS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}')
t_matches "the Lease names a holder" '.+'
stop_operator
t_equals "leader exits 0 on SIGTERM" 0 echo "$OP_RC"
t_equals "the Lease is released" "" kubectl -n "$NS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}'
# 8. two replicas: one leads, the other stands by and takes over when the
# leader is SIGKILLed (within the Lease duration, 15 s, plus a retry)
REPLICA_PIDS=()
start_replica() { # ID
	local mp hp
	mp=$(free_port)
	hp=$(free_port)
	timeout 600 "$BIN/lifeboat-operator" --kubeconfig "$KUBECONFIG" --namespaces "$NS" \
		--metrics-addr "127.0.0.1:$mp" --health-addr "127.0.0.1:$hp" --log-format logfmt \
		--log-level debug --leader-elect --leader-election-namespace "$NS" >>"$WORK/replica-$1.log" 2>&1 &
	REPLICA_PIDS+=($!)
}
holder() { kubectl -n "$NS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
start_replica a
for ((i = 0; i < 100; i++)); do [[ -n $(holder) ]] && break; sleep 0.2; done
first=$(holder)
start_replica b
sleep 2
t_equals "two replicas: the first still leads" "$first" holder
backup replica1 app-db >/dev/null
t_equals "two replicas: a backup completes" Completed wait_phase replica1 Completed Failed
t_true "two replicas: only the leader reconciled it" bash -c "! grep -q 'key=$NS/replica1' '$WORK/replica-b.log'"
child=$(pgrep -P "${REPLICA_PIDS[0]}" | head -1)
kill -KILL "${child:-${REPLICA_PIDS[0]}}"
wait "${REPLICA_PIDS[0]}" 2>/dev/null || true
t0=$(date +%s)
second=
for ((i = 0; i < 100; i++)); do
	second=$(holder)
	[[ -n $second && $second != "$first" ]] && break
	sleep 0.25
done
took=$(($(date +%s) - t0))
t_true "two replicas: the standby took over (${took}s after the leader was killed)" \
	bash -c "[[ -n '$second' && '$second' != '$first' && $took -le 20 ]]"
backup replica2 app-db >/dev/null
t_equals "two replicas: the new leader completes a backup" Completed wait_phase replica2 Completed Failed
one_job replica2
t_true "two replicas: the new leader logged it took the Lease" grep -q 'leading: reconciling' "$WORK/replica-b.log"
kill -TERM "${REPLICA_PIDS[1]}"
set +e
wait "${REPLICA_PIDS[1]}"
rc=$?
set -e
REPLICA_PIDS=()
t_equals "the new leader exits 0 on SIGTERM" 0 echo "$rc"
cat "$WORK"/replica-*.log >>"$WORK/operator.log"

# 6b. no Secret value in the operator's log, the Jobs, the Events or a status
kubectl -n "$NS" get dbb,jobs,events -o json >"$WORK/objects.json"
for secret in "$PGTEST_PASSWORD" not-the-password 'e2e passphrase'; do
	t_true "secret value absent from the operator's log and the objects: ${secret:0:3}..." \
		bash -c "! grep -qF -- '$secret' '$WORK/operator.log' '$WORK/objects.json'"
done

t_true "no sanitizer report in the operator's log" bash -c "! grep -q 'Sanitizer' '$WORK/operator.log'"
if grep -q '^FAIL' "$LIFEBOAT_RESULTS" 2>/dev/null || [[ ${E2E_SHOW_LOG:-0} == 1 ]]; then
	tail -40 "$WORK/operator.log" >&2
fi
