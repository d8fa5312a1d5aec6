#!/usr/bin/env bash
# tests/apiserver/run.sh: the test API server checked against real clients.
# Runs test_units.py (the pure parts), then starts
# tests/apiserver/apiserver.py on a free loopback port (bounded by
# `timeout`, stopped by PID), drives it with the real kubectl 1.32 (a fresh
# --cache-dir, a generated kubeconfig) and curl, then runs test_pyclient.py
# (Debian's python3-kubernetes over TLS with a bearer token). Each check is
# recorded with tests/lib/t.sh in $LIFEBOAT_RESULTS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export T_SUITE=${T_SUITE:-apiserver}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"

PY=${PYTHON:-python3}
KUBECTL=$("$here/kubectl.sh") || {
	t_fail "kubectl 1.32 available" "tests/apiserver/kubectl.sh found none"
	exit 1
}
WORK=$(mktemp -d /tmp/lifeboat-apiserver-test.XXXXXX)
TD=$here/testdata
PID=
current=setup
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	jobs -p | xargs -r kill 2>/dev/null || true
	[[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	if [[ -n ${LIFEBOAT_KEEP:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	return "$rc"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server NAME ARGS...: starts a server, sets URL and KCFG.
start_server() {
	local name=$1 port
	shift
	port=$(free_port)
	KCFG=$WORK/$name.kubeconfig
	timeout 300 "$PY" "$here/apiserver.py" --port "$port" --write-kubeconfig "$KCFG" \
		--log "$WORK/$name.requests.log" "$@" >"$WORK/$name.out" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		grep -q '^apiserver: listening on' "$WORK/$name.out" 2>/dev/null && break
		sleep 0.1
	done
	URL=$(sed -n 's/^apiserver: listening on //p' "$WORK/$name.out")
	[[ -n $URL ]] || { cat "$WORK/$name.out"; return 1; }
	# KC: kubectl for this server, usable from `sh -c` too.
	KC=$WORK/kubectl-$name
	printf '#!/bin/sh\nexec %q --kubeconfig %q --cache-dir %q --request-timeout=20s "$@"\n' \
		"$KUBECTL" "$KCFG" "$WORK/cache-$name" >"$KC"
	chmod +x "$KC"
}

k() { "$KC" "$@"; }
api() { curl -sS --max-time 10 "$@"; }

# eventually NAME SECONDS CMD...: records whether CMD succeeds within SECONDS.
eventually() {
	local name=$1 secs=$2 end
	shift 2
	end=$((SECONDS + secs))
	while ((SECONDS <= end)); do
		if "$@" >/dev/null 2>&1; then
			t_pass "$name"
			return 0
		fi
		sleep 0.2
	done
	t_fail "$name" "still false after ${secs}s: $*"
}

# ok_if NAME WHY CMD...: records whether CMD succeeds; WHY explains a failure.
ok_if() {
	local name=$1 why=$2
	shift 2
	if "$@"; then t_pass "$name"; else t_fail "$name" "$why"; fi
}

# jp RESOURCE PATH: one field of one object.
jp() { k get "$1" -o "jsonpath={$2}"; }

# equals NAME WANT CMD...: records whether CMD prints exactly WANT.
equals() {
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1) || true
	if [[ $got == "$want" ]]; then t_pass "$name"; else t_fail "$name" "got \"$got\", wanted \"$want\""; fi
}

current="unit checks"
export LIFEBOAT_RESULTS
"$PY" "$here/test_units.py" || true

start_server main --image-map "busybox=/bin/sh" --image-map "lifeboat/test-tool=/bin/sh" \
	--volumes-dir "$WORK/volumes" --bookmark-interval 1

current="version and discovery"
t_run "kubectl version talks to the server" 0 k version
t_contains "server reports v1.32" "Server Version: v1.32.0"
t_run "api-resources lists core and batch kinds" 0 k api-resources
t_contains "api-resources shows jobs" "jobs"
t_contains "api-resources shows leases" "leases"

current="CRD"
t_run "apply the DatabaseBackup CRD" 0 k apply -f "$TD/databasebackup-crd.yaml"
t_contains "CRD created" "customresourcedefinition.apiextensions.k8s.io/databasebackups.lifeboat.dev created"
t_run "wait for the CRD to be Established" 0 k wait --for condition=established --timeout=10s \
	crd/databasebackups.lifeboat.dev
t_run "api-resources shows the custom resource" 0 k api-resources --api-group=lifeboat.dev
t_contains "shortName dbb is served" "dbb"
t_run "apply the CRD again is unchanged" 0 k apply -f "$TD/databasebackup-crd.yaml"
t_contains "CRD unchanged" "unchanged"

current="client-side apply"
t_run "apply a DatabaseBackup (create)" 0 k apply -f "$TD/backup-nightly.yaml"
t_contains "created" "databasebackup.lifeboat.dev/nightly created"
t_run "apply it again (nothing to patch)" 0 k apply -f "$TD/backup-nightly.yaml"
t_contains "unchanged" "databasebackup.lifeboat.dev/nightly unchanged"
equals "generation starts at 1" 1 jp dbb/nightly .metadata.generation
equals "defaults applied (verify)" true jp dbb/nightly .spec.verify
equals "defaults applied (nested port)" 5432 jp dbb/nightly .spec.database.port
sed 's/zstd:3/zstd:5/' "$TD/backup-nightly.yaml" >"$WORK/nightly-5.yaml"
t_run "apply a changed spec (update path)" 0 k apply -f "$WORK/nightly-5.yaml"
t_contains "configured" "databasebackup.lifeboat.dev/nightly configured"
equals "spec change bumps generation to 2" 2 jp dbb/nightly .metadata.generation
equals "the change is stored" "zstd:5" jp dbb/nightly .spec.compression

current="server-side apply"
sed 's/name: nightly/name: ssa/' "$TD/backup-nightly.yaml" >"$WORK/ssa.yaml"
t_run "apply --server-side creates" 0 k apply --server-side -f "$WORK/ssa.yaml"
t_contains "serverside-applied" "databasebackup.lifeboat.dev/ssa serverside-applied"
t_run "apply --server-side again" 0 k apply --server-side -f "$WORK/ssa.yaml"
equals "managedFields name the kubectl manager" kubectl jp dbb/ssa '.metadata.managedFields[0].manager'
t_run "a merge patch by another manager" 0 k patch dbb ssa --type=merge -p '{"spec":{"format":"plain"}}'
t_run "server-side apply over it conflicts" 1 k apply --server-side -f "$WORK/ssa.yaml"
t_contains "conflict names the field and manager" 'conflict with "kubectl-patch"'
t_contains "conflict names .spec.format" ".spec.format"
t_run "apply --server-side --force-conflicts wins" 0 k apply --server-side --force-conflicts -f "$WORK/ssa.yaml"
equals "forced value stored" custom jp dbb/ssa .spec.format
grep -v 'tier: db' "$WORK/ssa.yaml" >"$WORK/ssa-less.yaml"
t_run "server-side apply without a label" 0 k apply --server-side -f "$WORK/ssa-less.yaml"
equals "a field the applier dropped is removed" "" jp dbb/ssa '.metadata.labels.tier'
t_run "apply --server-side over a client-side-applied object" 0 k apply --server-side -f "$WORK/nightly-5.yaml"

current="validation"
t_run "an enum violation fails at apply" 1 k apply -f "$TD/backup-bad.yaml"
t_contains "names the field and the allowed values" \
	'The DatabaseBackup "bad" is invalid: spec.format: Unsupported value: "zip": supported values: "custom", "plain"'
cat >"$WORK/missing.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: missing}
spec:
  database: {host: db, database: shop}
EOF
t_run "a missing required field fails" 1 k apply -f "$WORK/missing.yaml"
t_contains "Required value named" "spec.storage: Required value"
cat >"$WORK/wrongtype.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: wrongtype}
spec:
  database: {host: db, database: shop, port: "5432"}
  storage: {s3: {bucket: backups}}
EOF
t_run "a wrong type fails" 1 k apply -f "$WORK/wrongtype.yaml"
t_contains "type error worded as kube-openapi" \
	'spec.database.port: Invalid value: "string": spec.database.port in body must be of type integer: "string"'
cat >"$WORK/unknown.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: unknown}
spec:
  database: {host: db, database: shop}
  storage: {s3: {bucket: backups}}
  bogus: 1
EOF
t_run "an unknown field fails with strict validation" 1 k apply -f "$WORK/unknown.yaml"
t_contains "strict decoding error" 'strict decoding error: unknown field "spec.bogus"'
t_run "an unknown field passes with --validate=false (pruned)" 0 k apply --validate=false -f "$WORK/unknown.yaml"
equals "the unknown field was pruned" "" jp dbb/unknown .spec.bogus
t_run "an unknown field warns with --validate=warn" 0 k apply --validate=warn -f "$WORK/unknown.yaml"
t_contains "warning printed" 'unknown field "spec.bogus"'
cat >"$WORK/pattern.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: pattern}
spec:
  database: {host: db, database: shop, port: 70000}
  storage: {s3: {bucket: backups}}
  compression: lz4
EOF
t_run "pattern and maximum violations fail together" 1 k apply -f "$WORK/pattern.yaml"
t_contains "pattern worded" "spec.compression in body should match '^(zstd|gzip)(:[0-9]+)?\$|^none\$'"
t_contains "maximum worded" "spec.database.port in body should be less than or equal to 65535"
cat >"$WORK/cel.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: cel}
spec:
  database: {host: db, connectionSecretRef: {name: a, key: b}, database: shop}
  storage: {s3: {bucket: backups}, volume: {claimName: x}}
EOF
t_run "CEL rules are evaluated" 1 k apply -f "$WORK/cel.yaml"
t_contains "CEL message on the object" 'spec.database: Invalid value: "object": set exactly one of connectionSecretRef and host'
t_contains "second CEL rule too" "exactly one of s3, azure, gcs, volume must be set"
cat >"$WORK/badcel-crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations:
        - rule: "self.spec.x == timestamp('2020-01-01T00:00:00Z')"
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
t_run "a CRD with CEL beyond the supported subset is refused" 1 k apply -f "$WORK/badcel-crd.yaml"
t_contains "refusal names the rule" "x-kubernetes-validations[0].rule"
t_run "a bad label value is refused" 1 k label dbb nightly 'bad=no spaces allowed'
t_contains "label error" "a valid label must be an empty string"

current="get and tables"
t_run "get databasebackups" 0 k get databasebackups
t_contains "printer columns in the header" "NAME      PHASE   SIZE   VERIFIED   AGE"
t_run "status patch through the status subresource" 0 k patch dbb nightly --subresource=status --type=merge \
	-p '{"status":{"phase":"Completed","artifact":{"size":4096},"verification":{"verified":true},"scheduleRef":{"name":"daily"}}}'
equals "status change keeps generation" 2 jp dbb/nightly .metadata.generation
t_run "get shows the status columns" 0 k get dbb nightly
t_contains "phase, size and verified cells" "Completed   4096   true"
t_run "get -o wide shows the priority-1 column" 0 k get dbb nightly -o wide
t_contains "SCHEDULE column" "SCHEDULE"
t_contains "schedule cell" "daily"
t_run "the main endpoint ignores status" 0 k patch dbb nightly --type=merge -p '{"status":{"phase":"Failed"}}'
equals "phase unchanged" Completed jp dbb/nightly .status.phase
t_run "get -o json" 0 k get dbb nightly -o json
t_contains "json kind" '"kind": "DatabaseBackup"'
t_run "get -o yaml" 0 k get dbb nightly -o yaml
t_contains "yaml apiVersion" "apiVersion: lifeboat.dev/v1alpha1"
t_run "get pods shows the built-in table" 0 k get namespaces
t_contains "namespaces table" "kube-system"
t_run "get a missing object" 1 k get dbb nosuch
t_contains "NotFound worded" 'Error from server (NotFound): databasebackups.lifeboat.dev "nosuch" not found'

current="label and field selectors"
for spec in "blog1 app=blog" "cache1 app=shop,tier=cache" "plain1 app=shop"; do
	read -r n labels <<<"$spec"
	sed "s/name: nightly/name: $n/" "$TD/backup-nightly.yaml" | k apply -f - >/dev/null
	k label dbb "$n" --overwrite app- tier- >/dev/null 2>&1 || true
	read -r -a pairs <<<"${labels//,/ }"
	k label dbb "$n" --overwrite "${pairs[@]}" >/dev/null
done
equals "-l app=shop" "cache1 nightly plain1 ssa" k get dbb -l app=shop -o 'jsonpath={.items[*].metadata.name}'
equals "-l 'app in (blog)'" "blog1" k get dbb -l 'app in (blog)' -o 'jsonpath={.items[*].metadata.name}'
equals "-l 'tier notin (db),app=shop'" "cache1 plain1 ssa" k get dbb -l 'tier notin (db),app=shop' -o 'jsonpath={.items[*].metadata.name}'
equals "-l tier (exists)" "cache1 nightly" k get dbb -l tier -o 'jsonpath={.items[*].metadata.name}'
equals "-l '!tier'" "blog1 plain1 ssa unknown" k get dbb -l '!tier' -o 'jsonpath={.items[*].metadata.name}'
equals "-l 'tier!=db'" "blog1 cache1 plain1 ssa unknown" k get dbb -l 'tier!=db' -o 'jsonpath={.items[*].metadata.name}'
equals "--field-selector metadata.name" "nightly" k get dbb --field-selector metadata.name=nightly -o 'jsonpath={.items[*].metadata.name}'
t_run "an unsupported field selector is refused" 1 k get dbb --field-selector spec.format=custom
t_contains "field label not supported" "field label not supported: spec.format"
equals "list with --chunk-size pages through all" 6 sh -c "$KC get dbb --chunk-size=2 -o name | wc -l | tr -d ' '"

current="watch with kubectl get -w"
k get dbb nightly -w --output-watch-events >"$WORK/getw.out" 2>&1 &
getw=$!
sleep 1.5
k patch dbb nightly --subresource=status --type=merge -p '{"status":{"phase":"Verifying"}}' >/dev/null
eventually "get -w sees the MODIFIED event" 10 grep -q 'MODIFIED.*Verifying' "$WORK/getw.out"
kill "$getw" 2>/dev/null || true
wait "$getw" 2>/dev/null || true
T_OUT=$(cat "$WORK/getw.out")
if grep -Eq '^ADDED +nightly' "$WORK/getw.out"; then t_pass "get -w printed ADDED"; else t_fail "get -w printed ADDED" "$T_OUT"; fi
if [[ $(grep -n ADDED "$WORK/getw.out" | head -1 | cut -d: -f1) -lt $(grep -n MODIFIED "$WORK/getw.out" | head -1 | cut -d: -f1) ]]; then
	t_pass "ADDED before MODIFIED"
else
	t_fail "ADDED before MODIFIED" "$(cat "$WORK/getw.out")"
fi

current="kubectl wait"
k wait --for=condition=Ready dbb/nightly --timeout=20s >"$WORK/wait.out" 2>&1 &
waitpid=$!
sleep 1
k patch dbb nightly --subresource=status --type=merge \
	-p '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null
if wait "$waitpid"; then t_pass "wait --for=condition=Ready returns after the status patch"; else t_fail "wait --for=condition=Ready returns after the status patch" "$(cat "$WORK/wait.out")"; fi
T_OUT=$(cat "$WORK/wait.out")
t_contains "condition met" "databasebackup.lifeboat.dev/nightly condition met"
k wait --for=delete dbb/blog1 --timeout=20s >"$WORK/waitdel.out" 2>&1 &
waitpid=$!
sleep 1
k delete dbb blog1 --wait=false >/dev/null
if wait "$waitpid"; then t_pass "wait --for=delete returns after the delete"; else t_fail "wait --for=delete returns after the delete" "$(cat "$WORK/waitdel.out")"; fi

current="finalizers"
cat >"$WORK/fin.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata:
  name: fin
  finalizers: [lifeboat.dev/cleanup]
spec:
  database: {host: db, database: shop}
  storage: {s3: {bucket: backups}}
EOF
t_run "create an object with a finalizer" 0 k apply -f "$WORK/fin.yaml"
t_run "delete it without waiting" 0 k delete dbb fin --wait=false
t_contains "kubectl reports deleted" 'databasebackup.lifeboat.dev "fin" deleted'
t_run "the object is still there" 0 k get dbb fin -o 'jsonpath={.metadata.deletionTimestamp}'
ok_if "deletionTimestamp is set" "empty" test -n "$T_OUT"
equals "deletion bumps generation (markAsDeleting)" 2 jp dbb/fin .metadata.generation
t_run "no new finalizer while deleting" 1 k patch dbb fin --type=json -p '[{"op":"add","path":"/metadata/finalizers/-","value":"x.io/other"}]'
t_contains "Forbidden worded" "no new finalizers can be added if the object is being deleted"
t_run "release the finalizer" 0 k patch dbb fin --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
t_run "then the object is gone" 1 k get dbb fin
t_contains "gone" 'databasebackups.lifeboat.dev "fin" not found'

current="garbage collection"
k create configmap owner >/dev/null
owner_uid=$(jp configmap/owner .metadata.uid)
cat >"$WORK/dependent.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: dependent
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: $owner_uid}
stringData: {a: b}
EOF
t_run "create a dependent with an ownerReference" 0 k apply -f "$WORK/dependent.yaml"
t_run "delete the owner" 0 k delete configmap owner
eventually "the dependent is garbage-collected" 5 sh -c "! $KC get secret dependent"
sed 's/name: nightly/name: fg-owner/' "$TD/backup-nightly.yaml" | k apply -f - >/dev/null
fg_uid=$(jp dbb/fg-owner .metadata.uid)
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: fg-dependent
  ownerReferences:
  - {apiVersion: lifeboat.dev/v1alpha1, kind: DatabaseBackup, name: fg-owner, uid: $fg_uid, blockOwnerDeletion: true}
EOF
t_run "foreground deletion of the owner" 0 k delete dbb fg-owner --cascade=foreground --timeout=10s
eventually "foreground: the dependent is gone" 5 sh -c "! $KC get configmap fg-dependent"
t_run "foreground: the owner is gone" 1 k get dbb fg-owner
sed 's/name: nightly/name: orphan-owner/' "$TD/backup-nightly.yaml" | k apply -f - >/dev/null
or_uid=$(jp dbb/orphan-owner .metadata.uid)
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan-dependent
  ownerReferences:
  - {apiVersion: lifeboat.dev/v1alpha1, kind: DatabaseBackup, name: orphan-owner, uid: $or_uid}
EOF
t_run "orphan deletion of the owner" 0 k delete dbb orphan-owner --cascade=orphan --timeout=10s
eventually "orphan: the owner is gone" 5 sh -c "! $KC get dbb orphan-owner"
equals "orphan: the dependent stays without ownerReferences" "" jp configmap/orphan-dependent .metadata.ownerReferences

current="explain"
t_run "explain databasebackup.spec" 0 k explain databasebackup.spec
t_contains "explain lists fields" "compression"
t_contains "explain shows the description" "What to back up, where to, and how."
t_run "explain databasebackup.spec.format" 0 k explain databasebackup.spec.format
t_contains "explain shows a field's description" "custom (pg_dump -Fc) or plain."

current="secrets and namespaces"
cat >"$WORK/secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata: {name: app-db}
stringData:
  uri: postgres://app:s3cret@db/shop
  password: s3cret
EOF
t_run "apply a Secret with stringData" 0 k apply -f "$WORK/secret.yaml"
equals "stringData is merged into data (base64)" "postgres://app:s3cret@db/shop" sh -c "$KC get secret app-db -o jsonpath={.data.uri} | base64 -d"
equals "stringData is not stored" "" jp secret/app-db .stringData
t_run "apply the Secret again (strategic merge patch path)" 0 k apply -f "$WORK/secret.yaml"
t_run "create secret generic (a protobuf body)" 0 k create secret generic lit --from-literal=k=v --from-literal=e=
equals "its data decoded" "v" sh -c "$KC get secret lit -o jsonpath={.data.k} | base64 -d"
t_run "create configmap with labels (a protobuf body)" 0 k create configmap pcm --from-literal=a=1
equals "configmap data decoded" "1" jp configmap/pcm .data.a
t_run "create a namespace with content (a protobuf body)" 0 k create namespace scratch
k -n scratch create configmap c1 >/dev/null
t_run "delete the namespace" 0 k delete namespace scratch --timeout=20s
t_run "its content is gone" 1 k -n scratch get configmap c1
eventually "the namespace is gone" 5 sh -c "! $KC get namespace scratch"
t_run "create in a missing namespace" 1 k -n nowhere create configmap c2
t_contains "namespace not found" 'namespaces "nowhere" not found'

current="Jobs"
cat >"$WORK/job-hi.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: hi}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["/bin/sh", "-c", "echo hi > /dev/termination-log; echo to-the-log; exit 0"]
EOF
t_run "create a Job" 0 k apply -f "$WORK/job-hi.yaml"
t_run "the Job completes" 0 k wait --for=condition=complete job/hi --timeout=30s
equals "terminated.message is the termination log" hi k get pods -l job-name=hi -o 'jsonpath={.items[0].status.containerStatuses[0].state.terminated.message}'
equals "exit code 0, reason Completed" "0 Completed" k get pods -l job-name=hi -o 'jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode} {.items[0].status.containerStatuses[0].state.terminated.reason}'
equals "pod phase Succeeded" Succeeded k get pods -l job-name=hi -o 'jsonpath={.items[0].status.phase}'
equals "job status succeeded=1" 1 jp job/hi .status.succeeded
t_run "kubectl logs job/hi" 0 k logs job/hi
t_contains "the log" "to-the-log"
t_run "get jobs table" 0 k get jobs hi
t_contains "COMPLETIONS column" "Complete   1/1"
cat >"$WORK/job-three.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: three}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "echo exit-three > /dev/termination-log; exit 3"]
EOF
t_run "create a failing Job" 0 k apply -f "$WORK/job-three.yaml"
t_run "the Job fails" 0 k wait --for=condition=failed job/three --timeout=30s
equals "reason BackoffLimitExceeded" BackoffLimitExceeded k get job three -o 'jsonpath={.status.conditions[?(@.type=="Failed")].reason}'
equals "backoffLimit 1 means 2 pods" 2 sh -c "$KC get pods -l job-name=three -o name | wc -l | tr -d ' '"
equals "exit code 3 recorded" "3 3" k get pods -l job-name=three -o 'jsonpath={.items[*].status.containerStatuses[0].state.terminated.exitCode}'
cat >"$WORK/job-slow.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 2
  backoffLimit: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["/bin/sleep", "61.25"]
EOF
t_run "create a Job that outlives its deadline" 0 k apply -f "$WORK/job-slow.yaml"
t_run "it fails" 0 k wait --for=condition=failed job/slow --timeout=20s
equals "reason DeadlineExceeded" DeadlineExceeded k get job slow -o 'jsonpath={.status.conditions[?(@.type=="Failed")].reason}'
eventually "its process was killed" 5 sh -c "! pgrep -f 'sleep 61[.]25'"
k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: tool-config}
data: {LEVEL: "7"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dumps}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF
cat >"$WORK/job-env.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: envjob}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      volumes:
      - {name: creds, secret: {secretName: app-db, items: [{key: password, path: pw}]}}
      - {name: out, persistentVolumeClaim: {claimName: dumps}}
      containers:
      - name: tool
        image: lifeboat/test-tool:1.0
        command: ["tool", "-c", 'printf "%s|%s|%s|%s|%s" "$DB_URI" "$LEVEL" "$(cat /creds/pw)" "$POD_NAME" "$OPTIONAL" > /dev/termination-log; echo dumped > "$OUT_DIR/dump.txt"']
        env:
        - {name: DB_URI, valueFrom: {secretKeyRef: {name: app-db, key: uri}}}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: OUT_DIR, value: /out}
        - {name: OPTIONAL, valueFrom: {secretKeyRef: {name: no-such-secret, key: x, optional: true}}}
        envFrom:
        - configMapRef: {name: tool-config}
        volumeMounts:
        - {name: creds, mountPath: /creds}
        - {name: out, mountPath: /out}
EOF
t_run "a Job with env, secret volume and PVC" 0 k apply -f "$WORK/job-env.yaml"
t_run "it completes" 0 k wait --for=condition=complete job/envjob --timeout=30s
T_OUT=$(k get pods -l job-name=envjob -o 'jsonpath={.items[0].status.containerStatuses[0].state.terminated.message}')
t_contains "secretKeyRef env resolved" "postgres://app:s3cret@db/shop|"
t_contains "envFrom configMap resolved" "|7|"
t_contains "secret volume item mounted" "|s3cret|envjob-"
equals "PVC folder written" dumped cat "$WORK/volumes/default/dumps/dump.txt"
cat >"$WORK/job-onfailure.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: onfailure}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      volumes: [{name: scratch, emptyDir: {}}]
      containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "if [ -e /scratch/flag ]; then exit 0; fi; touch /scratch/flag; exit 1"]
        volumeMounts: [{name: scratch, mountPath: /scratch}]
