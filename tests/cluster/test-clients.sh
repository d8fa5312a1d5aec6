#!/usr/bin/env bash
# tests/cluster/test-clients.sh [DIR]: the clients Lifeboat relies on, proven
# against the real control plane of tests/cluster/up: kubectl 1.32 and 1.33
# (apply client-side and server-side, validation and CEL, printer columns,
# explain, get -w, wait, status subresource, selectors), then once: finalizers,
# the real garbage collector, the namespace controller, RBAC with a
# TokenRequest token, raw HTTP semantics (curl), python3-kubernetes
# (test_pyclient.py, which restarts the apiserver over a compacted etcd for
# 410 Gone) and Helm 3 (testdata/chart-smoke).
#
#   tests/cluster/test-clients.sh DIR   # a running cluster (sources DIR/env)
#   tests/cluster/test-clients.sh       # starts its own in a temp folder and
#                                       # stops it on exit (down --purge)
#
# Every object goes into namespaces named clients-*-<run id>, removed at the
# end, so the suite can run again on the same cluster. Results: tests/lib/t.sh
# lines in $LIFEBOAT_RESULTS (suite "clients"). LIFEBOAT_KEEP=1 keeps the
# work folder (and an own cluster, stopped, with its logs).
# An own cluster always has the node agent: the helm --wait check needs a
# Ready node, and fails without one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export T_SUITE=${T_SUITE:-clients}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
export LIFEBOAT_RESULTS
TD=$here/testdata
PY=/usr/bin/python3 # Debian's, with python3-kubernetes
pyq() { timeout 30 "$PY" "$@"; }
t_begin=$SECONDS
RUN=$(printf '%04x%02x' $RANDOM $((RANDOM % 256)))
WORK=$(mktemp -d /tmp/lifeboat-clients.XXXXXX)
[[ $LIFEBOAT_RESULTS == /dev/null ]] && LIFEBOAT_RESULTS=$WORK/results
touch "$LIFEBOAT_RESULTS"
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
DIR=
OWN=
bg=()
cleanup_ns=()
current=setup

