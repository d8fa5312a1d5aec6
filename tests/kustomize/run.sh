#!/usr/bin/env bash
# tests/kustomize/run.sh [--no-cluster]: the plain manifests in config/
# (generated from charts/lifeboat by config/generate.sh) against the chart
# and the real control plane.
#  Without a cluster (all that --no-cluster runs; CI's build job does):
#  - the drift check: config/generate.sh into a temp dir gives config/ byte
#    for byte (else: run `make config` and commit config/); config/crds/ are
#    crds/*.yaml under a header; two runs write the same bytes;
#  - `kubectl kustomize` (kubectl's built-in kustomize) of config/ and of
#    config/webhook-cert-manager builds the objects `helm template` renders
#    with the same values (webhook off / cert-manager), but for the labels
#    config/ changes on purpose (tests/kustomize/same_objects.py);
#  - no Secret and no private key anywhere in config/; no RBAC rule names
#    secrets.
#  On the cluster ($CLUSTER_DIR, else one is started with the node agent
#  and purged at the end):
#  - kubectl apply -k: the namespace (restricted Pod Security), the CRDs
#    Established, the ServiceAccount, ClusterRole/Binding, the Lease Role,
#    Service, Deployment and PDB as config/ says (kubectl diff -k: none; a
#    second apply changes nothing; apply --server-side takes over);
#    kubectl auth can-i as the operator's ServiceAccount: no secrets, create
#    jobs yes; the Jobs' ServiceAccount nothing;
#  - the Deployment becomes Available: both replicas Ready through their
#    probes, one holds the Lease; the pods run the work tree's binaries (the
#    node agent maps the images lifeboat-operator and lifeboat-job);
#  - a DatabaseBackup in an application namespace completes under that
#    operator (a real PostgreSQL, tests/lib/pg.sh; a PVC, a folder here);
#  - the safe uninstall, kubectl delete -k config/base: the operator goes,
#    the CRDs, the DatabaseBackup and the stored backup stay; then kubectl
#    delete -k config/: the namespace and the CRDs go (with every Lifeboat
#    object), the stored backup stays. On a shared cluster holding other
#    suites' Lifeboat objects that last step is a server-side dry run.
# The test node's pods share the host's network: two replicas both binding
# :8080 and :8081 (the chart's default) would collide, so the cluster part
# applies an overlay in its temp dir whose one change is the Deployment as
# the chart renders it with operator.listenOnPodIP=true (each pod binds its
# own pod IP); the check "the overlay changes only the listen addresses"
# holds it to that. A real cluster needs no overlay.
#   CLUSTER_DIR   a running cluster with the node agent (tests/cluster/up),
#                 or kind's as tests/kind/run.sh makes it
#   LIFEBOAT_DB_HOST  the address the pods reach PostgreSQL at (default
#                 127.0.0.1, the node agent's pods share the host's network)
#   LIFEBOAT_BIN_DIR  where build/lifeboat is, for `lifeboat verify`
#   HELM          a helm 3 binary (default: tests/setup-helm.sh)
# Results go to $LIFEBOAT_RESULTS (tests/lib/t.sh; T_SUITE=kustomize); exit 1
# when a check failed.
# shellcheck source-path=SCRIPTDIR disable=SC2016,SC2119 # the bash -c scripts get their values as "$1"; pg_start takes no args here
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=${T_SUITE:-kustomize}
no_cluster=0
[[ ${1:-} == --no-cluster ]] && no_cluster=1
W=$(mktemp -d /tmp/lifeboat-kustomize.XXXXXX)
chmod 755 "$W"
if [[ -z ${LIFEBOAT_RESULTS:-} || ! -f ${LIFEBOAT_RESULTS:-} ]]; then LIFEBOAT_RESULTS=$W/results; fi
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
export T_SUITE
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
CONFIG=$root/config
LNS=lifeboat-system
D=lifeboat
own_cluster=0
finished=0
NS=kz-app-$$
KUBECONFIG=
cleanup() {
	local rc=$?
	[[ $finished -eq 0 ]] && t_fail "kustomize suite aborted" "exit status $rc before its end (see the output above)"
	if [[ -n $KUBECONFIG ]]; then
		k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true
		if [[ $own_cluster -eq 0 ]]; then k delete -k "$CONFIG/base" --ignore-not-found --wait=false >/dev/null 2>&1 || true; fi
	fi
	if [[ $own_cluster -eq 1 ]]; then timeout 120 "$root/tests/cluster/down" --purge "$C" >/dev/null 2>&1 || true; fi
	if [[ $(type -t pg_stop) == function ]]; then pg_stop >/dev/null 2>&1 || true; fi
	rm -rf "$W"
	[[ $finished -eq 1 ]] || return 1
	return "$rc"
}
trap cleanup EXIT