EOF
t_run "a restartPolicy OnFailure Job that fails once" 0 k apply -f "$WORK/job-onfailure.yaml"
t_run "it completes after a container restart" 0 k wait --for=condition=complete job/onfailure --timeout=30s
equals "one pod, restarted once" "1" k get pods -l job-name=onfailure -o 'jsonpath={.items[*].status.containerStatuses[0].restartCount}'
equals "the earlier run is in lastState" "1" k get pods -l job-name=onfailure -o 'jsonpath={.items[0].status.containerStatuses[0].lastState.terminated.exitCode}'
cat >"$WORK/job-missing.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: missing-secret}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["/bin/true"]
        env:
        - {name: X, valueFrom: {secretKeyRef: {name: not-there, key: x}}}
EOF
k apply -f "$WORK/job-missing.yaml" >/dev/null
eventually "a missing Secret leaves the pod waiting with CreateContainerConfigError" 10 sh -c \
	"$KC get pods -l job-name=missing-secret -o jsonpath='{.items[0].status.containerStatuses[0].state.waiting.reason}' | grep -q CreateContainerConfigError"
t_run "delete a Job in the background" 0 k delete job missing-secret --cascade=background --timeout=10s
eventually "its pods are deleted" 5 sh -c "[ -z \"\$($KC get pods -l job-name=missing-secret -o name)\" ]"

