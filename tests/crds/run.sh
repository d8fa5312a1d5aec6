#!/usr/bin/env bash
# tests/crds/run.sh: the three lifeboat.dev CRDs (crds/) against the real
# kube-apiserver of tests/cluster: the generator's output is what is
# committed and the shared blocks agree; the CRDs are accepted (structural,
# CEL within its cost budget, no warnings) and Established; kubectl explain
# reads well; good objects apply with their defaults filled in; bad objects
# are refused with a message naming the field and the rule; a
# DatabaseBackup's spec is immutable while labels, deletionPolicy and the
# status subresource are not; printer columns, short names and the lifeboat
# category work in kubectl get; every examples/*.yaml passes a server-side
# dry run (schema, CEL rules, strict field validation) in a fresh namespace.
#
#   CLUSTER_DIR=DIR tests/crds/run.sh   # a running cluster (tests/cluster/up DIR)
#   tests/crds/run.sh                   # starts its own (no node agent), stops it on exit
#
# Objects go into the namespace crds-<run id>, removed at the end. CRDs the
# cluster did not have before are deleted at the end too; the suite refuses
# to overwrite test fixtures of other suites (label lifeboat.dev/test-fixture).
# Results: tests/lib/t.sh lines in $LIFEBOAT_RESULTS (suite "crds").
# KUBECTL / KUBECTL_NEXT: the two kubectl versions explain is checked with.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export T_SUITE=${T_SUITE:-crds}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
TD=$here/testdata
PY=${PYTHON:-python3}     # the generator needs only the standard library
DEBPY=/usr/bin/python3    # Debian's, with python3-yaml, for check_crds.py
KUBECTL=$("$root/tests/cluster/kubectl.sh" 32)
KUBECTL_NEXT=$("$root/tests/cluster/kubectl.sh" 33)
t_begin=$SECONDS
RUN=$(printf '%04x%02x' $RANDOM $((RANDOM % 256)))
NS=crds-$RUN
WORK=$(mktemp -d /tmp/lifeboat-crds.XXXXXX)
[[ $LIFEBOAT_RESULTS == /dev/null ]] && LIFEBOAT_RESULTS=$WORK/results
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
CRDS=(databasebackups.lifeboat.dev backupschedules.lifeboat.dev databaserestores.lifeboat.dev)
OWN=
created_crds=()
ns_made=
current=setup