HELM=${HELM:-$(timeout 900 "$root/tests/setup-helm.sh")}
export HELM
export HELM_CACHE_HOME=$W/helm/cache HELM_CONFIG_HOME=$W/helm/config HELM_DATA_HOME=$W/helm/data
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 120 "$KUBECTL" --cache-dir "$W/kcache" "$@"; }
py() { timeout 60 "$PY" "$@"; }
GENERATED=(kustomization.yaml namespace crds base webhook-cert-manager)

echo "  -- the drift check: config/ is what config/generate.sh makes of the chart"
timeout 300 "$root/config/generate.sh" "$W/gen" >"$W/gen.log" 2>&1 || { cat "$W/gen.log"; t_fail "config/generate.sh runs" "it failed (output above)"; }
for p in "${GENERATED[@]}"; do
	if out=$(diff -r "$W/gen/$p" "$CONFIG/$p" 2>&1); then
		t_pass "drift: config/$p is what config/generate.sh makes of charts/lifeboat"
	else
		t_fail "drift: config/$p is what config/generate.sh makes of charts/lifeboat" \
			"config/ is stale: run \`make config\` (config/generate.sh) and commit config/; $(head -c 1200 <<<"$out")"
	fi
done
timeout 300 "$root/config/generate.sh" "$W/gen2" >/dev/null 2>&1 || true
t_run "deterministic: a second config/generate.sh writes the same bytes" 0 diff -r "$W/gen" "$W/gen2"
for f in "$root"/crds/*.yaml; do
	b=$(basename "$f")
	t_run "config/crds/$b is crds/$b under the generated header" 0 cmp <(tail -n +3 "$CONFIG/crds/$b") "$f"
done

echo "  -- kubectl kustomize against helm template"
fixed=(lifeboat "$root/charts/lifeboat" --namespace "$LNS" --include-crds --set rbac.scope=cluster)
timeout 120 "$HELM" template "${fixed[@]}" --set webhook.enabled=false >"$W/helm-base.yaml"
timeout 120 "$HELM" template "${fixed[@]}" --set webhook.certManager.enabled=true >"$W/helm-cm.yaml"
t_run "kubectl kustomize config/ builds" 0 k kustomize "$CONFIG" -o "$W/k-base.yaml"
t_run "config/: the chart's objects (webhook.enabled=false), each as helm template renders it" 0 \
	py "$root/tests/kustomize/same_objects.py" "$W/k-base.yaml" "$W/helm-base.yaml"
t_matches "...every one of them" '^[1-9][0-9]* objects, the same$'
t_run "kubectl kustomize config/webhook-cert-manager builds" 0 k kustomize "$CONFIG/webhook-cert-manager" -o "$W/k-cm.yaml"
t_run "config/webhook-cert-manager: the chart's objects (webhook.certManager.enabled=true)" 0 \
	py "$root/tests/kustomize/same_objects.py" "$W/k-cm.yaml" "$W/helm-cm.yaml"
t_matches "...every one of them" '^[1-9][0-9]* objects, the same$'
t_run "config/webhook-cert-manager: the webhook flags, its port and mounted Secret; the cainjector annotation" 0 py - "$W/k-cm.yaml" <<'PY'
import sys, yaml
objs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(open(sys.argv[1])) if o}
c = objs[("Deployment", "lifeboat")]["spec"]["template"]["spec"]["containers"][0]
assert "--webhook-addr=:9443" in c["args"] and "--webhook-cert-dir=/etc/lifeboat/webhook" in c["args"], c["args"]
assert {"name": "webhook", "containerPort": 9443, "protocol": "TCP"} in c["ports"], c["ports"]
m = objs[("MutatingWebhookConfiguration", "lifeboat-requested-by")]
assert m["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "lifeboat-system/lifeboat-webhook", m["metadata"]
assert objs[("Certificate", "lifeboat-webhook")]["spec"]["secretName"] == "lifeboat-webhook-tls"
PY
t_run "no Secret object in either build" 1 grep -h '^kind: Secret$' "$W/k-base.yaml" "$W/k-cm.yaml"
t_run "no private key anywhere in config/" 1 grep -rl 'PRIVATE KEY' "$CONFIG"
t_run "config/: no webhook (no flags, Service or configuration) without cert-manager" 1 grep -E -- '--webhook|^kind: MutatingWebhookConfiguration$|-webhook$' "$W/k-base.yaml"
t_run "config/: no RBAC rule names secrets" 0 py - "$W/k-base.yaml" <<'PY'
import sys, yaml
for o in yaml.safe_load_all(open(sys.argv[1])):
    if o and o["kind"] in ("Role", "ClusterRole"):
        for r in o["rules"]:
            assert "secrets" not in r.get("resources", []) and "*" not in r.get("resources", []), (o["metadata"]["name"], r)
PY

if [[ $no_cluster -eq 1 ]]; then
	passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^PASS $T_SUITE: " || true)
	failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
	echo "kustomize (no cluster): $passed passed, $failed failed"
	finished=1
	[[ $failed -eq 0 ]]
	exit
fi

echo "  -- the cluster"
if [[ -n ${CLUSTER_DIR:-} ]]; then
	C=$CLUSTER_DIR
else
	C=$W/cluster
	own_cluster=1
	CLUSTER_TTL=1200 timeout 900 "$root/tests/cluster/up" "$C" >/dev/null
fi
# shellcheck disable=SC1091
source "$C/env"
export KUBECONFIG
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE app" >/dev/null
pg_psql app -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 2000) i" >/dev/null
waitfor() { # SECONDS CMD...: true once CMD is
	local i
	for ((i = 0; i < $1 * 2; i++)); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.5; done
	return 1
}
if k get namespace "$LNS" >/dev/null 2>&1; then
	t_fail "the namespace $LNS is free" "it exists already (another install of config/ on this cluster?); not touching it"
	finished=1
	exit 1
fi
crds_before=$(k get crd -o name | grep -c 'lifeboat\.dev$' || true)

# The overlay: config/ with the Deployment as the chart renders it with
# operator.listenOnPodIP=true (see the header), or, with a chart that has
# no such value, one replica.
# (kustomize takes no absolute path, so a copy of config/ sits beside it)
mkdir -p "$W/overlay"
cp -r "$CONFIG" "$W/config"
if timeout 300 "$root/config/generate.sh" "$W/podip" --set operator.listenOnPodIP=true >"$W/podip.log" 2>&1; then
	sed 's/^spec:$/spec:\n  $patch: replace/' "$W/podip/base/deployment.yaml" >"$W/overlay/deployment.yaml"
	REPLICAS=2
else
	printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: %s}\nspec: {replicas: 1}\n' "$D" "$LNS" >"$W/overlay/deployment.yaml"
	REPLICAS=1
	echo "  (the chart has no operator.listenOnPodIP: one replica)"
fi
cat >"$W/overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../config
patches:
- path: deployment.yaml
YAML
t_run "the test overlay builds" 0 k kustomize "$W/overlay" -o "$W/k-overlay.yaml"
t_run "the overlay changes only the Deployment's listen addresses (args, POD_IP) or its replicas" 0 py - "$W/k-base.yaml" "$W/k-overlay.yaml" <<'PY'
import sys, yaml
def load(p):
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(open(p)) if o}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), set(a) ^ set(b)
for key in a:
    if key != ("Deployment", "lifeboat"):
        assert a[key] == b[key], key
da, db = a[("Deployment", "lifeboat")], b[("Deployment", "lifeboat")]
ca, cb = da["spec"]["template"]["spec"]["containers"][0], db["spec"]["template"]["spec"]["containers"][0]
strip = lambda s: s.replace("$(POD_IP)", "")
assert [strip(x) for x in cb["args"]] == ca["args"], (ca["args"], cb["args"])
assert [e for e in cb.get("env", []) if e["name"] != "POD_IP"] == ca.get("env", []), cb.get("env")
for d in (da, db):
    d["spec"]["template"]["spec"]["containers"][0].pop("args")
    d["spec"]["template"]["spec"]["containers"][0].pop("env", None)
    d["spec"].pop("replicas")
assert da == db, "the Deployments differ beyond args, env and replicas"
PY

echo "  -- kubectl apply -k"
t_run "kubectl apply -k (config/ and the overlay)" 0 k apply -k "$W/overlay"
t_contains "...creates the namespace" "namespace/$LNS created"
if [[ $crds_before -eq 0 ]]; then
	t_contains "...creates the CRDs" "customresourcedefinition.apiextensions.k8s.io/databasebackups.lifeboat.dev created"
fi
t_contains "...creates the Deployment" "deployment.apps/$D created"
for crd in databasebackups backupschedules databaserestores; do
	t_run "the CRD $crd.lifeboat.dev is Established" 0 k wait --for=condition=Established "crd/$crd.lifeboat.dev" --timeout=60s
done
t_equals "the namespace enforces the restricted Pod Security Standard" restricted \
	k get namespace "$LNS" -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}'
t_equals "the ServiceAccount: the operator's (its token mounted: it talks to the API server)" "lifeboat:true" \
	bash -c '"$1" --cache-dir "$2" -n "$3" get serviceaccounts -l app.kubernetes.io/part-of=lifeboat -o jsonpath="{range .items[*]}{.metadata.name}:{.automountServiceAccountToken} {end}" | sed "s/ $//"' _ "$KUBECTL" "$W/kcache" "$LNS"
t_equals "the ClusterRole and its binding to the operator's ServiceAccount" "lifeboat ServiceAccount/$LNS/lifeboat" \
	k get clusterrolebinding "$D" -o 'jsonpath={.roleRef.name} {.subjects[0].kind}/{.subjects[0].namespace}/{.subjects[0].name}'
t_equals "the Lease Role in $LNS" "lifeboat-leader-election" k -n "$LNS" get role "$D-leader-election" -o 'jsonpath={.metadata.name}'
t_equals "the metrics Service" "$D-metrics" k -n "$LNS" get service "$D-metrics" -o 'jsonpath={.metadata.name}'
t_equals "the PodDisruptionBudget" 1 k -n "$LNS" get pdb "$D" -o 'jsonpath={.spec.minAvailable}'
t_equals "the Deployment: the chart's image and labels, managed-by kustomize" "lifeboat-operator:0.1.0 kustomize" \
	k -n "$LNS" get deployment "$D" -o 'jsonpath={.spec.template.spec.containers[0].image} {.metadata.labels.app\.kubernetes\.io/managed-by}'
t_run "kubectl diff -k: the live objects are what was applied" 0 k diff -k "$W/overlay"
# The spec's generation (the disruption controller writes status at any
# time, which moves resourceVersion but never generation) and the
# last-applied record kubectl keeps.
pdb_spec() { k -n "$LNS" get pdb "$D" -o 'jsonpath={.metadata.generation} {.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}'; }
spec=$(pdb_spec)
t_run "kubectl apply -k again: nothing changes" 0 k apply -k "$W/overlay"
# client-side apply always sends a PodDisruptionBudget's selector
# (patchStrategy replace), so kubectl says "configured" for it
t_true "...every object unchanged (the PodDisruptionBudget: kubectl says configured, its spec stays)" \
	bash -c '! grep -v " unchanged$" <<<"$1" | grep -qv "^poddisruptionbudget.policy/lifeboat configured$"' _ "$T_OUT"
t_equals "...the PodDisruptionBudget's generation and last-applied configuration stay" "$spec" pdb_spec
t_run "kubectl apply --server-side --force-conflicts -k (the upgrade path, docs/upgrading.md)" 0 \
	k apply --server-side --force-conflicts -k "$W/overlay"
t_contains "...takes over the Deployment" "deployment.apps/$D serverside-applied"

OSA=system:serviceaccount:$LNS:$D
# can NAME WANT(yes|no) ARGS...: kubectl auth can-i ARGS prints WANT
can() {
	local name=$1 want=$2 got
	shift 2
	got=$(k auth can-i "$@" 2>/dev/null) || true
	if [[ $got == "$want" ]]; then t_pass "can-i: $name: $want"; else t_fail "can-i: $name: $want" "kubectl auth can-i $* said \"$got\""; fi
}
for verb in get list watch; do can "the operator $verb secrets, all namespaces" no "$verb" secrets -A --as "$OSA"; done
can "the operator get secrets in $LNS" no get secrets -n "$LNS" --as "$OSA"
can "the operator create jobs" yes create jobs.batch -n default --as "$OSA"
can "the operator update databasebackups/status" yes update databasebackups.lifeboat.dev --subresource=status -n default --as "$OSA"
can "the operator update the Lease lifeboat-operator" yes update leases.coordination.k8s.io/lifeboat-operator -n "$LNS" --as "$OSA"
can "the operator delete pods" no delete pods -n default --as "$OSA"

echo "  -- the operator running"
sel="app.kubernetes.io/instance=$D,app.kubernetes.io/name=lifeboat-operator"
ready_pods() {
	k -n "$LNS" get pods -l "$sel" -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\n"}{end}' |
		awk '$2 == "True" && NF == 2 {print $1}' | sort
}
available() { [[ $(k -n "$LNS" get deployment "$D" -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}') == True ]] && [[ $(ready_pods | wc -l) -eq $REPLICAS ]]; }
t_true "the Deployment becomes Available with $REPLICAS Ready replicas (readiness probe /readyz)" waitfor 180 available
if ! available; then k -n "$LNS" get pods -o wide || true; k -n "$LNS" get events --sort-by=.lastTimestamp | tail -20 || true; fi
holder() { k -n "$LNS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
holder_is_a_pod() { local h; h=$(holder); [[ -n $h ]] && grep -qx -- "$h" <<<"$(ready_pods)"; }
t_true "one replica holds the Lease lifeboat-operator in $LNS" waitfor 60 holder_is_a_pod
POD=$(ready_pods | sed -n 1p)
T_OUT=$(k -n "$LNS" get pod "${POD:-none}" -o jsonpath='{.spec.serviceAccountName} {.status.containerStatuses[0].imageID}' 2>&1 || true)
if grep -q NODEAGENT_PID "$C/env"; then
	t_contains "the pod runs as the ServiceAccount lifeboat, the image mapped to the work tree's binary" "lifeboat lifeboat-operator@sha256:"
else
	t_contains "the pod runs as the ServiceAccount lifeboat, from an image" "lifeboat "
fi

echo "  -- a DatabaseBackup under that operator"
k create namespace "$NS" >/dev/null
# watching every namespace, the Jobs run as each namespace's default
# ServiceAccount (docs/install.md), which has no rights
JSA=system:serviceaccount:$NS:default
can "the Jobs' ServiceAccount ($NS's default) get secrets" no get secrets -n "$NS" --as "$JSA"
can "the Jobs' ServiceAccount ($NS's default) create jobs" no create jobs.batch -n "$NS" --as "$JSA"
k -n "$NS" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
k -n "$NS" create secret generic pp --from-literal=passphrase='kustomize passphrase' >/dev/null
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: backups}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: b1}
spec:
  database: {host: ${LIFEBOAT_DB_HOST:-127.0.0.1}, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
             sslMode: disable, passwordSecretRef: {name: app-db, key: password}}
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
YAML
phase() { k -n "$NS" get dbb b1 -o jsonpath='{.status.phase}' 2>/dev/null || true; }
done_phase() { [[ $(phase) == Completed || $(phase) == Failed ]]; }
waitfor 180 done_phase || true
t_equals "the DatabaseBackup reaches Completed" Completed phase
[[ $(phase) == Completed ]] || k -n "$NS" get dbb b1 -o yaml | tail -30 || true
t_equals "its Job: the chart's job image, the namespace's default ServiceAccount, no token" ":lifeboat-job:0.1.0:false" \
	k -n "$NS" get job b1-backup -o 'jsonpath={.spec.template.spec.serviceAccountName}:{.spec.template.spec.containers[0].image}:{.spec.template.spec.automountServiceAccountToken}'
STORE=$C/volumes/$NS/backups
t_true "the backup is in storage (its manifest)" test -f "$STORE/$NS/b1/manifest.json"
printf 'kustomize passphrase\n' >"$W/passphrase"
t_run "lifeboat verify of the stored backup passes" 0 timeout 120 "${LIFEBOAT_BIN_DIR:-$root/build}/lifeboat" verify \
	--storage "file://$STORE" --namespace "$NS" --name b1 --passphrase-file "$W/passphrase"

echo "  -- uninstall"
t_run "the safe uninstall: kubectl delete -k config/base" 0 k delete -k "$CONFIG/base" --wait=true --timeout=90s
gone_pods() { [[ -z $(k -n "$LNS" get pods -l "$sel" -o name) ]]; }
t_true "the operator's pods are gone" waitfor 90 gone_pods
t_equals "the Deployment, ClusterRole and binding are gone" "" \
	bash -c '"$1" --cache-dir "$2" get -n "$3" deployment/lifeboat clusterrole/lifeboat clusterrolebinding/lifeboat -o name --ignore-not-found' _ "$KUBECTL" "$W/kcache" "$LNS"
for crd in databasebackups backupschedules databaserestores; do
	t_equals "the CRD $crd.lifeboat.dev stays" "customresourcedefinition.apiextensions.k8s.io/$crd.lifeboat.dev" k get crd "$crd.lifeboat.dev" -o name
done
t_equals "the DatabaseBackup stays, Completed" Completed phase
t_true "the stored backup stays" test -f "$STORE/$NS/b1/manifest.json"
t_equals "the namespace $LNS stays" Active k get namespace "$LNS" -o 'jsonpath={.status.phase}'

others=$(k get databasebackups,backupschedules,databaserestores -A -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}' 2>/dev/null | grep -cvx "$NS" || true)
if [[ $others -gt 0 ]]; then
	# a shared cluster with other suites' objects: deleting the CRDs would delete them
	t_run "kubectl delete -k config/ (server-side dry run: $others other Lifeboat objects on this shared cluster)" 0 \
		k delete -k "$CONFIG" --ignore-not-found --dry-run=server
	t_contains "...would delete the CRDs" "customresourcedefinition.apiextensions.k8s.io \"databasebackups.lifeboat.dev\" deleted (server dry run)"
	t_contains "...and the namespace" "namespace \"$LNS\" deleted (server dry run)"
	k delete namespace "$LNS" --wait=false >/dev/null
else
	t_run "kubectl delete -k config/ removes the rest" 0 k delete -k "$CONFIG" --ignore-not-found --timeout=120s
	for crd in databasebackups backupschedules databaserestores; do
		t_equals "the CRD $crd.lifeboat.dev is gone" "" k get crd "$crd.lifeboat.dev" -o name --ignore-not-found
	done
	t_equals "...and with it the DatabaseBackup" "" bash -c '"$1" --cache-dir "$2" -n "$3" get databasebackups.lifeboat.dev -o name 2>/dev/null || true' _ "$KUBECTL" "$W/kcache" "$NS"
	ns_gone() { [[ -z $(k get namespace "$LNS" -o name --ignore-not-found) ]]; }
	t_true "the namespace $LNS is gone" waitfor 90 ns_gone
	t_true "the stored backup stays (deletionPolicy Retain; nothing ran a delete Job)" test -f "$STORE/$NS/b1/manifest.json"
	# leave a shared cluster with the CRDs it had
	if [[ $own_cluster -eq 0 && $crds_before -gt 0 ]]; then k apply -f "$root/crds/" >/dev/null; fi
fi

passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^PASS $T_SUITE: " || true)
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
echo "kustomize: $passed passed, $failed failed"
finished=1
[[ $failed -eq 0 ]]
