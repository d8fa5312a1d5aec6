#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2119 # T_SUITE and T_OUT are read by tests/lib/t.sh; sums without arguments
# tests/e2e/restore.sh: DatabaseRestore end to end on the real control plane
# (tests/e2e/lib.sh), a real PostgreSQL and volume storage: a wrong confirm
# launches nothing; the full path (safety backup, restore, data equal to the
# backup's by per-table checksums, the audit record in storage, status
# complete); a tampered artifact, a wrong passphrase and RequireMatch with
# another schema version all fail with the target unchanged; the operator
# SIGKILLed in SafetyBackup and in Restoring never starts a second safety
# backup or restore Job; disaster recovery from storage alone into a fresh
# namespace; kubectl get dbr as the restore history; who asked, through the
# operator's admission webhook, for two users; spec.files.
T_SUITE=e2e-restore
E2E_NAME=e2e-restore
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

pg_psql app -q -c "CREATE TABLE u(id int PRIMARY KEY, w text); INSERT INTO u SELECT i, repeat('x', i % 50) FROM generate_series(1, 500) i;
	CREATE TABLE schema_version(v text); INSERT INTO schema_version VALUES ('42')" >/dev/null
# The data, table by table: what "equal" and "unchanged" are checked with.
# shellcheck disable=SC2120 # sums scratch, through t_equals
sums() {
	pg_psql "${1:-app}" -Atc "SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t) || ' ' ||
		(SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM u) || ' ' ||
		(SELECT string_agg(v, ',') FROM schema_version)"
}
secrets() { # NS
	kubectl -n "$1" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
	kubectl -n "$1" create secret generic pp --from-literal=passphrase='restore passphrase' >/dev/null
	kubectl -n "$1" create secret generic pp-wrong --from-literal=passphrase='not it' >/dev/null
}
secrets "$NS"
printf 'restore passphrase\n' >"$WORK/passphrase"
e2e_claim backups
VOL=$CLUSTER_DIR/volumes/$NS/backups
start_operator

DB="{host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app, sslMode: disable,
             passwordSecretRef: {name: app-db, key: password}, schemaVersionQuery: 'SELECT v FROM schema_version'}"
backup() { # NAME
	kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: $1}
spec:
  database: $DB
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
  deletionPolicy: Retain
YAML
}
restore() { # NAME, then spec lines on stdin (indented two spaces)
	{
		printf 'apiVersion: lifeboat.dev/v1alpha1\nkind: DatabaseRestore\nmetadata: {name: %s}\nspec:\n' "$1"
		cat
	} | kubectl -n "$NS" apply -f - >/dev/null
}
rfield() { kubectl -n "$NS" get dbr "$1" -o jsonpath="{$2}" 2>/dev/null || true; }
rwait() { # NAME PHASE...: prints the phase reached (3 min)
	local p i want
	for ((i = 0; i < 360; i++)); do
		p=$(rfield "$1" .status.phase)
		for want in "${@:2}"; do [[ $p == "$want" ]] && { echo "$p"; return 0; }; done
		sleep 0.5
	done
	echo "${p:-none}"
}
ready_of() { rfield "$1" '.status.conditions[?(@.type=="Ready")].reason'; }
restore_jobs() { kubectl -n "$NS" get jobs -l "lifeboat.dev/restore=$1" -o name | wc -l; }
audit_file() { find "$VOL/$NS/_restores" -name "$1.json" 2>/dev/null | head -1; }
events_of() { kubectl -n "$NS" get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.type} {.reason}: {.message}{"\n"}{end}'; }

backup b1
t_equals "the backup to restore reaches Completed" Completed wait_phase b1 Completed Failed
SUM_B1=$(sums)

# 1. a wrong confirm: refused, nothing launched
restore r-wrong <<YAML
  backupRef: {name: b1}
  confirm: app-prod