cleanup() {
	local rc=$? p
	trap - EXIT
	[[ $rc -ne 0 && $current != finished ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -z $OWN && -n $DIR && -x ${KC:-} ]]; then
		if [[ ${#cleanup_ns[@]} -gt 0 ]]; then
			"$KC" delete namespace "${cleanup_ns[@]}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
		fi
		# The test CRD (only when it is the fixture): suites after this one on
		# a shared cluster may bring the project's own DatabaseBackup CRD.
		"$KC" delete crd -l lifeboat.dev/test-fixture=true --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
	fi
	if [[ -n $OWN ]]; then
		if [[ -n ${LIFEBOAT_KEEP:-} ]]; then
			timeout 60 "$here/down" "$DIR" >/dev/null 2>&1 || true
		else
			timeout 60 "$here/down" --purge "$DIR" >/dev/null 2>&1 || true
		fi
	fi
	if [[ -n ${LIFEBOAT_KEEP:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	return "$rc"
}
trap cleanup EXIT

# --- the cluster
if [[ -n ${1:-} ]]; then
	DIR=$(cd "$1" && pwd)
	[[ -s $DIR/env ]] || { t_fail "cluster env" "no $DIR/env: not a tests/cluster/up folder"; exit 1; }
else
	OWN=1
	DIR=$WORK/cluster
	export CLUSTER_TTL=${CLUSTER_TTL:-900}
	timeout 600 "$here/up" "$DIR" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; t_fail "start a cluster" "tests/cluster/up failed"; exit 1; }
	grep '^up: a Kubernetes' "$WORK/up.log" || true
fi
# shellcheck disable=SC1091
source "$DIR/env"
PKI=$DIR/pki
export TMPDIR=$WORK

# mk_kubectl NAME BINARY: a kubectl wrapper for the admin kubeconfig with its
# own --cache-dir, every run bounded by timeout (KC_TIMEOUT, default 60 s).
mk_kubectl() {
	printf '#!/bin/sh\nexec timeout -k 5 "${KC_TIMEOUT:-60}" %q --kubeconfig %q --cache-dir %q --request-timeout=30s "$@"\n' \
		"$2" "$KUBECONFIG" "$WORK/cache-$1" >"$WORK/kubectl-$1"
	chmod +x "$WORK/kubectl-$1"
}
k() { "$KC" "$@"; }
kn() { "$KC" -n "$NS" "$@"; }
# (kube-apiserver pretty-prints JSON for a curl User-Agent: another one.)
api() { timeout 30 curl -sS -A lifeboat-clients-test --max-time 20 --cacert "$CLUSTER_CA" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
jp() { kn get "$1" -o "jsonpath={$2}"; }

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
		sleep 0.25
	done
	t_fail "$name" "still false after ${secs}s: $*"
}
# ok_if NAME WHY CMD...: records whether CMD succeeds; WHY explains a failure.
ok_if() {
	local name=$1 why=$2
	shift 2
	if "$@"; then t_pass "$name"; else t_fail "$name" "$why"; fi
}
# start_bg FILE CMD...: runs CMD in the background (output to FILE); BG_PID.
start_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	BG_PID=$!
	bg+=("$BG_PID")
}
# wait_bg NAME: records whether the last start_bg command exited 0.
wait_bg() {
	if wait "$BG_PID"; then t_pass "$1"; else t_fail "$1" "exit $?: $(tail -c 800 "$2")"; fi
}
# managed_by OBJ FIELD: the managers whose fieldsV1 own spec.FIELD.
managed_by() {
	kn get "$1" -o json --show-managed-fields | pyq -c '
import json, sys
o = json.load(sys.stdin)
print(" ".join(sorted(m["manager"] for m in o["metadata"]["managedFields"]
                      if "f:" + sys.argv[1] in m.get("fieldsV1", {}).get("f:spec", {}))))' "$2"
}

# --- kubectl 1.32 and 1.33
declare -A KUBECTL_OF
for v in 1.32 1.33; do
	bin=$("$here/kubectl.sh" "$v") || bin=
	if [[ -n $bin && -x $bin ]]; then
		KUBECTL_OF[$v]=$bin
		mk_kubectl "$v" "$bin"
	else
		t_fail "kubectl $v available" "tests/cluster/kubectl.sh $v found none"
	fi
done
KC=$WORK/kubectl-1.33
[[ -x $KC ]] || KC=$WORK/kubectl-1.32

# core_checks V: the client-version-dependent checks with kubectl V, in a
# namespace of their own.
core_checks() {
	local v=$1 p="kubectl $1" out
	KC=$WORK/kubectl-$v
	NS=clients-${v/./}-$RUN
	cleanup_ns+=("$NS")

	current="$p: version and CRD"
	if [[ $(k get crd databasebackups.lifeboat.dev --ignore-not-found -o 'jsonpath={.metadata.name}/{.metadata.labels.lifeboat\.dev/test-fixture}') == databasebackups.lifeboat.dev/ ]]; then
		t_fail "$p: the cluster has no other DatabaseBackup CRD" "databasebackups.lifeboat.dev exists without the label lifeboat.dev/test-fixture: not overwriting it"
		exit 1
	fi
	t_run "$p: version" 0 k version
	t_contains "$p: client is v$v" "Client Version: v$v."
	t_contains "$p: server is v1.34.4" "Server Version: v1.34.4"
	t_run "$p: apply the DatabaseBackup CRD" 0 k apply -f "$TD/databasebackup-crd.yaml"
	t_matches "$p: CRD created or unchanged" '^customresourcedefinition.apiextensions.k8s.io/databasebackups.lifeboat.dev (created|unchanged|configured)$'
	t_run "$p: wait --for=condition=Established" 0 k wait --for=condition=Established --timeout=30s crd/databasebackups.lifeboat.dev
	t_contains "$p: condition met" "customresourcedefinition.apiextensions.k8s.io/databasebackups.lifeboat.dev condition met"
	t_equals "$p: CRD conditions (no NonStructuralSchema)" "NamesAccepted=True Established=True " \
		k get crd databasebackups.lifeboat.dev -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {end}'
	t_run "$p: the server takes the CRD without a warning (a renamed copy, server dry run)" 0 sh -c \
		"sed 's/lifeboat[.]dev/lifeboat-dryrun.dev/g' '$TD/databasebackup-crd.yaml' | $KC create --dry-run=server --warnings-as-errors -f -"
	eventually "$p: discovery serves lifeboat.dev" 30 sh -c "$KC api-resources --api-group=lifeboat.dev | grep -q dbb"
	t_run "$p: api-resources" 0 k api-resources
	t_matches "$p: api-resources lists jobs" '^jobs +batch/v1 +true +Job$'
	t_matches "$p: api-resources lists leases" '^leases +coordination.k8s.io/v1 +true +Lease$'
	t_run "$p: api-resources -o wide" 0 k api-resources --api-group=lifeboat.dev -o wide
	t_matches "$p: short name dbb, namespaced, kind, category lifeboat" '^databasebackups +dbb +lifeboat.dev/v1alpha1 +true +DatabaseBackup +.*lifeboat'
	k create namespace "$NS" >/dev/null

	current="$p: client-side apply"
	t_run "$p: apply creates" 0 kn apply -f "$TD/backup-nightly.yaml"
	t_contains "$p: created" "databasebackup.lifeboat.dev/nightly created"
	T_OUT=$(jp dbb/nightly '.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration' 2>&1 || true)
	t_contains "$p: last-applied-configuration annotation" '"compression":"zstd:3"'
	t_run "$p: apply again" 0 kn apply -f "$TD/backup-nightly.yaml"
	t_contains "$p: unchanged" "databasebackup.lifeboat.dev/nightly unchanged"
	t_equals "$p: generation starts at 1" 1 jp dbb/nightly .metadata.generation
	t_equals "$p: schema defaults applied" "true 5432 postgresql Retain" jp dbb/nightly '.spec.verify} {.spec.database.port} {.spec.database.engine} {.spec.deletionPolicy'
	sed -e 's/zstd:3/zstd:5/' -e '/prefix:/d' "$TD/backup-nightly.yaml" >"$WORK/nightly-5.yaml"
	t_run "$p: apply an edited copy" 0 kn apply -f "$WORK/nightly-5.yaml"
	t_contains "$p: configured" "databasebackup.lifeboat.dev/nightly configured"
	t_equals "$p: the change is stored" "zstd:5" jp dbb/nightly .spec.compression
	t_equals "$p: a field dropped from the file is removed (3-way merge)" "" jp dbb/nightly .spec.storage.s3.prefix
	T_OUT=$(jp dbb/nightly '.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration' 2>&1 || true)
	t_contains "$p: last-applied-configuration updated" '"compression":"zstd:5"'
	t_equals "$p: a spec change bumps generation to 2" 2 jp dbb/nightly .metadata.generation

	current="$p: server-side apply"
	sed 's/name: nightly/name: ssa/' "$TD/backup-nightly.yaml" >"$WORK/ssa.yaml"
	t_run "$p: apply --server-side creates" 0 kn apply --server-side -f "$WORK/ssa.yaml"
	t_contains "$p: serverside-applied" "databasebackup.lifeboat.dev/ssa serverside-applied"
	t_equals "$p: managedFields: manager kubectl, operation Apply" "kubectl Apply" \
		jp dbb/ssa '.metadata.managedFields[*].manager} {.metadata.managedFields[*].operation'
	t_equals "$p: no last-applied annotation with --server-side" "" \
		jp dbb/ssa '.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration'
	# The other manager's apply configuration: only the fields it cares about,
	# one contested (format) and one with kubectl's value (compression).
	cat >"$WORK/ssa-plain.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: ssa}
spec: {format: plain, compression: "zstd:3"}
EOF
	t_run "$p: another --field-manager changing a field conflicts" 1 kn apply --server-side --field-manager=lifeboat-test -f "$WORK/ssa-plain.yaml"
	t_contains "$p: the conflict names the manager and the field" 'Apply failed with 1 conflict: conflict with "kubectl": .spec.format'
	t_equals "$p: the value is unchanged after the conflict" custom jp dbb/ssa .spec.format
	t_run "$p: --force-conflicts wins" 0 kn apply --server-side --field-manager=lifeboat-test --force-conflicts -f "$WORK/ssa-plain.yaml"
	t_equals "$p: the forced value is stored" plain jp dbb/ssa .spec.format
	t_equals "$p: spec.format now belongs to lifeboat-test alone" lifeboat-test managed_by dbb/ssa format
	t_equals "$p: a field applied with the same value is co-owned" "kubectl lifeboat-test" managed_by dbb/ssa compression
	t_run "$p: the old manager now conflicts in turn" 1 kn apply --server-side -f "$WORK/ssa.yaml"
	t_contains "$p: conflict with lifeboat-test" 'conflict with "lifeboat-test"'
	grep -v -e 'tier: db' -e 'format:' "$WORK/ssa.yaml" >"$WORK/ssa-less.yaml"
	t_run "$p: apply --server-side without a label and the contested field" 0 kn apply --server-side -f "$WORK/ssa-less.yaml"
	t_equals "$p: the label the manager stopped applying is removed" "" jp dbb/ssa .metadata.labels.tier
	t_equals "$p: the field another manager owns stays" plain jp dbb/ssa .spec.format
	t_run "$p: apply --server-side over a client-side-applied object" 0 kn apply --server-side -f "$WORK/nightly-5.yaml"
	t_contains "$p: upgraded to server-side" "databasebackup.lifeboat.dev/nightly serverside-applied"
	kn patch dbb ssa --type=merge -p '{"spec":{"compression":"gzip:9"}}' >/dev/null
	t_run "$p: a field changed by kubectl patch (an Update manager) conflicts" 1 kn apply --server-side -f "$WORK/ssa-less.yaml"
	t_contains "$p: conflict with kubectl-patch" 'conflict with "kubectl-patch" using lifeboat.dev/v1alpha1: .spec.compression'
	t_run "$p: --force-conflicts takes it back" 0 kn apply --server-side --force-conflicts -f "$WORK/ssa-less.yaml"
	t_equals "$p: the applied value is back" "zstd:3" jp dbb/ssa .spec.compression

	current="$p: validation"
	t_run "$p: an enum violation is refused" 1 kn apply -f "$TD/backup-bad.yaml"
	t_contains "$p: names the object" '"bad" is invalid'
	t_contains "$p: names spec.format and the allowed values" 'spec.format: Unsupported value: "zip": supported values: "custom", "plain"'
	cat >"$WORK/two-backends.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: two-backends}
spec:
  database: {host: db, database: shop}
  storage: {s3: {bucket: backups}, volume: {claimName: dumps}}
EOF
	t_run "$p: a CEL rule violation (two storage backends) is refused" 1 kn apply -f "$WORK/two-backends.yaml"
	t_contains "$p: with the rule's message" 'spec.storage: Invalid value: "object": exactly one of s3, azure, gcs, volume must be set'
	cat >"$WORK/cel2.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: cel2}
spec:
  database: {host: db, connectionSecretRef: {name: a, key: b}, database: shop}
  storage: {s3: {bucket: backups}, volume: {claimName: x}}
EOF
	t_run "$p: two CEL violations" 1 kn apply -f "$WORK/cel2.yaml"
	t_contains "$p: both rules reported (database)" 'spec.database: Invalid value: "object": set exactly one of connectionSecretRef and host'
	t_contains "$p: both rules reported (storage)" 'exactly one of s3, azure, gcs, volume must be set'
	cat >"$WORK/missing.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: missing}
spec:
  database: {host: db, database: shop}
EOF
	t_run "$p: a missing required field is refused" 1 kn apply -f "$WORK/missing.yaml"
	t_contains "$p: Required value" "spec.storage: Required value"
	cat >"$WORK/wrongtype.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: wrongtype}
spec:
  database: {host: db, database: shop, port: "5432"}
  storage: {s3: {bucket: backups}}
EOF
	t_run "$p: a wrong type is refused" 1 kn apply -f "$WORK/wrongtype.yaml"
	t_contains "$p: type error" 'spec.database.port: Invalid value: "string": spec.database.port in body must be of type integer: "string"'
	cat >"$WORK/pattern.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: pattern}
spec:
  database: {host: db, database: shop, port: 70000}
  storage: {s3: {bucket: backups}}
  compression: lz4
EOF
	t_run "$p: pattern, maximum and CEL violations together" 1 kn apply -f "$WORK/pattern.yaml"
	t_contains "$p: pattern" "spec.compression in body should match '^(zstd|gzip)(:[0-9]+)?\$|^none\$'"
	t_contains "$p: maximum" "spec.database.port in body should be less than or equal to 65535"
	t_contains "$p: the CEL rule on spec as well" "compression must be zstd[:level], gzip[:level] or none"
	cat >"$WORK/unknown.yaml" <<'EOF'
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: unknown}
spec:
  database: {host: db, database: shop}
  storage: {s3: {bucket: backups}}
  bogus: 1
EOF
	t_run "$p: an unknown field is refused (fieldValidation=Strict)" 1 kn apply -f "$WORK/unknown.yaml"
	t_contains "$p: strict decoding error" 'strict decoding error: unknown field "spec.bogus"'
	t_run "$p: --validate=false: accepted" 0 kn apply --validate=false -f "$WORK/unknown.yaml"
	t_equals "$p: and the unknown field pruned" "" jp dbb/unknown .spec.bogus
	t_run "$p: --validate=warn: accepted" 0 kn apply --validate=warn -f "$WORK/unknown.yaml"
	t_contains "$p: with a warning" 'Warning: unknown field "spec.bogus"'
	t_run "$p: a bad label value is refused by the server" 1 kn patch dbb unknown --type=merge -p '{"metadata":{"labels":{"bad":"no spaces allowed"}}}'
	t_contains "$p: label error" 'metadata.labels: Invalid value: "no spaces allowed": a valid label must be an empty string'
	# bad_crd RULE: a CRD (server dry run) whose one CEL rule is RULE.
	bad_crd() {
		k create --dry-run=server -f - <<EOF
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
        - rule: "$1"
        properties:
          spec:
            type: object
            properties:
              items: {type: array, items: {type: string}}
EOF
	}
	t_run "$p: a CRD whose CEL rule does not compile is refused" 1 bad_crd 'self.spec.nosuch == 1'
	t_contains "$p: compilation failed, naming the rule" "x-kubernetes-validations[0].rule: Invalid value"
	t_contains "$p: and the undefined field" "undefined field 'nosuch'"
	t_run "$p: a CRD whose CEL rule is too costly is refused" 1 bad_crd 'self.spec.items.all(x, self.spec.items.all(y, x.matches(y)))'
	t_contains "$p: the cost budget" "estimated rule cost exceeds budget by factor of more than 100x"

	current="$p: get, tables, explain"
	t_run "$p: get dbb" 0 kn get dbb
	t_matches "$p: printer columns" '^NAME +PHASE +SIZE +VERIFIED +AGE$'
	t_run "$p: get databasebackups.lifeboat.dev" 0 kn get databasebackups.lifeboat.dev nightly
	t_matches "$p: the full resource name works" '^nightly +'
	t_run "$p: get lifeboat (category)" 0 kn get lifeboat
	t_matches "$p: the category lists DatabaseBackups" '^nightly +'
	t_matches "$p: with their printer columns" '^NAME +PHASE +SIZE +VERIFIED +AGE$'
	start_bg "$WORK/wait-phase-$v.out" kn wait --for=jsonpath='{.status.phase}'=Completed dbb/nightly --timeout=30s
	sleep 1
	t_run "$p: status patch through the status subresource" 0 kn patch dbb nightly --subresource=status --type=merge \
		-p '{"status":{"phase":"Completed","artifact":{"size":4096},"verification":{"verified":true},"scheduleRef":{"name":"daily"}}}'
	wait_bg "$p: wait --for=jsonpath={.status.phase}=Completed returns after it" "$WORK/wait-phase-$v.out"
	T_OUT=$(cat "$WORK/wait-phase-$v.out")
	t_contains "$p: condition met (jsonpath)" "databasebackup.lifeboat.dev/nightly condition met"
	t_run "$p: get dbb nightly" 0 kn get dbb nightly
	t_matches "$p: phase, size and verified cells" '^nightly +Completed +4096 +true +[0-9]+[smh]'
	t_run "$p: get -o wide" 0 kn get dbb nightly -o wide
	t_matches "$p: the priority-1 Schedule column" '^NAME +PHASE +SIZE +VERIFIED +SCHEDULE +AGE$'
	t_matches "$p: schedule cell" '^nightly +Completed +4096 +true +daily +'
	t_equals "$p: -o jsonpath over a list" "nightly ssa unknown" kn get dbb -o 'jsonpath={.items[*].metadata.name}'
	t_equals "$p: -o jsonpath with a filter and a range" "nightly=Completed;" \
		kn get dbb -o 'jsonpath={range .items[?(@.status.phase=="Completed")]}{.metadata.name}={.status.phase};{end}'
	t_run "$p: -o custom-columns" 0 kn get dbb nightly -o 'custom-columns=N:.metadata.name,C:.spec.compression'
	t_matches "$p: custom-columns cells" '^nightly +zstd:5$'
	t_run "$p: get -o json" 0 kn get dbb nightly -o json
	t_contains "$p: json kind" '"kind": "DatabaseBackup"'
	t_run "$p: get -o yaml" 0 kn get dbb nightly -o yaml
	t_contains "$p: yaml apiVersion" "apiVersion: lifeboat.dev/v1alpha1"
	t_run "$p: a missing object" 1 kn get dbb nosuch
	t_contains "$p: NotFound worded" 'Error from server (NotFound): databasebackups.lifeboat.dev "nosuch" not found'
	t_run "$p: explain databasebackup.spec" 0 k explain databasebackup.spec
	t_contains "$p: explain: spec's description" "What to back up, where to, and how."
	t_matches "$p: explain: spec's fields" '^  compression[[:space:]]+<string>'
	t_run "$p: explain databasebackup.spec.storage" 0 k explain databasebackup.spec.storage
	t_contains "$p: explain: the description" "Where the dump goes; exactly one backend."
	t_matches "$p: explain: the fields" '^  volume[[:space:]]+<Object>'
	t_run "$p: explain databasebackup.spec.format" 0 k explain databasebackup.spec.format
	t_contains "$p: explain: a field's description" "custom (pg_dump -Fc) or plain."
	t_contains "$p: explain: the enum" "custom"

	current="$p: generation and status"
	t_equals "$p: a status change keeps generation" 2 jp dbb/nightly .metadata.generation
	k -n "$NS" label dbb nightly --overwrite keep=generation >/dev/null
	t_equals "$p: a label change keeps generation" 2 jp dbb/nightly .metadata.generation
	t_run "$p: a status patch via the main endpoint is accepted" 0 kn patch dbb nightly --type=merge -p '{"status":{"phase":"Failed"}}'
	t_contains "$p: and changes nothing" "patched (no change)"
	t_equals "$p: status unchanged" Completed jp dbb/nightly .status.phase
	kn patch dbb nightly --type=merge -p '{"spec":{"verify":false}}' >/dev/null
	t_equals "$p: a spec patch bumps generation" 3 jp dbb/nightly .metadata.generation
	t_run "$p: a spec change via the status subresource is ignored" 0 kn patch dbb nightly --subresource=status --type=merge -p '{"spec":{"verify":true}}'
	t_equals "$p: spec unchanged, generation unchanged" "false 3" jp dbb/nightly '.spec.verify} {.metadata.generation'

	current="$p: selectors"
	for spec in "blog1 app=blog" "cache1 app=shop,tier=cache" "plain1 app=shop"; do
		read -r n labels <<<"$spec"
		sed "s/name: nightly/name: $n/" "$TD/backup-nightly.yaml" | kn apply -f - >/dev/null
		kn label dbb "$n" app- tier- >/dev/null
		read -r -a pairs <<<"${labels//,/ }"
		kn label dbb "$n" --overwrite "${pairs[@]}" >/dev/null
	done
	local names='-o=jsonpath={.items[*].metadata.name}'
	t_equals "$p: -l app=shop" "cache1 nightly plain1 ssa" kn get dbb -l app=shop "$names"
	t_equals "$p: -l 'app in (blog)'" "blog1" kn get dbb -l 'app in (blog)' "$names"
	t_equals "$p: -l 'tier notin (db),app=shop'" "cache1 plain1 ssa" kn get dbb -l 'tier notin (db),app=shop' "$names"
	t_equals "$p: -l tier (exists)" "cache1 nightly" kn get dbb -l tier "$names"
	t_equals "$p: -l '!tier'" "blog1 plain1 ssa unknown" kn get dbb -l '!tier' "$names"
	t_equals "$p: -l 'tier!=db'" "blog1 cache1 plain1 ssa unknown" kn get dbb -l 'tier!=db' "$names"
	t_equals "$p: --field-selector metadata.name" "nightly" kn get dbb --field-selector metadata.name=nightly "$names"
	t_run "$p: an unsupported field selector is refused" 1 kn get dbb --field-selector spec.format=custom
	t_contains "$p: field label not supported" 'field label not supported: spec.format'
	t_equals "$p: --chunk-size=2 pages through all six" 6 sh -c "$KC -n $NS get dbb --chunk-size=2 -o name | wc -l | tr -d ' '"

	current="$p: get -w"
	out=$WORK/getw-$v.out
	KC_TIMEOUT=20 start_bg "$out" kn get dbb nightly -w --output-watch-events
	eventually "$p: get -w prints ADDED" 10 grep -Eq '^ADDED +nightly' "$out"
	kn label dbb nightly --overwrite watched=yes >/dev/null
	eventually "$p: get -w prints MODIFIED after a label change" 10 grep -Eq '^MODIFIED +nightly' "$out"
	kill "$BG_PID" 2>/dev/null || true
	wait "$BG_PID" 2>/dev/null || true
	if [[ $(grep -nE '^ADDED' "$out" | head -1 | cut -d: -f1) -lt $(grep -nE '^MODIFIED' "$out" | head -1 | cut -d: -f1) ]] 2>/dev/null; then
		t_pass "$p: ADDED before MODIFIED"
	else
		t_fail "$p: ADDED before MODIFIED" "$(cat "$out")"
	fi

	current="$p: wait"
	start_bg "$WORK/wait-cond-$v.out" kn wait --for=condition=Ready dbb/nightly --timeout=30s
	sleep 1
	kn patch dbb nightly --subresource=status --type=merge \
		-p '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Uploaded","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null
	wait_bg "$p: wait --for=condition=Ready returns after the condition is set" "$WORK/wait-cond-$v.out"
	T_OUT=$(cat "$WORK/wait-cond-$v.out")
	t_contains "$p: condition met (Ready)" "databasebackup.lifeboat.dev/nightly condition met"
	t_run "$p: wait --for=condition=Ready=False times out while it is True" 1 kn wait --for=condition=Ready=False dbb/nightly --timeout=1s
	t_contains "$p: timed out" "timed out waiting for the condition"
	start_bg "$WORK/wait-del-$v.out" kn wait --for=delete dbb/blog1 --timeout=30s
	sleep 1
	kn delete dbb blog1 --wait=false >/dev/null
	wait_bg "$p: wait --for=delete returns after the delete" "$WORK/wait-del-$v.out"
	t_run "$p: wait --for=delete on a missing object returns at once" 0 kn wait --for=delete dbb/blog1 --timeout=5s
}

for v in 1.32 1.33; do
	[[ -n ${KUBECTL_OF[$v]:-} ]] && core_checks "$v"
done

# The rest once, with kubectl 1.33 (1.32 when 1.33 is missing), in its namespace.
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
t_run "create an object with a finalizer" 0 kn apply -f "$WORK/fin.yaml"
t_run "delete it without waiting" 0 kn delete dbb fin --wait=false
t_contains "kubectl reports deleted" 'databasebackup.lifeboat.dev "fin" deleted'
t_equals "the object is still there, deletionTimestamp set, grace 0" "set 0 lifeboat.dev/cleanup" \
	sh -c "$KC -n $NS get dbb fin -o jsonpath='{.metadata.deletionTimestamp}' | sed 's/^20..-..-..T.*Z\$/set/'; $KC -n $NS get dbb fin -o jsonpath=' {.metadata.deletionGracePeriodSeconds} {.metadata.finalizers[*]}'"
t_equals "setting deletionTimestamp bumps generation" 2 jp dbb/fin .metadata.generation
t_run "no new finalizer while deleting" 1 kn patch dbb fin --type=json -p '[{"op":"add","path":"/metadata/finalizers/-","value":"x.io/other"}]'
t_contains "Forbidden worded" "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted"
t_run "other changes are still allowed while deleting" 0 kn label dbb fin during=deletion
t_run "wait --for=delete times out while the finalizer holds it" 1 kn wait --for=delete dbb/fin --timeout=2s
t_run "release the finalizer" 0 kn patch dbb fin --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
t_run "then the object is gone" 1 kn get dbb fin
t_contains "gone" 'databasebackups.lifeboat.dev "fin" not found'

current="garbage collection"
# owner_ref NAME [BLOCK]: an ownerReference to DatabaseBackup NAME.
owner_ref() {
	printf '{apiVersion: lifeboat.dev/v1alpha1, kind: DatabaseBackup, name: %s, uid: %s%s}' \
		"$1" "$(jp "dbb/$1" .metadata.uid)" "${2:+, blockOwnerDeletion: true}"
}
for o in gc-owner fg-owner orphan-owner; do
	sed "s/name: nightly/name: $o/" "$TD/backup-nightly.yaml" | kn apply -f - >/dev/null
done
kn apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-dependent
  ownerReferences: [$(owner_ref gc-owner)]
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: fg-dependent
  finalizers: [lifeboat.dev/hold]
  ownerReferences: [$(owner_ref fg-owner block)]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan-dependent
  ownerReferences: [$(owner_ref orphan-owner)]
EOF
t_run "delete an owner (background)" 0 kn delete dbb gc-owner
# The garbage collector learns new resources (the CRD) by discovery every 30 s.
eventually "the garbage collector deletes the ConfigMap it owned" 60 sh -c "! $KC -n $NS get configmap gc-dependent"
t_run "foreground deletion of an owner" 0 kn delete dbb fg-owner --cascade=foreground --wait=false
t_equals "the owner waits with the foregroundDeletion finalizer" foregroundDeletion jp dbb/fg-owner '.metadata.finalizers[*]'
eventually "the garbage collector deletes the blocking dependent" 60 sh -c \
	"$KC -n $NS get configmap fg-dependent -o jsonpath='{.metadata.deletionTimestamp}' | grep -q ."
sleep 1
t_run "the owner is still there while its blockOwnerDeletion dependent is" 0 kn get dbb fg-owner
kn patch configmap fg-dependent --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
eventually "the dependent goes" 30 sh -c "! $KC -n $NS get configmap fg-dependent"
eventually "then the owner goes" 30 sh -c "! $KC -n $NS get dbb fg-owner"
k -n "$NS" create configmap core-owner >/dev/null
kn apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: core-dependent
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: core-owner, uid: $(jp configmap/core-owner .metadata.uid)}]
stringData: {a: b}
EOF
t_run "delete a ConfigMap that owns a Secret" 0 kn delete configmap core-owner
eventually "the garbage collector deletes the Secret" 30 sh -c "! $KC -n $NS get secret core-dependent"
cat >"$WORK/job.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: sleeper}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
EOF
t_run "create a Job" 0 kn apply -f "$WORK/job.yaml"
eventually "the job controller creates its pod" 30 sh -c "$KC -n $NS get pods -l job-name=sleeper -o name | grep -q ."
t_equals "the pod is controlled by the Job" "Job sleeper true" kn get pods -l job-name=sleeper \
	-o 'jsonpath={.items[0].metadata.ownerReferences[0].kind} {.items[0].metadata.ownerReferences[0].name} {.items[0].metadata.ownerReferences[0].controller}'
t_run "delete the Job (background)" 0 kn delete job sleeper --cascade=background --wait=false
eventually "the garbage collector deletes its pod" 60 sh -c "[ -z \"\$($KC -n $NS get pods -l job-name=sleeper -o name)\" ]"
t_run "orphan deletion of an owner" 0 kn delete dbb orphan-owner --cascade=orphan
eventually "orphan: the owner is gone" 30 sh -c "! $KC -n $NS get dbb orphan-owner"
eventually "orphan: the dependent stays, without ownerReferences" 30 sh -c \
	"[ -z \"\$($KC -n $NS get configmap orphan-dependent -o jsonpath='{.metadata.ownerReferences}')\" ]"

current="namespaces"
NSD=clients-ns-$RUN
cleanup_ns+=("$NSD")
t_run "create a namespace" 0 k create namespace "$NSD"
sed 's/^  name: nightly/  name: held\n  finalizers: [lifeboat.dev\/cleanup]/' "$TD/backup-nightly.yaml" | k -n "$NSD" apply -f - >/dev/null
k -n "$NSD" apply -f "$TD/backup-nightly.yaml" >/dev/null
k -n "$NSD" create configmap c1 --from-literal=a=1 >/dev/null
t_run "delete the namespace without waiting" 0 k delete namespace "$NSD" --wait=false
eventually "the namespace controller deletes its content" 30 sh -c "! $KC -n $NSD get dbb nightly && ! $KC -n $NSD get configmap c1"
t_equals "the namespace is Terminating while a finalizer holds an object" Terminating k get namespace "$NSD" -o 'jsonpath={.status.phase}'
t_run "no new content in a terminating namespace" 1 k -n "$NSD" create configmap c2
t_contains "Forbidden worded" "unable to create new content in namespace $NSD because it is being terminated"
eventually "the namespace reports the finalizer that holds it" 30 sh -c \
	"$KC get namespace $NSD -o jsonpath='{.status.conditions[?(@.type==\"NamespaceFinalizersRemaining\")].message}' | grep -q lifeboat.dev/cleanup"
k -n "$NSD" patch dbb held --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
t_run "the namespace delete finishes (wait --for=delete)" 0 k wait --for=delete "namespace/$NSD" --timeout=60s
t_run "the namespace is gone" 1 k get namespace "$NSD"
t_run "its objects are gone" 1 k -n "$NSD" get dbb held
t_run "create in a missing namespace" 1 k -n "clients-nowhere-$RUN" create configmap c2
t_contains "namespace not found" "namespaces \"clients-nowhere-$RUN\" not found"

current="secrets and configmaps"
cat >"$WORK/secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata: {name: app-db}
stringData:
  uri: postgres://app:s3cret@db/shop
  password: s3cret
EOF
t_run "apply a Secret with stringData" 0 kn apply -f "$WORK/secret.yaml"
t_equals "stringData is merged into data (base64)" "postgres://app:s3cret@db/shop" sh -c "$KC -n $NS get secret app-db -o jsonpath={.data.uri} | base64 -d"
t_equals "stringData is not stored" "" jp secret/app-db .stringData
t_run "apply the Secret again (strategic merge patch)" 0 kn apply -f "$WORK/secret.yaml"
t_run "create secret generic (a protobuf body)" 0 kn create secret generic lit --from-literal=k=v --from-literal=e=
t_equals "its data" "v" sh -c "$KC -n $NS get secret lit -o jsonpath={.data.k} | base64 -d"
t_run "create configmap (a protobuf body)" 0 kn create configmap pcm --from-literal=a=1
t_equals "configmap data" "1" jp configmap/pcm .data.a

current="RBAC"
t_run "create a ServiceAccount" 0 kn create serviceaccount dbb-reader
t_run "a Role allowing only get and list on databasebackups" 0 kn create role dbb-reader --verb=get,list --resource=databasebackups.lifeboat.dev
t_run "bound to the ServiceAccount" 0 kn create rolebinding dbb-reader --role=dbb-reader --serviceaccount="$NS:dbb-reader"
t_run "kubectl create token (TokenRequest API) --duration=10m" 0 kn create token dbb-reader --duration=10m
TOKEN=$T_OUT
claims=$(cut -d. -f2 <<<"$TOKEN" | tr '_-' '/+' | pyq -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.b64decode(s+"="*(-len(s)%4)).decode())' 2>/dev/null || true)
T_OUT=$claims
t_contains "the token names the ServiceAccount" "\"sub\":\"system:serviceaccount:$NS:dbb-reader\""
ok_if "the token expires in 10 minutes" "claims $claims" pyq -c 'import json,sys; c=json.loads(sys.argv[1]); sys.exit(0 if c["exp"]-c["iat"]==600 else 1)' "$claims"
: >"$WORK/empty.kubeconfig"
USER_SA="system:serviceaccount:$NS:dbb-reader"
for v in 1.32 1.33; do
	[[ -n ${KUBECTL_OF[$v]:-} ]] || continue
	# The token alone: an empty kubeconfig, so no client certificate is sent.
	kt() {
		env -u KUBECONFIG timeout 60 "${KUBECTL_OF[$v]}" --kubeconfig "$WORK/empty.kubeconfig" --cache-dir "$WORK/cache-token-$v" \
			--server "$APISERVER_URL" --certificate-authority "$CLUSTER_CA" --token "$TOKEN" --request-timeout=30s -n "$NS" "$@"
	}
	p="kubectl $v with the token"
	t_run "$p: auth whoami" 0 kt auth whoami
	t_matches "$p: the ServiceAccount's user" "^Username +$USER_SA\$"
	t_run "$p: can list" 0 kt get dbb
	t_contains "$p: the list" "nightly"
	t_run "$p: can get" 0 kt get dbb nightly -o name
	sed 's/name: nightly/name: by-reader/' "$TD/backup-nightly.yaml" >"$WORK/by-reader.yaml"
	t_run "$p: create is Forbidden" 1 kt create -f "$WORK/by-reader.yaml"
	t_contains "$p: the message names the user, the verb and the resource" \
		"Error from server (Forbidden): error when creating \"$WORK/by-reader.yaml\": databasebackups.lifeboat.dev is forbidden: User \"$USER_SA\" cannot create resource \"databasebackups\" in API group \"lifeboat.dev\" in the namespace \"$NS\""
	t_run "$p: delete is Forbidden" 1 kt delete dbb nightly
	t_contains "$p: delete names the verb" "User \"$USER_SA\" cannot delete resource \"databasebackups\""
	t_run "$p: listing in another namespace is Forbidden" 1 kt -n default get dbb
	t_contains "$p: the namespace is named" 'in the namespace "default"'
	t_run "$p: auth can-i list" 0 kt auth can-i list databasebackups.lifeboat.dev
	t_contains "$p: yes" "yes"
	t_run "$p: auth can-i create" 1 kt auth can-i create databasebackups.lifeboat.dev
	t_contains "$p: no" "no"
	t_run "$p: auth can-i watch (not granted)" 1 kt auth can-i watch databasebackups.lifeboat.dev
done
t_run "admin: auth can-i --as the ServiceAccount agrees (get)" 0 kn auth can-i get databasebackups.lifeboat.dev --as="$USER_SA"
t_run "admin: auth can-i --as the ServiceAccount agrees (create)" 1 kn auth can-i create databasebackups.lifeboat.dev --as="$USER_SA"
T_OUT=$(timeout 30 curl -sS -A lifeboat-clients-test --max-time 20 --cacert "$CLUSTER_CA" "$APISERVER_URL/api/v1/namespaces" || true)
t_contains "no credentials: 403 for system:anonymous" 'User \"system:anonymous\" cannot list resource \"namespaces\"'
T_OUT=$(timeout 30 curl -sS -A lifeboat-clients-test --max-time 20 --cacert "$CLUSTER_CA" -H "Authorization: Bearer not-a-token" "$APISERVER_URL/api/v1/namespaces" || true)
t_contains "a bad token: 401 Unauthorized" '"code":401'

current="HTTP semantics (curl)"
U=$APISERVER_URL/apis/lifeboat.dev/v1alpha1/namespaces/$NS/databasebackups
obj=$(api "$U/nightly")
rv=$(printf '%s' "$obj" | pyq -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
printf '%s' "$obj" | pyq -c 'import json,sys; o=json.load(sys.stdin); o["spec"]["format"]="plain"; print(json.dumps(o))' >"$WORK/put.json"
T_OUT=$(api -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data @"$WORK/put.json" "$U/nightly")
ok_if "PUT with the current resourceVersion: 200" "HTTP $T_OUT" test "$T_OUT" = 200
T_OUT=$(api -X PUT -H 'Content-Type: application/json' --data @"$WORK/put.json" "$U/nightly")
t_contains "a stale resourceVersion: 409 Conflict" '"reason":"Conflict"'
t_contains "Conflict worded" 'the object has been modified; please apply your changes to the latest version and try again'
T_OUT=$(api -X PATCH -H 'Content-Type: application/merge-patch+json' --data "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"format\":\"custom\"}}" "$U/nightly")
t_contains "a patch with a stale resourceVersion: 409" '"code":409'
T_OUT=$(api -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' --data '{}' "$U/nightly")
t_contains "strategic merge patch on a custom resource: 415" '"code":415'
T_OUT=$(api -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}' "$APISERVER_URL/api/v1/namespaces/$NS/configmaps")
t_contains "generateName makes a name" '"name":"gen-'
T_OUT=$(api -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}' "$APISERVER_URL/api/v1/namespaces/$NS/configmaps?dryRun=All")
t_contains "dryRun=All answers with the object" '"name":"dry"'
t_run "dryRun=All stores nothing" 1 kn get configmap dry
T_OUT=$(api -H 'Accept: application/json;as=Table;g=meta.k8s.io;v=v1' "$U")
t_contains "a Table has the printer columns" '{"name":"Verified","type":"boolean","format":"","description":"Custom resource definition column (in JSONPath format): .status.verification.verified","priority":0}'
t_contains "and typed cells" '"cells":["nightly","Completed",4096,true,'
rv=$(api "$U" | pyq -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
(sleep 0.5 && kn annotate dbb nightly --overwrite bumped=yes >/dev/null) &
bg+=("$!")
T_OUT=$(api -N "$U?watch=true&allowWatchBookmarks=true&resourceVersion=$rv&timeoutSeconds=4")
t_contains "a watch gets the change" '"type":"MODIFIED"'
t_contains "and a BOOKMARK before its timeout (allowWatchBookmarks)" '"type":"BOOKMARK"'
T_OUT=$(api "$U?watch=1&fieldSelector=metadata.name%3Dnightly&timeoutSeconds=1")
t_contains "a watch without resourceVersion starts with ADDED" '"type":"ADDED"'
ok_if "fieldSelector narrows the watch to one object" "$T_OUT" test "$(grep -c '"type"' <<<"$T_OUT")" = 1
T_OUT=$(api "$U?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=2")
t_contains "sendInitialEvents: the initial objects" '"type":"ADDED"'
t_contains "sendInitialEvents: then the initial-events-end bookmark" '"k8s.io/initial-events-end":"true"'
kn label dbb plain1 --overwrite watched=yes >/dev/null
start_bg "$WORK/leaving.out" api -N "$U?watch=true&labelSelector=watched%3Dyes&timeoutSeconds=3"
sleep 0.5
kn label dbb plain1 watched- >/dev/null
wait "$BG_PID" || true
T_OUT=$(cat "$WORK/leaving.out")
t_contains "an object that stops matching the selector is DELETED for the watch" '"type":"DELETED"'
T_OUT=$(api "$U?limit=2")
t_contains "limit: a continue token" '"continue":"'
t_contains "limit: remainingItemCount" '"remainingItemCount":'

current="faults through tests/cluster/faultproxy.py"
start_bg "$WORK/proxy.log" timeout 300 "$PY" "$here/faultproxy.py" --upstream "$APISERVER_URL" --ca "$CLUSTER_CA" \
	--cert "$PKI/apiserver.crt" --key "$PKI/apiserver.key" --upstream-cert "$PKI/admin.crt" --upstream-key "$PKI/admin.key" \
	--port-file "$WORK/proxy.port"
proxy_pid=$BG_PID
for _ in $(seq 100); do [[ -s $WORK/proxy.port ]] && break; sleep 0.1; done
PROXY=https://127.0.0.1:$(cat "$WORK/proxy.port" 2>/dev/null)
kp() { "$KC" --server "$PROXY" -n "$NS" "$@"; }
fault() { timeout 10 curl -sS -A lifeboat-clients-test --cacert "$CLUSTER_CA" -X "$1" --data "${2:-}" "$PROXY/_lifeboat/faults" >/dev/null; }
t_run "kubectl through the fault proxy" 0 kp get dbb nightly -o name
fault POST '{"status":503,"retryAfterSeconds":1,"count":2,"pathRegex":"/databasebackups","methods":["GET"]}'
t_run "kubectl (client-go) retries a 503 with Retry-After" 0 kp get dbb nightly -o name
fault DELETE
fault POST '{"status":429,"retryAfterSeconds":1,"count":1,"pathRegex":"/databasebackups","methods":["GET"]}'
t_run "kubectl retries a 429 with Retry-After" 0 kp get dbb nightly -o name
fault DELETE
fault POST '{"status":500,"count":1,"pathRegex":"/databasebackups","methods":["GET"]}'
t_run "an injected 500 reaches kubectl" 1 kp get dbb nightly -o name
t_contains "as an InternalError" "Internal error occurred: injected fault"
fault DELETE
kill "$proxy_pid" 2>/dev/null || true
wait "$proxy_pid" 2>/dev/null || true

current="python3-kubernetes"
PYNS=clients-py-$RUN
cleanup_ns+=("$PYNS")
k create namespace "$PYNS" >/dev/null
rv_before=$(api "$APISERVER_URL/api/v1/namespaces/$NS/configmaps" | pyq -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
kn create configmap after-rv >/dev/null
# A watch open across the restart (its own timeout is far away).
start_bg "$WORK/long-watch.out" sh -c 'timeout 250 curl -sS -N -A lifeboat-clients-test --cacert "$1" --cert "$2" --key "$3" "$4"; echo "curl-exit=$?"' \
	sh "$CLUSTER_CA" "$PKI/admin.crt" "$PKI/admin.key" "$APISERVER_URL/api/v1/namespaces/$NS/configmaps?watch=true&resourceVersion=$rv_before&timeoutSeconds=200"
if pyq -c 'import kubernetes' 2>/dev/null; then
	PY_NAMESPACE=$PYNS PY_RESTART="$here/restart-apiserver" timeout 240 "$PY" "$here/test_pyclient.py" ||
		t_fail "python: test_pyclient.py passed" "exit status $?"
else
	t_fail "python3-kubernetes available" "install python3-kubernetes (tests/setup-deps.sh)"
	timeout 120 "$here/restart-apiserver" "$DIR" >/dev/null
fi
# After the restart (compaction): a watch from before it is 410 over HTTP too.
T_OUT=$(api "$APISERVER_URL/api/v1/namespaces/$NS/configmaps?watch=true&resourceVersion=$rv_before&timeoutSeconds=2")
t_contains "after the restart a watch from before the compaction: an ERROR event" '"type":"ERROR"'
t_contains "with code 410 and reason Expired" '"reason":"Expired","code":410'
t_run "kubectl works after the apiserver restart" 0 kn get dbb nightly -o name
eventually "an open watch ended with the apiserver's restart" 10 grep -q curl-exit= "$WORK/long-watch.out"
T_OUT=$(cat "$WORK/long-watch.out")
t_contains "it had seen the event after its resourceVersion" '"name":"after-rv"'

current="helm"
if HELM=$(timeout 900 "$root/tests/setup-helm.sh"); then
	export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
	h() { timeout 120 "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }
	HNS=clients-helm-$RUN
	cleanup_ns+=("$HNS")
	CH=$TD/chart-smoke
	t_run "helm is v3" 0 h version --short
	t_matches "helm version" '^v3\.'
	t_run "helm install --dry-run=server" 0 h install smoke "$CH" -n "$HNS" --create-namespace --dry-run=server
	t_contains "dry run renders the ConfigMap" "name: smoke-config"
	t_contains "with the server's version (capabilities from the server)" 'kubeVersion: "v1.34.4"'
	t_run "dry run created nothing" 1 k -n "$HNS" get configmap smoke-config
	cp -r "$CH" "$WORK/chart-old"
	sed -i 's/^kubeVersion: .*/kubeVersion: "<1.30.0-0"/' "$WORK/chart-old/Chart.yaml"
	t_run "a chart whose kubeVersion excludes the server is refused" 1 h install old "$WORK/chart-old" -n "$HNS" --create-namespace --dry-run=server
	t_contains "naming the server version" "chart requires kubeVersion: <1.30.0-0 which is incompatible with Kubernetes v1.34.4"
	t_run "helm install --create-namespace" 0 h install smoke "$CH" -n "$HNS" --create-namespace
	t_contains "deployed" "STATUS: deployed"
	t_equals "the namespace was created" Active k get namespace "$HNS" -o 'jsonpath={.status.phase}'
	t_equals "the ConfigMap from values" "hello v1.34.4" k -n "$HNS" get configmap smoke-config -o 'jsonpath={.data.greeting} {.data.kubeVersion}'
	t_equals "the ServiceAccount from values" smoke k -n "$HNS" get serviceaccount smoke -o 'jsonpath={.metadata.name}'
	t_equals "objects carry helm's ownership annotations" "smoke $HNS" k -n "$HNS" get configmap smoke-config \
		-o 'jsonpath={.metadata.annotations.meta\.helm\.sh/release-name} {.metadata.annotations.meta\.helm\.sh/release-namespace}'
	t_run "helm status" 0 h status smoke -n "$HNS"
	t_contains "status deployed" "STATUS: deployed"
	t_contains "revision 1" "REVISION: 1"
	t_run "helm upgrade with a changed value" 0 h upgrade smoke "$CH" -n "$HNS" --set greeting=bye
	t_contains "upgrade: revision 2" "REVISION: 2"
	t_equals "the ConfigMap changed" bye k -n "$HNS" get configmap smoke-config -o 'jsonpath={.data.greeting}'
	t_run "helm get values" 0 h get values smoke -n "$HNS"
	t_contains "the user-supplied value" "greeting: bye"
	t_run "helm history" 0 h history smoke -n "$HNS"
	t_matches "history: revision 1 superseded" '^1[[:space:]].*superseded[[:space:]]+chart-smoke-0\.1\.0[[:space:]].*Install complete'
	t_matches "history: revision 2 deployed" '^2[[:space:]].*deployed[[:space:]]+chart-smoke-0\.1\.0[[:space:]].*Upgrade complete'
	t_equals "release records are Secrets of type helm.sh/release.v1" "sh.helm.release.v1.smoke.v1 sh.helm.release.v1.smoke.v2" \
		k -n "$HNS" get secrets --field-selector type=helm.sh/release.v1 -o 'jsonpath={.items[*].metadata.name}'
	t_run "helm rollback to revision 1" 0 h rollback smoke 1 -n "$HNS"
	t_contains "rollback reported" "Rollback was a success"
	t_equals "the ConfigMap is back" hello k -n "$HNS" get configmap smoke-config -o 'jsonpath={.data.greeting}'
	t_run "history after the rollback" 0 h history smoke -n "$HNS"
	t_matches "revision 3 deployed: Rollback to 1" '^3[[:space:]].*deployed[[:space:]].*Rollback to 1'
	t_run "helm list" 0 h list -n "$HNS"
	t_matches "list shows the release at revision 3" '^smoke[[:space:]]+clients-helm-[0-9a-f]+[[:space:]]+3[[:space:]]'
	t_run "helm uninstall" 0 h uninstall smoke -n "$HNS"
	t_contains "uninstalled" 'release "smoke" uninstalled'
	eventually "the ConfigMap is gone" 30 sh -c "! $KC -n $HNS get configmap smoke-config"
	t_run "the ServiceAccount is gone" 1 k -n "$HNS" get serviceaccount smoke
	t_equals "the release records are gone" "" k -n "$HNS" get secrets --field-selector type=helm.sh/release.v1 -o 'jsonpath={.items[*].metadata.name}'
	t_run "helm status after uninstall" 1 h status smoke -n "$HNS"
	t_contains "release: not found" "release: not found"
	# A Deployment whose pod must become Ready on the node agent's node.
	ready_nodes=$(k get nodes -o 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)
	if [[ $ready_nodes == *True* ]]; then
		t_run "helm install --wait (a Deployment running sleep)" 0 h install sleeper "$CH" -n "$HNS" \
			--set sleeper.enabled=true --set serviceAccount.name=sleeper --wait --timeout 90s
		t_equals "the Deployment is available" 1 k -n "$HNS" get deployment sleeper-sleeper -o 'jsonpath={.status.availableReplicas}'
		t_equals "its pod is Running and Ready" "Running True" k -n "$HNS" get pods -l app.kubernetes.io/component=sleeper \
			-o 'jsonpath={.items[0].status.phase} {.items[0].status.conditions[?(@.type=="Ready")].status}'
		t_run "helm uninstall --wait of it" 0 h uninstall sleeper -n "$HNS" --wait --timeout 60s
	else
		t_fail "helm install --wait needs a Ready node" "no Node is Ready: is the node agent running? (tests/cluster/up without CLUSTER_NODEAGENT=0)"
	fi
else
	t_fail "helm 3 available" "tests/setup-helm.sh found none"
fi

current=finished
passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^PASS $T_SUITE: " || true)
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
if [[ $failed -gt 0 ]]; then
	echo "failures:"
	tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep "^FAIL $T_SUITE: " | cut -c1-400
fi
echo "test-clients: $((SECONDS - t_begin)) s"
echo "$T_SUITE: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