k() { timeout 60 "$KUBECTL" --cache-dir "$WORK/kcache" "$@"; }
kn() { k -n "$NS" "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT
	[[ $rc -ne 0 && $current != finished ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	if [[ -z $OWN && -n ${KUBECONFIG:-} ]]; then
		[[ -n $ns_made ]] && k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1
		[[ -n $ns_made ]] && k delete namespace -l "lifeboat.dev/test-run=crds-$RUN" --ignore-not-found --wait=false >/dev/null 2>&1
		[[ ${#created_crds[@]} -gt 0 ]] && k delete crd "${created_crds[@]}" --ignore-not-found --timeout=60s >/dev/null 2>&1
	fi
	if [[ -n $OWN ]]; then
		timeout 60 "$root/tests/cluster/down" --purge "$OWN" >/dev/null 2>&1 || true
	fi
	if [[ -n ${LIFEBOAT_KEEP:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	return "$rc"
}
trap cleanup EXIT


# py_checks NAME CMD...: runs a checker printing "ok NAME"/"FAIL NAME: why"
# lines and records each line as a result.
py_checks() {
	local prefix=$1 out line
	shift
	out=$("$@" 2>&1) || true
	[[ -n $out ]] || { t_fail "$prefix" "the checker printed nothing"; return; }
	while IFS= read -r line; do
		case $line in
		"ok "*) t_pass "$prefix: ${line#ok }" ;;
		"FAIL "*) line=${line#FAIL }; t_fail "$prefix: ${line%%: *}" "${line#*: }" ;;
		*) t_fail "$prefix" "$line" ;;
		esac
	done <<<"$out"
}

echo "crds: the three lifeboat.dev CRDs against the real kube-apiserver"

# --- the generator, without a cluster -----------------------------------------
current="generator"
t_run "crds/gen.py --check: crds/*.yaml and the reference in docs/api.md are the generator's output" 0 timeout 60 "$PY" "$root/crds/gen.py" --check
timeout 60 "$PY" "$root/crds/gen.py" --json >"$WORK/gen.json"
if "$DEBPY" -c 'import yaml' 2>/dev/null; then
	py_checks "check_crds" timeout 60 "$DEBPY" "$here/check_crds.py" files "$WORK/gen.json"
else
	t_fail "check_crds" "$DEBPY has no yaml module (Debian python3-yaml)"
fi
t_run "crds/gen.py --check notices a hand edit" 1 sh -c \
	"d=\$(mktemp -d) && mkdir \"\$d/crds\" && cp '$root'/crds/gen.py '$root'/crds/*.yaml \"\$d/crds\" && sed -i '0,/zstd:3/s//zstd:4/' \"\$d/crds/databasebackups.yaml\" && timeout 60 '$PY' \"\$d/crds/gen.py\" --check; rc=\$?; rm -rf \"\$d\"; exit \$rc"
t_contains "gen.py --check prints the difference" 'zstd:4'

# --- the cluster ----------------------------------------------------------------
current="cluster"
if [[ -n ${CLUSTER_DIR:-} ]]; then
	# shellcheck disable=SC1091
	source "$CLUSTER_DIR/env"
else
	OWN=$WORK/cluster
	echo "crds: starting a control plane (tests/cluster/up, no node agent)"
	if ! CLUSTER_NODEAGENT=0 CLUSTER_TTL=900 timeout 300 "$root/tests/cluster/up" "$OWN" >"$WORK/up.log" 2>&1; then
		cat "$WORK/up.log"
		t_fail "tests/cluster/up" "the control plane did not start"
		exit 1
	fi
	# shellcheck disable=SC1091
	source "$OWN/env"
fi
export KUBECONFIG

current="CRDs"
for c in "${CRDS[@]}"; do
	have=$(k get crd "$c" --ignore-not-found -o 'jsonpath={.metadata.name}/{.metadata.labels.lifeboat\.dev/test-fixture}')
	if [[ $have == "$c/true" ]]; then
		t_fail "the cluster holds no test fixture named $c" "another suite's fixture CRD is installed (label lifeboat.dev/test-fixture); not overwriting it"
		exit 1
	fi
	[[ -z $have ]] && created_crds+=("$c")
done
# A renamed copy first (group lifeboat-dryrun.dev), so a server dry run works
# even when the CRDs exist: the API server checks structure and CEL costs on
# create; --warnings-as-errors also fails on any warning it sends.
t_run "the API server takes all three CRDs without an error or a warning (server dry run)" 0 sh -c \
	"cat '$root'/crds/*.yaml | sed 's/lifeboat[.]dev/lifeboat-dryrun.dev/g' | timeout 60 '$KUBECTL' --cache-dir '$WORK/kcache' create --dry-run=server --warnings-as-errors -f -"
t_run "kubectl apply -f crds/" 0 k apply -f "$root/crds/"
for c in "${CRDS[@]}"; do
	t_matches "$c applied" "^customresourcedefinition.apiextensions.k8s.io/$c (created|unchanged|configured)$"
done
t_run "all three CRDs become Established" 0 k wait --for=condition=Established --timeout=60s "${CRDS[@]/#/crd/}"
for c in "${CRDS[@]}"; do
	t_equals "$c: conditions NamesAccepted and Established, no NonStructuralSchema" \
		"NamesAccepted=True Established=True " \
		k get crd "$c" -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {end}'
	k get crd "$c" -o json >"$WORK/${c%%.*}.json"
done
py_checks "served" timeout 60 "$DEBPY" "$here/check_crds.py" served "$WORK/gen.json" "$WORK"

# Discovery can lag a moment behind Established.
for ((i = 0; i < 50; i++)); do
	grep -q dbr <<<"$(k api-resources --api-group=lifeboat.dev 2>/dev/null)" && break
	sleep 0.2
done
t_run "kubectl api-resources --api-group=lifeboat.dev" 0 k api-resources --api-group=lifeboat.dev -o wide
t_matches "databasebackups: short name dbb, namespaced, category lifeboat" '^databasebackups +dbb +lifeboat.dev/v1alpha1 +true +DatabaseBackup +.* lifeboat'
t_matches "backupschedules: short name dbs, namespaced, category lifeboat" '^backupschedules +dbs +lifeboat.dev/v1alpha1 +true +BackupSchedule +.* lifeboat'
t_matches "databaserestores: short name dbr, namespaced, category lifeboat" '^databaserestores +dbr +lifeboat.dev/v1alpha1 +true +DatabaseRestore +.* lifeboat'

# --- kubectl explain ----------------------------------------------------------
current="explain"
for kc in "$KUBECTL" "$KUBECTL_NEXT"; do
	[[ -x $kc ]] || { t_fail "kubectl $kc" "not installed"; continue; }
	v=$(timeout 30 "$kc" version --client -o json 2>/dev/null | timeout 30 "$PY" -c 'import json,sys; v=json.load(sys.stdin)["clientVersion"]; print(v["major"]+"."+v["minor"])')
	ke() { timeout 60 "$kc" --cache-dir "$WORK/kcache-$v" explain "$@"; }
	# The apiserver publishes a new CRD's OpenAPI a few seconds after it is
	# Established (longer on a busy shared cluster): wait for all three.
	for _ in $(seq 120); do
		ke databasebackup.spec >/dev/null 2>&1 && ke backupschedule.spec >/dev/null 2>&1 &&
			ke databaserestore.spec >/dev/null 2>&1 && break
		rm -rf "$WORK/kcache-$v"
		sleep 0.5
	done
	t_run "kubectl $v explain databasebackup.spec.storage.s3.credentialsSecretRef" 0 ke databasebackup.spec.storage.s3.credentialsSecretRef
	t_contains "kubectl $v explain: what it is" "The Secret holding the access key"
	t_contains "kubectl $v explain: an example" "Example: {name: backup-s3}"
	t_matches "kubectl $v explain: name is required" '^  name[[:space:]]+<string> -required-'
	t_contains "kubectl $v explain: a default" "Default: AWS_ACCESS_KEY_ID."
	t_run "kubectl $v explain backupschedule.spec.retention" 0 ke backupschedule.spec.retention
	t_contains "kubectl $v explain: retention's semantics" "A backup is kept when any rule keeps it"
	t_matches "kubectl $v explain: keepLast listed" '^  keepLast[[:space:]]+<integer>'
	t_matches "kubectl $v explain: maxAge's format" 'd \(days\) or w \(weeks\)'
	t_contains "kubectl $v explain: maxAge's example" "Example: 30d."
	t_run "kubectl $v explain databaserestore.spec.confirm" 0 ke databaserestore.spec.confirm
	t_contains "kubectl $v explain: confirm explained" "The target database's name, typed as a confirmation"
	t_run "kubectl $v explain databasebackup.spec.compression" 0 ke databasebackup.spec.compression
	t_contains "kubectl $v explain: compression's default" "Default: zstd:auto."
	t_run "kubectl $v explain databasebackup.spec.storage" 0 ke databasebackup.spec.storage
	t_matches "kubectl $v explain: the four backends" '^  volume[[:space:]]+<Object>'
	t_run "kubectl $v explain databasebackup.spec.format (an enum)" 0 ke databasebackup.spec.format
	t_matches "kubectl $v explain: the enum values" 'custom, plain|^ +plain$'
	t_run "kubectl $v explain --recursive databaserestore" 0 ke --recursive databaserestore
	t_matches "kubectl $v explain --recursive: deep status fields" '^ +auditRecord[[:space:]]+<string>'
done

# --- good objects -------------------------------------------------------------
current="good objects"
k create namespace "$NS" >/dev/null
ns_made=1
for f in backup-s3 backup-azure backup-gcs backup-gcs-key backup-volume schedule schedule-stockholm restore restore-dr; do
	t_run "apply testdata/$f.yaml" 0 kn apply -f "$TD/$f.yaml"
done
t_run "apply --server-side testdata/backup-full.yaml (every field set)" 0 kn apply --server-side -f "$TD/backup-full.yaml"

jp() { kn get "$1" -o "jsonpath=$2"; }
B=databasebackup/app-s3
t_equals "default: format custom" custom jp $B '{.spec.format}'
t_equals "default: compression zstd:auto" zstd:auto jp $B '{.spec.compression}'
t_equals "default: verify true" true jp $B '{.spec.verify}'
t_equals "default: deletionPolicy Retain" Retain jp $B '{.spec.deletionPolicy}'
t_equals "default: jobTemplate.activeDeadlineSeconds 3600 (jobTemplate itself defaulted)" 3600 jp $B '{.spec.jobTemplate.activeDeadlineSeconds}'
t_equals "default: jobTemplate.backoffLimit 1" 1 jp $B '{.spec.jobTemplate.backoffLimit}'
t_equals "default: jobTemplate.logLevel info" info jp $B '{.spec.jobTemplate.logLevel}'
t_equals "default: database.engine, port, sslMode, connectTimeoutSeconds" "postgresql 5432 prefer 10" \
	jp $B '{.spec.database.engine} {.spec.database.port} {.spec.database.sslMode} {.spec.database.connectTimeoutSeconds}'
t_equals "default: s3 credential key names" "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY" \
	jp $B '{.spec.storage.s3.credentialsSecretRef.accessKeyIdKey} {.spec.storage.s3.credentialsSecretRef.secretAccessKeyKey}'
t_equals "default: s3 forcePathStyle false" false jp $B '{.spec.storage.s3.forcePathStyle}'
t_equals "no HMAC defaults beside a GCS service-account key (the operator applies them to the HMAC form)" "key.json||" \
	jp databasebackup/app-gcs-key '{.spec.storage.gcs.credentialsSecretRef.serviceAccountKeyKey}|{.spec.storage.gcs.credentialsSecretRef.accessKeyIdKey}|{.spec.storage.gcs.credentialsSecretRef.secretAccessKeyKey}'
t_equals "no default invented: encryption stays as given, files unset" "backup-passphrase|" \
	jp $B '{.spec.encryption.passphraseSecretRef.name}|{.spec.files}'
t_equals "given values win over defaults (backup-full)" "plain gzip:9 false Delete 7200 0 6432 verify-full" \
	jp databasebackup/app-full '{.spec.format} {.spec.compression} {.spec.verify} {.spec.deletionPolicy} {.spec.jobTemplate.activeDeadlineSeconds} {.spec.jobTemplate.backoffLimit} {.spec.database.port} {.spec.database.sslMode}'
t_equals "affinity kept as given (preserved unknown fields)" eu-west-1a \
	jp databasebackup/app-full '{.spec.jobTemplate.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]}'
t_equals "resources: quantities kept as given" "250m 128Mi 1Gi" \
	jp databasebackup/app-full '{.spec.jobTemplate.resources.requests.cpu} {.spec.jobTemplate.resources.requests.memory} {.spec.jobTemplate.resources.limits.ephemeral-storage}'
S=backupschedule/nightly
t_equals "default: schedule timeZone UTC" UTC jp $S '{.spec.timeZone}'
t_equals "default: schedule concurrencyPolicy Forbid" Forbid jp $S '{.spec.concurrencyPolicy}'
t_equals "default: schedule suspend false" false jp $S '{.spec.suspend}'
t_equals "no default: startingDeadlineSeconds unset" "" jp $S '{.spec.startingDeadlineSeconds}'
t_equals "defaults inside backupTemplate.spec too (format, compression, verify, backoffLimit)" "custom zstd:auto true 1" \
	jp $S '{.spec.backupTemplate.spec.format} {.spec.backupTemplate.spec.compression} {.spec.backupTemplate.spec.verify} {.spec.backupTemplate.spec.jobTemplate.backoffLimit}'
t_equals "backupTemplate keeps deletionPolicy Delete as given" Delete jp $S '{.spec.backupTemplate.spec.deletionPolicy}'
t_equals "schedule-stockholm as given" "Europe/Stockholm true Replace 600 2w" \
	jp backupschedule/frequent '{.spec.timeZone} {.spec.suspend} {.spec.concurrencyPolicy} {.spec.startingDeadlineSeconds} {.spec.retention.maxAge}'
R=databaserestore/undo-migration
t_equals "default: restore safetyBackup.enabled true (safetyBackup itself defaulted)" true jp $R '{.spec.safetyBackup.enabled}'
t_equals "default: restore schemaPolicy Warn" Warn jp $R '{.spec.schemaPolicy}'
t_equals "default: restore clean true" true jp $R '{.spec.clean}'
t_equals "default: restore ownership.mode Keep, privileges Keep" "Keep Keep" jp $R '{.spec.ownership.mode} {.spec.privileges}'
t_equals "default: restore jobTemplate.activeDeadlineSeconds 3600" 3600 jp $R '{.spec.jobTemplate.activeDeadlineSeconds}'
t_equals "no default: restore target unset (the backup's database)" "" jp $R '{.spec.target}'
t_equals "restore-dr as given, with defaults beneath" "RequireMatch false NoOwner Skip true 14400 5432" \
	jp databaserestore/dr-app '{.spec.schemaPolicy} {.spec.clean} {.spec.ownership.mode} {.spec.privileges} {.spec.safetyBackup.enabled} {.spec.jobTemplate.activeDeadlineSeconds} {.spec.target.port}'

# --- bad objects: refused, naming the field and the rule ------------------------
current="bad objects"
# FILE|FIELD|RULE: kubectl create of testdata/bad/FILE fails and its error
# names FIELD and contains RULE.
bad_table=$(cat <<'EOF'
two-backends|spec.storage|several storage backends set: set exactly one of s3, azure, gcs and volume
no-backend|spec.storage|no storage backend set: set exactly one of s3, azure, gcs and volume
compression-zstd-99|spec.compression|should match '^(zstd(:([1-9]|1[0-9]|auto(:([1-9]|1[0-9])-([1-9]|1[0-9]))?))?|gzip(:[1-9])?|none)$'
compression-lz4|spec.compression|should match
format-tar|spec.format|Unsupported value: "tar": supported values: "custom", "plain"
port-70000|spec.database.port|should be less than or equal to 65535
port-string|spec.database.port|must be of type integer
host-and-uri|spec.database|set exactly one of connectionSecretRef and host, not both
no-host-no-uri|spec.database|set exactly one of connectionSecretRef (a Secret holding a libpq URI) and host
host-without-user|spec.database.user|Required value: user is required with host
uri-with-user|spec.database|user and passwordSecretRef go with host
verify-full-without-ca|spec.database.caSecretRef|sslMode verify-ca and verify-full need caSecretRef
sslmode-bad|spec.database.sslMode|Unsupported value: "strict"
azure-two-keys|spec.storage.azure.credentialsSecretRef|several credential keys set: set exactly one of accountKeyKey, sasTokenKey and connectionStringKey
gcs-two-forms|spec.storage.gcs.credentialsSecretRef.serviceAccountKeyKey|two forms of credentials: set one
azure-no-key|spec.storage.azure.credentialsSecretRef|no credential key set
azure-no-account|spec.storage.azure.accountName|accountName is required unless the credentials are a connection string
s3-no-credentials|spec.storage.s3.credentialsSecretRef|Required value
s3-prefix-dotdot|spec.storage.s3.prefix|must not contain a '.' or '..' folder
s3-endpoint-path|spec.storage.s3.endpoint|should match
s3-kms-without-sse|spec.storage.s3.kmsKeyId|kmsKeyId needs serverSideEncryption: aws:kms
s3-unknown-field|spec.storage.s3.secretKey|unknown field
deletion-policy-bad|spec.deletionPolicy|Unsupported value: "Orphan"
pod-label-reserved|spec.jobTemplate.podLabels|keys under lifeboat.dev/ are set by the operator
node-selector-bad-key|spec.jobTemplate.nodeSelector|keys must be label keys
deadline-zero|spec.jobTemplate.activeDeadlineSeconds|should be greater than or equal to 1
keeplast-0|spec.retention.keepLast|should be greater than or equal to 1
retention-empty|spec.retention|set at least one of keepLast, maxAge, keepDaily, keepWeekly and keepMonthly
maxage-months|spec.retention.maxAge|should match '^[1-9][0-9]{0,5}[hdw]$'
schedule-empty|spec.schedule|should be at least 1 chars long
timezone-bad|spec.timeZone|should match
concurrency-bad|spec.concurrencyPolicy|Unsupported value: "Skip"
template-two-backends|spec.backupTemplate.spec.storage|several storage backends set
restore-no-confirm|spec.confirm|Required value
restore-both-sources|spec|set exactly one of backupRef and source, not both
restore-no-source|spec|set exactly one of backupRef (a DatabaseBackup in this namespace) and source
restore-source-no-target|spec.target|target is required with source
restore-confirm-mismatch|spec.confirm|confirm must equal the target database name: confirm is "app2", target.database is "app"
restore-schema-policy-bad|spec.schemaPolicy|Unsupported value: "Strict"
restore-safety-storage-disabled|spec.safetyBackup|storage is set but enabled is false
restore-safety-two-backends|spec.safetyBackup.storage|several storage backends set
restore-path-bad|spec.source.path|should match
restore-ownership-bad|spec.ownership.mode|Unsupported value: "Drop"
EOF
)
n_bad=0
while IFS='|' read -r file field why; do
	[[ -n $file ]] || continue
	n_bad=$((n_bad + 1))
	t_run "refused: $file ($(sed -n '1s/^# //p' "$TD/bad/$file.yaml"))" 1 kn create -f "$TD/bad/$file.yaml"
	t_contains "refused: $file: the message names $field" "$field"
	t_contains "refused: $file: the message gives the rule" "$why"
done <<<"$bad_table"
t_equals "every file in testdata/bad is in the table" "$n_bad" sh -c "ls '$TD/bad' | grep -c '[.]yaml$'"
t_equals "no bad object was stored" "" sh -c \
	"timeout 60 '$KUBECTL' --cache-dir '$WORK/kcache' -n '$NS' get lifeboat -o name | grep -E '/($(cut -d'|' -f1 <<<"$bad_table" | paste -sd'|'))\$'"

# --- immutability, labels, status subresource ---------------------------------
current="immutability and status"
t_run "a DatabaseBackup's spec cannot change (compression)" 1 kn patch $B --type merge -p '{"spec":{"compression":"gzip:6"}}'
t_contains "the refusal says why and what to do" "spec is immutable once created (only deletionPolicy may change)"
t_run "a DatabaseBackup's spec cannot change (a nested field: the bucket)" 1 kn patch $B --type merge -p '{"spec":{"storage":{"s3":{"bucket":"other-bucket"}}}}'
t_contains "refused as immutable" "spec is immutable once created"
t_run "a DatabaseBackup's spec cannot change (removing encryption)" 1 kn patch $B --type merge -p '{"spec":{"encryption":null}}'
t_contains "refused as immutable" "spec is immutable once created"
t_run "a DatabaseBackup's spec cannot change (adding files)" 1 kn patch $B --type merge -p '{"spec":{"files":{"claimName":"uploads"}}}'
t_contains "refused as immutable" "spec is immutable once created"
t_equals "the refused changes left generation 1" 1 jp $B '{.metadata.generation}'
t_run "a label change is allowed" 0 kn label $B team=payments
t_equals "the label is there" payments jp $B '{.metadata.labels.team}'
t_run "an annotation change is allowed" 0 kn annotate $B note=keep-for-audit
t_run "deletionPolicy may change (Retain -> Delete)" 0 kn patch $B --type merge -p '{"spec":{"deletionPolicy":"Delete"}}'
t_equals "deletionPolicy changed, generation 2" "Delete 2" jp $B '{.spec.deletionPolicy} {.metadata.generation}'
t_run "deletionPolicy back to Retain" 0 kn patch $B --type merge -p '{"spec":{"deletionPolicy":"Retain"}}'
status='{"status":{"phase":"Completed","observedGeneration":3,"message":"stored and verified",
 "jobName":"app-s3-job","startTime":"2026-11-21T02:00:00Z","completionTime":"2026-11-21T02:01:40Z","durationSeconds":99.5,
 "artifact":{"location":"s3://acme-db-backups/prod/'$NS'/app-s3/","size":104857600,
  "sha256":"3b22e74f19c41a7be3e3179a440d36feff71519becb4a9a8af98759dcdced6c7","encrypted":true,"format":"custom","compression":"zstd:3",
  "objects":[{"key":"db.dump.zst.pgp","size":104857600,"sha256":"3b22e74f19c41a7be3e3179a440d36feff71519becb4a9a8af98759dcdced6c7"},{"key":"manifest.json","size":1536}]},
 "database":{"name":"app","serverVersion":"15.18","dumpVersion":"15.18","sizeBytes":123456789,"tableCount":42,"rowEstimate":1000000,"schemaVersion":"20261101"},
 "verification":{"verified":true,"time":"2026-11-21T02:01:40Z","method":"sha256+mdc+pg_restore-list"},
 "scheduleRef":{"name":"nightly"},
 "conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"stored and verified","lastTransitionTime":"2026-11-21T02:01:40Z","observedGeneration":3},
  {"type":"Verified","status":"True","reason":"Verified","message":"sha256, MDC and pg_restore --list","lastTransitionTime":"2026-11-21T02:01:40Z","observedGeneration":3}]}}'
t_run "a status write through the status subresource works" 0 kn patch $B --subresource=status --type merge -p "$status"
t_equals "the status is stored" "Completed 104857600 true nightly Ready Verified" \
	jp $B '{.status.phase} {.status.artifact.size} {.status.verification.verified} {.status.scheduleRef.name} {.status.conditions[*].type}'
t_equals "a status write does not bump generation" 3 jp $B '{.metadata.generation}'
t_run "kubectl wait --for=condition=Ready works on the conditions" 0 kn wait $B --for=condition=Ready --timeout=10s
t_run "the main endpoint ignores status (a patch there changes nothing)" 0 kn patch $B --type merge -p '{"status":{"phase":"Failed"}}'
t_equals "status unchanged" Completed jp $B '{.status.phase}'
t_run "a status phase outside the enum is refused" 1 kn patch $B --subresource=status --type merge -p '{"status":{"phase":"Done"}}'
t_contains "refused naming status.phase" 'status.phase: Unsupported value: "Done"'
t_run "a condition without its required fields is refused" 1 kn patch $B --subresource=status --type merge -p '{"status":{"conditions":[{"type":"Ready","status":"Maybe"}]}}'
t_contains "refused naming the condition's status" 'status.conditions[0].status: Unsupported value: "Maybe"'
t_run "a DatabaseRestore's spec cannot change" 1 kn patch $R --type merge -p '{"spec":{"schemaPolicy":"Ignore"}}'
t_contains "the refusal says why" "spec is immutable: a DatabaseRestore is a one-shot record"
t_run "a BackupSchedule's spec can change (suspend)" 0 kn patch $S --type merge -p '{"spec":{"suspend":true}}'
t_equals "the schedule's generation moved" "true 2" jp $S '{.spec.suspend} {.metadata.generation}'
t_run "status write: a schedule" 0 kn patch $S --subresource=status --type merge -p \
	'{"status":{"observedGeneration":2,"lastScheduleTime":"2026-11-21T02:00:00Z","nextScheduleTime":"2099-11-22T02:00:00Z","lastBackup":{"name":"nightly-202611210200","phase":"Completed"},"active":[{"name":"nightly-202611210200"}],"successCount":1,"failureCount":0,"missedCount":2}}'
t_run "status write: a restore" 0 kn patch $R --subresource=status --type merge -p \
	'{"status":{"phase":"Completed","requestedBy":"alice (system:authenticated)","target":"postgresql://app@app-db-rw.app.svc:5432/app","restoredBackup":{"name":"app-s3","sha256":"3b22e74f19c41a7be3e3179a440d36feff71519becb4a9a8af98759dcdced6c7"},"safetyBackup":{"enabled":true,"name":"undo-migration-safety"},"schemaCheck":{"policy":"Warn","backupVersion":"20261101","targetVersion":"20261120","result":"Mismatch"},"targetUnchanged":false,"auditRecord":"s3://acme-db-backups/prod/'$NS'/_restores/2026/11/undo-migration.json"}}'

# --- printer columns ----------------------------------------------------------
current="printer columns"
t_run "kubectl get dbb,dbs,dbr" 0 kn get dbb,dbs,dbr
t_matches "DatabaseBackup columns: Phase, Size, Verified, Schedule, Age" '^NAME +PHASE +SIZE +VERIFIED +SCHEDULE +AGE$'
t_matches "DatabaseBackup row: Completed, its size, verified, its schedule" '^databasebackup.lifeboat.dev/app-s3 +Completed +104857600 +true +nightly +[0-9]+[smh]'
t_matches "BackupSchedule columns: Schedule, TimeZone, Suspend, Last, Next, Age" '^NAME +SCHEDULE +TIMEZONE +SUSPEND +LAST +NEXT +AGE$'
t_matches "BackupSchedule row: cron, zone, suspended, last as an age, next as a timestamp" '^backupschedule.lifeboat.dev/nightly +0 2 \* \* \* +UTC +true +[0-9]+d +2099-11-22T02:00:00Z +[0-9]+[smh]'
t_matches "DatabaseRestore columns: Phase, Backup, Target, Requested-By, Age" '^NAME +PHASE +BACKUP +TARGET +REQUESTED-BY +AGE$'
t_matches "DatabaseRestore row: Completed, the backup, the target database, who" '^databaserestore.lifeboat.dev/undo-migration +Completed +app-s3 +app +alice \(system:authenticated\) +[0-9]+[smh]'
t_run "kubectl get lifeboat (the category)" 0 kn get lifeboat
for kind in databasebackup backupschedule databaserestore; do
	t_matches "kubectl get lifeboat lists ${kind}s" "^$kind.lifeboat.dev/"
done
t_run "kubectl get dbb -o wide" 0 kn get dbb -o wide
t_matches "wide columns: Database, Encrypted, Message" '^NAME +PHASE +SIZE +VERIFIED +SCHEDULE +AGE +DATABASE +ENCRYPTED +MESSAGE$'
t_matches "wide row" '^app-s3 +Completed +104857600 +true +nightly +[0-9]+[smh] +app +true +stored and verified$'
t_run "kubectl get dbs -o wide" 0 kn get dbs -o wide
t_matches "wide columns: Last-Backup, Last-Phase, Missed" 'LAST-BACKUP +LAST-PHASE +MISSED$'
t_matches "wide row" 'nightly-202611210200 +Completed +2$'
t_run "kubectl get dbr -o wide" 0 kn get dbr -o wide
t_matches "wide columns: Safety-Backup, Message" 'SAFETY-BACKUP +MESSAGE$'
t_matches "wide row" '^undo-migration +Completed +app-s3 +app +alice \(system:authenticated\) +[0-9]+[smh] +undo-migration-safety'

# --- examples/*.yaml -------------------------------------------------------------
current="examples"
# examples_check TAG DIR: every DIR/*.yaml (a glob: a new file is checked
# without touching this suite) goes through kubectl apply --dry-run=server in
# a fresh namespace of its own (crds-<run>-TAG<n>, labelled for the cleanup):
# the API server runs the schema, the CEL rules and strict field validation
# (an invented field is an error), and every object of the file must be
# reported. Prints "ok FILE" or "FAIL FILE: why" per file (py_checks records
# them); no .yaml file at all is a failure. Exit 1 on any failure. Runs in a
# subshell (py_checks, t_run), so it keeps no state.
examples_check() {
	local tag=$1 dir=$2 f base ns out docs made bad=0 n=0
	local files=("$dir"/*.yaml)
	if [[ ! -e ${files[0]} ]]; then
		echo "FAIL $dir: no .yaml files (the examples are missing or the glob is broken)"
		return 1
	fi
	for f in "${files[@]}"; do
		base=${f##*/}
		n=$((n + 1))
		ns=crds-$RUN-$tag$n
		if ! out=$(k create namespace "$ns" 2>&1) ||
			! out=$(k label namespace "$ns" "lifeboat.dev/test-run=crds-$RUN" 2>&1); then
			echo "FAIL $base: cannot make the namespace $ns: $out"
			bad=1
			continue
		fi
		docs=$(grep -c '^kind:' "$f" || true)
		if out=$(k -n "$ns" apply --dry-run=server --validate=strict --warnings-as-errors -f "$f" 2>&1); then
			made=$(grep -c ' (server dry run)$' <<<"$out" || true)
			if [[ $docs -gt 0 && $made -eq $docs ]]; then
				echo "ok $base: the server-side dry run accepts all $docs objects"
			else
				echo "FAIL $base: $docs objects in the file (kind: lines), $made reported by the dry run: $(tr '\n' ' ' <<<"$out" | tail -c 600)"
				bad=1
			fi
		else
			echo "FAIL $base: kubectl apply --dry-run=server refused it: $(tr '\n' ' ' <<<"$out" | tail -c 800)"
			bad=1
		fi
		k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	return "$bad"
}
py_checks "examples" examples_check ex "$root/examples"
for f in "$root"/examples/*.yaml; do
	[[ -e $f ]] || continue
	b=${f##*/}
	if grep -q "\`$b\`" "$root/examples/README.md" 2>/dev/null; then
		t_pass "examples/README.md lists $b"
	else
		t_fail "examples/README.md lists $b" "no \`$b\` in examples/README.md: add a line for it"
	fi
	if grep -Eq '^  namespace:' "$f"; then
		t_fail "examples/$b is namespace-less" "it sets metadata.namespace; the examples apply into the current namespace"
	else
		t_pass "examples/$b is namespace-less"
	fi
done
# The check itself: a file added later is picked up by the glob with no
# change here, a bad one fails naming it, and no files at all fail.
exdir=$WORK/examples-selftest
mkdir -p "$exdir/empty" "$exdir/more"
cp "$root/examples/backup.yaml" "$exdir/more/added-later.yaml"
cat >"$exdir/more/invented-field.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata:
  name: invented-field
spec:
  database: {host: db.app.svc, user: app, database: app}
  storage: {volume: {claimName: backups}}
  retries: 3
EOF
t_run "examples check: a directory with a new good file and a new bad one fails" 1 examples_check more "$exdir/more"
t_matches "examples check: the new good file is checked without a change to the suite" '^ok added-later.yaml: the server-side dry run accepts all 4 objects'
t_matches "examples check: the bad file fails, naming the file and the invented field" '^FAIL invented-field.yaml: .*unknown field "spec.retries"'
t_run "examples check: a directory without .yaml files fails" 1 examples_check empty "$exdir/empty"
t_contains "examples check: it says there are no .yaml files" "no .yaml files"

current=finished
n_pass=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c '^PASS ' || true)
n_fail=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c '^FAIL ' || true)
echo "crds: $n_pass passed, $n_fail failed in $((SECONDS - t_begin))s"
[[ $n_fail -eq 0 ]]