YAML
for ((i = 0; i < 40; i++)); do [[ -n $(ready_of r-wrong) ]] && break; sleep 0.5; done
t_equals "a wrong confirm: Pending" Pending rfield r-wrong .status.phase
t_equals "a wrong confirm: Ready=False ConfirmationMismatch" ConfirmationMismatch ready_of r-wrong
save_object databaserestore r-wrong confirmationmismatch
T_OUT=$(rfield r-wrong .status.message)
t_contains "a wrong confirm: the message names both" 'confirm is "app-prod" but the target database is "app"'
sleep 3
t_true "a wrong confirm: no safety backup" bash -c "! '$KUBECTL' -n $NS get dbb r-wrong-safety >/dev/null 2>&1"
t_equals "a wrong confirm: no restore Job" 0 restore_jobs r-wrong
t_equals "a wrong confirm: the data untouched" "$SUM_B1" sums

# 2. the full path: the data broken, then restored as it was
pg_psql app -q -c "DELETE FROM t WHERE id > 1000; UPDATE u SET w = 'broken'; INSERT INTO t VALUES (99999, 'new')" >/dev/null
SUM_BROKEN=$(sums)
restore r1 <<YAML
  backupRef: {name: b1}
  confirm: app
YAML
t_equals "r1 reaches Completed" Completed rwait r1 Completed Failed
save_object databaserestore r1 completed
t_equals "r1: the data equals the backup's, table by table" "$SUM_B1" sums
t_equals "r1: Ready=True Succeeded" Succeeded ready_of r1
t_equals "r1: the safety backup Completed first" Completed wait_phase r1-safety Completed Failed
save_object databasebackup r1-safety completed-safety
t_equals "r1: the safety backup is owned by the restore" DatabaseRestore field r1-safety '.metadata.ownerReferences[0].kind'
t_equals "r1: the safety backup is kept (Retain)" Retain field r1-safety .spec.deletionPolicy
t_equals "r1: status.safetyBackup.sha256 is the safety backup's" "$(field r1-safety .status.artifact.sha256)" rfield r1 .status.safetyBackup.sha256
t_equals "r1: status.restoredBackup.sha256 is the backup's" "$(field b1 .status.artifact.sha256)" rfield r1 .status.restoredBackup.sha256
t_equals "r1: status.restoredBackup.name" b1 rfield r1 .status.restoredBackup.name
t_equals "r1: status.restoredBackup.schemaVersion" 42 rfield r1 .status.restoredBackup.schemaVersion
t_equals "r1: status.schemaCheck Match (Warn)" "Match Warn 42 42" rfield r1 '.status.schemaCheck.result} {.status.schemaCheck.policy} {.status.schemaCheck.backupVersion} {.status.schemaCheck.targetVersion'
t_equals "r1: status.requestedBy without the webhook" "unknown (admission webhook not installed)" rfield r1 .status.requestedBy
t_equals "r1: status.target, no password" "postgresql://$PGTEST_ROLE@127.0.0.1:$PGTEST_PORT/app" rfield r1 .status.target
t_true "r1: startTime and completionTime" bash -c "[[ -n '$(rfield r1 .status.startTime)' && -n '$(rfield r1 .status.completionTime)' ]]"
t_equals "r1: observedGeneration" 1 rfield r1 .status.observedGeneration
t_equals "r1: exactly one restore Job" 1 restore_jobs r1
t_equals "r1: the restore Job never retries (backoffLimit 0)" 0 bash -c "'$KUBECTL' -n $NS get job r1-restore -o jsonpath='{.spec.backoffLimit}'"
AUDIT=$(rfield r1 .status.auditRecord)
t_true "r1: status.auditRecord is under <ns>/_restores/<yyyy>/<mm>/" bash -c "[[ '$AUDIT' == file:///backup-volume/$NS/_restores/$(date -u +%Y/%m)/r1.json ]]"
A=$(audit_file r1)
t_true "r1: the audit record is in storage" test -s "$A"
T_OUT=$(cat "$A" 2>/dev/null || true)
t_contains "r1: the audit record says Completed" '"outcome": "Completed"'
t_contains "r1: the audit record has the backup's sha256" "$(field b1 .status.artifact.sha256)"
t_contains "r1: the audit record has the safety backup" "$(field r1-safety .status.artifact.sha256)"
t_true "r1: no password in the audit record" bash -c "! grep -q -- '$PGTEST_PASSWORD' '$A'"
T_OUT=$(timeout 60 "$BIN/lifeboat" audit --storage "file://$VOL" --namespace "$NS" 2>&1 || true)
t_contains "lifeboat audit lists r1 from storage alone" "r1"
# The safety backup holds the data as it was just before: restore it aside.
pg_psql postgres -q -c "CREATE DATABASE scratch" >/dev/null
LIFEBOAT_DB="postgresql://$PGTEST_ROLE:$PGTEST_PASSWORD@127.0.0.1:$PGTEST_PORT/scratch?sslmode=disable" \
	t_run "the safety backup restores (lifeboat restore into a scratch database)" 0 timeout 120 "$BIN/lifeboat" restore \
	--storage "file://$VOL" --namespace "$NS" --name r1-safety --passphrase-file "$WORK/passphrase" --confirm scratch