current="resourceVersion semantics"
obj=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups/nightly")
rv=$(printf '%s' "$obj" | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
printf '%s' "$obj" | $PY -c 'import json,sys; o=json.load(sys.stdin); o["spec"]["format"]="plain"; print(json.dumps(o))' >"$WORK/put.json"
T_OUT=$(api -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data @"$WORK/put.json" "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups/nightly")
ok_if "PUT with the current resourceVersion" "HTTP $T_OUT" test "$T_OUT" = 200
T_OUT=$(api -X PUT -H 'Content-Type: application/json' --data @"$WORK/put.json" "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups/nightly")
t_contains "a stale resourceVersion gets 409 Conflict" '"reason":"Conflict"'
t_contains "Conflict worded" 'the object has been modified; please apply your changes to the latest version and try again'
T_OUT=$(api -X PATCH -H 'Content-Type: application/merge-patch+json' --data "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"format\":\"custom\"}}" "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups/nightly")
t_contains "a patch with a stale resourceVersion gets 409" '"code":409'
T_OUT=$(api -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' --data '{}' "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups/nightly")
t_contains "strategic merge patch on a custom resource is 415" '"code":415'
T_OUT=$(api -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}' "$URL/api/v1/namespaces/default/configmaps")
t_contains "generateName makes a name" '"name":"gen-'
T_OUT=$(api -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}' "$URL/api/v1/namespaces/default/configmaps?dryRun=All")
t_contains "dryRun=All answers" '"name":"dry"'
t_run "dryRun=All stores nothing" 1 k get configmap dry

current="watch over HTTP"
rv=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups" | $PY -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
T_OUT=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=true&allowWatchBookmarks=true&resourceVersion=$rv&timeoutSeconds=2")
t_contains "an idle watch gets a BOOKMARK" '"type":"BOOKMARK"'
T_OUT=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=1&fieldSelector=metadata.name%3Dnightly&timeoutSeconds=1")
t_contains "a watch without resourceVersion starts with ADDED" '"type":"ADDED"'
ok_if "fieldSelector narrows the watch to one object" "$T_OUT" test "$(printf '%s\n' "$T_OUT" | grep -c '"type"')" = 1
T_OUT=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
t_contains "sendInitialEvents: the initial objects" '"type":"ADDED"'
t_contains "sendInitialEvents: then the initial-events-end bookmark" '"k8s.io/initial-events-end":"true"'
k label dbb plain1 --overwrite watched=yes >/dev/null
api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=true&labelSelector=watched%3Dyes&timeoutSeconds=3" >"$WORK/leaving.out" 2>&1 &
leaving=$!
sleep 0.5
k label dbb plain1 watched- >/dev/null
wait "$leaving" || true
T_OUT=$(cat "$WORK/leaving.out")
t_contains "an object that stops matching the selector is DELETED for the watch" '"type":"DELETED"'
api "$URL/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30" >"$WORK/dropped.out" 2>&1 &
dropper=$!
sleep 0.5
T_OUT=$(api -X POST "$URL/_lifeboat/drop-watches")
t_contains "drop-watches closes open watches" '"dropped":'
if wait "$dropper"; then t_fail "a dropped watch ends mid-stream" "curl exited 0: $(cat "$WORK/dropped.out")"; else t_pass "a dropped watch ends mid-stream"; fi
k annotate dbb nightly --overwrite touched=before-restart >/dev/null
T_OUT=$(api -X POST "$URL/_lifeboat/restart")
t_contains "restart answers" '"resourceVersion"'
T_OUT=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=true&resourceVersion=$rv&timeoutSeconds=2")
t_contains "after a restart an old resourceVersion gets an ERROR event" '"type":"ERROR"'
t_contains "with code 410" '"code":410'
t_contains "and reason Expired" '"reason":"Expired"'
k patch dbb nightly --type=merge -p '{"metadata":{"labels":{"touched":"yes"}}}' >/dev/null
newrv=$(api -X POST "$URL/_lifeboat/compact" | $PY -c 'import json,sys; print(json.load(sys.stdin)["resourceVersion"])')
T_OUT=$(api "$URL/apis/lifeboat.dev/v1alpha1/namespaces/default/databasebackups?watch=true&resourceVersion=$newrv&timeoutSeconds=1")
if [[ $T_OUT != *'"code":410'* ]]; then t_pass "a watch from the compaction point is accepted"; else t_fail "a watch from the compaction point is accepted" "$T_OUT"; fi

current="faults"
api -X POST --data '{"status":429,"retryAfterSeconds":3,"count":1,"pathRegex":"/api/v1/namespaces/default/configmaps$"}' "$URL/_lifeboat/faults" >/dev/null
T_OUT=$(api -i "$URL/api/v1/namespaces/default/configmaps")
t_contains "an injected 429" "HTTP/1.1 429"
t_contains "with Retry-After" "Retry-After: 3"
t_contains "and a TooManyRequests Status" '"reason":"TooManyRequests"'
T_OUT=$(api -o /dev/null -w '%{http_code}' "$URL/api/v1/namespaces/default/configmaps")
ok_if "count:1 fails only once" "HTTP $T_OUT" test "$T_OUT" = 200
api -X POST --data '{"status":503,"retryAfterSeconds":1,"count":2,"pathRegex":"/configmaps","methods":["GET"]}' "$URL/_lifeboat/faults" >/dev/null
t_run "kubectl (client-go) retries a 503 with Retry-After" 0 k get configmaps
api -X DELETE "$URL/_lifeboat/faults" >/dev/null
api -X POST --data '{"slowMs":600,"pathRegex":"/api/v1/namespaces/default/secrets$"}' "$URL/_lifeboat/faults" >/dev/null
T_OUT=$(api -o /dev/null -w '%{time_total}' "$URL/api/v1/namespaces/default/secrets")
if $PY -c "import sys; sys.exit(0 if float('$T_OUT') >= 0.55 else 1)"; then t_pass "slowMs delays replies"; else t_fail "slowMs delays replies" "took ${T_OUT}s"; fi
api -X DELETE "$URL/_lifeboat/faults" >/dev/null
api -X POST --data '{"status":500,"rate":1.0,"count":1,"pathRegex":"/configmaps","methods":["GET"]}' "$URL/_lifeboat/faults" >/dev/null
t_run "an injected 500 reaches kubectl" 1 k get configmaps
t_contains "as an InternalError" "Internal error occurred: injected fault"
T_OUT=$(api "$URL/_lifeboat/stats")
t_contains "stats count requests" '"requests":'
t_contains "stats count statuses" '"429":'
t_contains "stats count open watches" '"openWatches":'
t_contains "stats count injected faults" '"faultsInjected":'

current="python3-kubernetes"
kill "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
PID=
if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
	start_server tls --tls --require-token --bookmark-interval 1
	t_run "kubectl over TLS with the bearer token" 0 k get namespaces
	T_OUT=$(curl -sS --max-time 5 --cacert <(sed -n 's/^    certificate-authority-data: //p' "$KCFG" | base64 -d) "$URL/api/v1/namespaces" || true)
	t_contains "no token: 401 Unauthorized" '"code":401'
	LIFEBOAT_KUBECONFIG=$KCFG LIFEBOAT_APISERVER_URL=$URL T_SUITE=$T_SUITE timeout 120 /usr/bin/python3 "$here/test_pyclient.py" ||
		t_fail "python client test ran to the end" "exit status $?"
	k apply -f - >/dev/null <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: outlive}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["/bin/sleep", "61.75"]}]
EOF
	t_run "a long Job runs" 0 k wait --for=jsonpath='{.status.active}'=1 job/outlive --timeout=20s
	eventually "its process is there" 5 pgrep -f 'sleep 61[.]75'
	kill -TERM "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	eventually "SIGTERM to the server kills its container processes" 5 sh -c "! pgrep -f 'sleep 61[.]75'"
else
	t_fail "python3-kubernetes available" "install python3-kubernetes (tests/setup-deps.sh)"
fi
current=finished