t_equals "the safety backup holds the data as it was before the restore" "$SUM_BROKEN" sums scratch
T_OUT=$(events_of r1)
t_contains "r1: events tell the steps" "Restored"

# 3. a tampered artifact: Failed, the target unchanged, the audit says why
backup b2
t_equals "b2 reaches Completed" Completed wait_phase b2 Completed Failed
dump=$(find "$VOL/$NS/b2" -maxdepth 1 -name 'db-*.dump*' ! -name '*.partial' | head -1)
size=$(stat -c %s "$dump")
/usr/bin/python3 - "$dump" $((size / 2)) <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x01]))
EOF
pg_psql app -q -c "UPDATE u SET w = 'before r2'" >/dev/null
SUM_BEFORE=$(sums)
restore r2 <<YAML
  backupRef: {name: b2}
  confirm: app
YAML
t_equals "a tampered artifact: Failed" Failed rwait r2 Completed Failed
save_object databaserestore r2 failed-integritycheckfailed
t_equals "a tampered artifact: the target unchanged" "$SUM_BEFORE" sums
t_equals "a tampered artifact: status.targetUnchanged" true rfield r2 .status.targetUnchanged
T_OUT="$(ready_of r2): $(rfield r2 .status.message)"
t_contains "a tampered artifact: the reason is the integrity check" "IntegrityCheckFailed"
T_OUT=$(cat "$(audit_file r2)" 2>/dev/null || true)
t_contains "a tampered artifact: the audit record says Failed" '"outcome": "Failed"'
t_contains "a tampered artifact: the audit record says why" "IntegrityCheckFailed"

# 4. a wrong passphrase (from storage, no safety backup): Failed, unchanged
restore r3 <<YAML
  source:
    storage: {volume: {claimName: backups}}
    path: $NS/b1
    encryption: {passphraseSecretRef: {name: pp-wrong, key: passphrase}}
  target: $DB
  confirm: app
  safetyBackup: {enabled: false}
YAML
t_equals "a wrong passphrase: Failed" Failed rwait r3 Completed Failed
save_object databaserestore r3 failed-wrongpassphrase
t_equals "a wrong passphrase: reason WrongPassphrase" WrongPassphrase ready_of r3
t_equals "a wrong passphrase: the target unchanged" "$SUM_BEFORE" sums
t_equals "a wrong passphrase: status.safetyBackup.enabled false" false rfield r3 .status.safetyBackup.enabled
T_OUT=$(events_of r3)
t_contains "no safety backup: a Warning event" "Warning SafetyBackupDisabled"
t_true "no safety backup: none was made" bash -c "! '$KUBECTL' -n $NS get dbb r3-safety >/dev/null 2>&1"

# 5. RequireMatch with another schema version: refused before any change
pg_psql app -q -c "UPDATE schema_version SET v = '41'" >/dev/null
SUM_41=$(sums)
restore r4 <<YAML
  backupRef: {name: b1}
  confirm: app
  schemaPolicy: RequireMatch
  safetyBackup: {enabled: false}
YAML
t_equals "RequireMatch: Failed" Failed rwait r4 Completed Failed
save_object databaserestore r4 failed-schemamismatch
t_equals "RequireMatch: reason SchemaMismatch" SchemaMismatch ready_of r4
t_equals "RequireMatch: the target unchanged" "$SUM_41" sums
t_equals "RequireMatch: status.schemaCheck" "Mismatch 42 41" rfield r4 '.status.schemaCheck.result} {.status.schemaCheck.backupVersion} {.status.schemaCheck.targetVersion'
t_equals "RequireMatch: SchemaCompatible=False" False rfield r4 '.status.conditions[?(@.type=="SchemaCompatible")].status'

# 6. the operator SIGKILLed in SafetyBackup and in Restoring: one of each
# A transaction holding t (ACCESS SHARE) lets the safety backup's pg_dump
# through but holds the restore's DROP back for 25 s: time to kill.
pg_psql app -q -c "BEGIN; SELECT count(*) FROM t; SELECT pg_sleep(25); COMMIT" >/dev/null 2>&1 &
HOLD=$!
e2e_on_exit "kill $HOLD 2>/dev/null"
restore r5 <<YAML
  backupRef: {name: b1}
  confirm: app
YAML
t_equals "r5 reaches SafetyBackup" SafetyBackup rwait r5 SafetyBackup Restoring Completed Failed
save_object databaserestore r5 safetybackup
kill_operator
sleep 2
start_operator
t_equals "r5 after a SIGKILL in SafetyBackup: Restoring" Restoring rwait r5 Restoring Completed Failed
save_object databaserestore r5 restoring
kill_operator
sleep 2
start_operator
t_equals "r5 after a SIGKILL in Restoring: Completed" Completed rwait r5 Completed Failed
wait "$HOLD" 2>/dev/null || true
t_equals "r5: one safety backup" 1 bash -c "'$KUBECTL' -n $NS get dbb -l lifeboat.dev/restore=r5 -o name | wc -l"
t_equals "r5: one backup Job for it" 1 bash -c "'$KUBECTL' -n $NS get jobs -l lifeboat.dev/backup=r5-safety -o name | wc -l"
t_equals "r5: one restore Job" 1 restore_jobs r5
t_equals "r5: the data equals the backup's" "$SUM_B1" sums

t_run "the spec is immutable: a change is refused" 1 "$KUBECTL" -n "$NS" patch dbr r1 --type=merge -p '{"spec":{"clean":false}}'
t_contains "the spec is immutable: the API server says why" "spec is immutable"

# 7. the history
T_OUT=$(kubectl -n "$NS" get dbr 2>&1)
t_contains "kubectl get dbr: the columns" "REQUESTED-BY"
t_true "kubectl get dbr: r1 Completed from b1" bash -c "grep -E '^r1 +Completed +b1 ' <<<'$T_OUT'"
t_true "kubectl get dbr: r2 Failed" bash -c "grep -E '^r2 +Failed ' <<<'$T_OUT'"

# 8. disaster recovery: the namespace and every resource gone, only the
# storage (copied into a fresh namespace's claim, as a bucket would stay)
# and the passphrase left
stop_operator
cp -a "$VOL" "$WORK/storage-copy"
OLD_NS=$NS
kubectl delete namespace "$OLD_NS" --wait=true --timeout=120s >/dev/null
NS=$OLD_NS-dr
kubectl create namespace "$NS" >/dev/null
secrets "$NS"
e2e_claim backups
VOL=$CLUSTER_DIR/volumes/$NS/backups
for ((i = 0; i < 60; i++)); do [[ -d $VOL ]] && break; sleep 0.5; done
[[ -d $VOL ]] || mkdir -p "$VOL"
cp -a "$WORK/storage-copy/." "$VOL/"
start_operator
pg_psql app -q -c "DROP TABLE u" >/dev/null
restore r-dr <<YAML
  source:
    storage: {volume: {claimName: backups}}
    path: $OLD_NS/b1
    encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
  target: $DB
  confirm: app
  schemaPolicy: Ignore
YAML
t_equals "disaster recovery from storage alone: Completed" Completed rwait r-dr Completed Failed
t_equals "disaster recovery: the data equals the backup's" "$SUM_B1" sums
t_equals "disaster recovery: restoredBackup.name is <namespace>/<name>" "$OLD_NS/b1" rfield r-dr .status.restoredBackup.name
t_equals "disaster recovery: schemaCheck Skipped (Ignore)" Skipped rfield r-dr .status.schemaCheck.result

# 9. who asked: the operator's own admission webhook, two users with client
# certificates of the cluster's CA; each one's name lands in status, a
# forged annotation is overwritten
stop_operator
pki=$WORK/pki
mkdir -p "$pki" "$WORK/webhook"
ossl() { openssl "$@" >/dev/null 2>>"$WORK/openssl.log"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=e2e-webhook-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -keyout "$pki/ca.key" -out "$pki/ca.crt"
signed() { # NAME CA_PREFIX SUBJECT EKU [SAN]
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" -keyout "$pki/$1.key" -out "$pki/$1.csr"
	printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=%s\n%s' "$4" "${5:+subjectAltName=$5}" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.crt"
}
signed serving "$pki/ca" /CN=lifeboat-webhook serverAuth IP:127.0.0.1
cp "$pki/serving.crt" "$WORK/webhook/tls.crt"
cp "$pki/serving.key" "$WORK/webhook/tls.key"
signed alice "$CLUSTER_DIR/pki/ca" "/O=lifeboat-dba/CN=alice" clientAuth
signed bob "$CLUSTER_DIR/pki/ca" "/O=team-b/CN=bob" clientAuth
for u in alice bob; do
	cat >"$WORK/$u.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: $(cat "$CLUSTER_DIR/apiserver.url"), certificate-authority-data: $(base64 -w0 "$CLUSTER_DIR/pki/ca.crt")}}]
users: [{name: $u, user: {client-certificate-data: $(base64 -w0 "$pki/$u.crt"), client-key-data: $(base64 -w0 "$pki/$u.key")}}]
contexts: [{name: c, context: {cluster: c, user: $u, namespace: $NS}}]
current-context: c
EOF
done
kubectl apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: restorer, namespace: $NS}
rules: [{apiGroups: [lifeboat.dev], resources: [databaserestores], verbs: [create, get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: restorers, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: restorer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}, {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
EOF
WPORT=$(free_port)
start_operator --webhook-addr "127.0.0.1:$WPORT" --webhook-cert-dir "$WORK/webhook"
MWC=lifeboat-e2e-restore-$$
e2e_on_exit "timeout 30 '$KUBECTL' delete mutatingwebhookconfiguration $MWC --ignore-not-found >/dev/null 2>&1"
kubectl label namespace "$NS" "lifeboat.dev/e2e-restore=$$" >/dev/null
kubectl apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: $MWC}
webhooks:
- name: requested-by.lifeboat.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 5
  clientConfig: {url: "https://127.0.0.1:$WPORT/mutate-databaserestore", caBundle: $(base64 -w0 "$pki/ca.crt")}
  namespaceSelector: {matchLabels: {lifeboat.dev/e2e-restore: "$$"}}
  rules: [{apiGroups: [lifeboat.dev], apiVersions: [v1alpha1], operations: [CREATE, UPDATE], resources: [databaserestores], scope: Namespaced}]
EOF
as() {
	local u=$1
	shift
	timeout 60 "$KUBECTL" --kubeconfig "$WORK/$u.kubeconfig" --cache-dir "$WORK/kcache-$u" "$@"
}
asked() { # USER NAME [ANNOTATIONS]
	printf 'apiVersion: lifeboat.dev/v1alpha1\nkind: DatabaseRestore\nmetadata:\n  name: %s\n%s\nspec:\n  backupRef: {name: no-such-backup}\n  confirm: app\n' \
		"$2" "${3:+  annotations: $3}" | as "$1" create -f - >/dev/null
}
# The API server calls the webhook once the configuration is active: a
# dry run comes back annotated.
probe() { [[ $(printf 'apiVersion: lifeboat.dev/v1alpha1\nkind: DatabaseRestore\nmetadata: {name: probe}\nspec: {backupRef: {name: x}, confirm: app}\n' |
	as alice create --dry-run=server -f - -o jsonpath='{.metadata.annotations.lifeboat\.dev/requested-by}' 2>/dev/null) == alice* ]]; }
for ((i = 0; i < 40; i++)); do probe && break; sleep 0.5; done
t_run "alice creates a restore through the webhook" 0 asked alice r-alice
t_run "bob creates one, forging the annotation" 0 asked bob r-bob '{lifeboat.dev/requested-by: "alice (groups: system:masters)"}'
for ((i = 0; i < 40; i++)); do [[ -n $(rfield r-bob .status.requestedBy) && -n $(rfield r-alice .status.requestedBy) ]] && break; sleep 0.5; done
t_equals "status.requestedBy: alice's" "alice (groups: lifeboat-dba, system:authenticated)" rfield r-alice .status.requestedBy
t_equals "status.requestedBy: bob's, the forged value overwritten" "bob (groups: team-b, system:authenticated)" rfield r-bob .status.requestedBy
T_OUT=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" || true)
t_true "/metrics counts the webhook's annotated creates" bash -c "grep -qE '^lifeboat_webhook_requests_total\{result=\"patched\"\} ([2-9]|[1-9][0-9]+)\$' <<<\"\$1\"" _ "$T_OUT"
T_OUT=$(kubectl -n "$NS" get dbr 2>&1)
t_true "kubectl get dbr: who asked" bash -c "grep -qE '^r-bob .*bob \(groups: team-b' <<<\"\$1\"" _ "$T_OUT"

# 10. spec.files: the uploads folder restored with the database, swapped in
# after the COMMIT
e2e_claim uploads
UP=$CLUSTER_DIR/volumes/$NS/uploads
for ((i = 0; i < 60; i++)); do [[ -d $UP ]] && break; sleep 0.5; done
mkdir -p "$UP/media/2026" && chmod -R a+rwX "$UP"
printf 'ada.png bytes\n' >"$UP/media/ada.png"
printf 'grace.pdf bytes\n' >"$UP/media/2026/grace.pdf"
chmod -R a+rwX "$UP"
files_sum() { (cd "$UP/media" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
FILES_B=$(files_sum)
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: b-files}
spec:
  database: $DB
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
  files: {claimName: uploads, path: media}
  deletionPolicy: Retain
YAML
t_equals "files: the backup with files reaches Completed" Completed wait_phase b-files Completed Failed
rm -f "$UP/media/ada.png"
printf 'not in the backup\n' >"$UP/media/stray.txt"
restore r-files <<YAML
  backupRef: {name: b-files}
  confirm: app
  safetyBackup: {enabled: false}
  files: {claimName: uploads, path: media}
YAML
t_equals "files: the restore reaches Completed" Completed rwait r-files Completed Failed
t_equals "files: the folder is the backup's again" "$FILES_B" files_sum
t_true "files: what came after the backup is gone" test ! -e "$UP/media/stray.txt"

stop_operator
t_equals "operator exits 0 on SIGTERM" 0 echo "$OP_RC"
t_true "no sanitizer report in the operator's log" bash -c "! grep -q 'Sanitizer' '$WORK/operator.log'"
if grep -q "^FAIL $T_SUITE" "$LIFEBOAT_RESULTS" 2>/dev/null || [[ ${E2E_SHOW_LOG:-0} == 1 ]]; then
	tail -60 "$WORK/operator.log" >&2
fi
