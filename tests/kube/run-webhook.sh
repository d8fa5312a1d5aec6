#!/usr/bin/env bash
# The DatabaseRestore admission webhook (operator/webhook.c served by
# operator/webhook_serve.c through `kubetool webhook`) against real peers:
#  - curl over TLS: a review answered with its JSONPatch, 400 for a
#    malformed one, 404, 405 with Allow: POST, 413, 415, HTTP/1.1 even when
#    h2 is offered, a client that does not trust the CA refused;
#  - the real kube-apiserver calling it through a MutatingWebhookConfiguration
#    (clientConfig.url https://127.0.0.1:PORT/mutate-databaserestore,
#    caBundle, failurePolicy Fail, scoped to this suite's namespace): two
#    users with client certificates of the cluster's CA (different CN and O,
#    RBAC on databaserestores) create DatabaseRestores with kubectl and find
#    their names and groups in lifeboat.dev/requested-by; a forged value is
#    overwritten (client-side create and server-side apply), other
#    annotations kept; updates that change or remove it are refused with the
#    webhook's message (for an admin too), updates that leave it pass;
#  - rotation: the serving certificate is swapped the way the kubelet
#    updates a Secret volume, the webhook serves the new one without a
#    restart, and the apiserver (its caBundle moved to the new CA) keeps
#    annotating;
#  - with the webhook gone, failurePolicy Fail refuses creates.
#   KUBETOOL      the kubetool binary (build/kubetool or build/asan/kubetool)
#   CLUSTER_DIR   a running cluster (tests/cluster/up); else one is started
#                 (CLUSTER_NODEAGENT=0) and purged at the end
# shellcheck disable=SC2016 # the bash -c scripts below get their values as "$1"
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=${T_SUITE:-webhook-restore}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
export T_SUITE
KUBETOOL=${KUBETOOL:?set KUBETOOL to the kubetool binary}
KUBETOOL=$(cd "$(dirname "$KUBETOOL")" && pwd)/$(basename "$KUBETOOL")
W=$(mktemp -d /tmp/lifeboat-webhook-restore.XXXXXX)
own_cluster=0
hook_pid=
MWC=lifeboat-restore-requested-by-$$
NS=webhook-restore-$$
cleanup() {
	local rc=$? c
	[[ $rc -ne 0 ]] && t_fail "webhook-restore suite aborted" "exit status $rc (see the output above)"
	if [[ -n ${KUBECONFIG:-} ]]; then
		k delete mutatingwebhookconfiguration "$MWC" --ignore-not-found >/dev/null 2>&1 || true
		k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true
	fi
	if [[ -n $hook_pid ]]; then
		kill -TERM "$hook_pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$hook_pid" 2>/dev/null || break; sleep 0.1; done
		for c in $(pgrep -P "$hook_pid" 2>/dev/null); do kill -KILL "$c" 2>/dev/null || true; done
		kill -KILL "$hook_pid" 2>/dev/null || true
		{ wait "$hook_pid"; } 2>/dev/null || true
	fi
	if [[ $own_cluster -eq 1 ]]; then "$root/tests/cluster/down" --purge "$C" >/dev/null 2>&1; fi
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
wait_until() { # SECONDS CMD...
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while (($(now_ms) < end)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# --- a throwaway CA and serving certificates for 127.0.0.1 ---
pki=$W/pki
mkdir -p "$pki"
ossl() { openssl "$@" 2>>"$W/openssl.log" >/dev/null; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
# ca NAME: a CA
ca() {
	newkey "$pki/$1.key"
	ossl req -x509 -new -key "$pki/$1.key" -days 2 -subj "/CN=lifeboat-webhook-test-$1" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$pki/$1.crt"
}
# signed NAME CA SUBJECT EKU [SAN]: a certificate NAME signed by CA
signed() {
	local name=$1 caname=$2 subj=$3 eku=$4 san=${5:-}
	newkey "$pki/$name.key"
	ossl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[[ -n $san ]] && echo "subjectAltName=$san"
	} >"$pki/$name.ext"
	ossl x509 -req -in "$pki/$name.csr" -CA "$pki/$caname.crt" -CAkey "$pki/$caname.key" \
		-CAcreateserial -days 2 -extfile "$pki/$name.ext" -out "$pki/$name.crt"
}
ca ca1
ca ca2
signed serving1 ca1 "/CN=lifeboat-webhook" serverAuth "IP:127.0.0.1"
signed serving2 ca2 "/CN=lifeboat-webhook-rotated" serverAuth "IP:127.0.0.1"
# The Secret volume as the kubelet lays it out: tls.crt and tls.key are
# symlinks into ..data, itself a symlink to a timestamped folder, swapped by
# one rename.
secret=$W/secret
mkdir -p "$secret"
# publish GEN NAME: the pair NAME becomes the Secret's content
publish() {
	mkdir "$secret/$1"
	cp "$pki/$2.crt" "$secret/$1/tls.crt"
	cp "$pki/$2.key" "$secret/$1/tls.key"
	ln -s "$1" "$secret/..data_tmp"
	mv -T "$secret/..data_tmp" "$secret/..data"
}
publish ..2026_01_01_00_00_00.1 serving1
ln -s ..data/tls.crt "$secret/tls.crt"
ln -s ..data/tls.key "$secret/tls.key"

echo "  -- the webhook over TLS (curl)"
timeout 600 "$KUBETOOL" webhook "$secret" "$W/port" >"$W/hook.out" 2>"$W/hook.log" &
hook_pid=$!
wait_until 10 test -s "$W/port" || { cat "$W/hook.log"; exit 1; }
PORT=$(cat "$W/port")
U=https://127.0.0.1:$PORT/mutate-databaserestore
review() { # USER GROUPS_JSON: a CREATE review of a DatabaseRestore
	cat <<EOF
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-$1",
 "kind":{"group":"lifeboat.dev","version":"v1alpha1","kind":"DatabaseRestore"},
 "resource":{"group":"lifeboat.dev","version":"v1alpha1","resource":"databaserestores"},
 "namespace":"prod","name":"r1","operation":"CREATE","userInfo":{"username":"$1","groups":$2},
 "object":{"apiVersion":"lifeboat.dev/v1alpha1","kind":"DatabaseRestore",
  "metadata":{"name":"r1","namespace":"prod","annotations":{"lifeboat.dev/requested-by":"forged"}},
  "spec":{"backupRef":{"name":"nightly"},"confirm":"app"}}}}
EOF
}
review carol '["dba","system:authenticated"]' >"$W/review.json"
post() { # CURL-ARGS...: POST to the webhook; prints the body, then the status
	curl -sS --cacert "$pki/ca1.crt" -o - -w '\n%{http_code}' "$@"
}
t_run "tls: a review is answered" 0 post -H 'Content-Type: application/json' --data-binary @"$W/review.json" "$U?timeout=10s"
t_true "tls: ...200" test "${T_OUT##*$'\n'}" = 200
printf '%s' "${T_OUT%$'\n'*}" >"$W/response.json"
cat >"$W/check_response.py" <<'EOF'
import base64, json, sys
r = json.load(open(sys.argv[1]))
assert r["apiVersion"] == "admission.k8s.io/v1" and r["kind"] == "AdmissionReview", r
resp = r["response"]
assert resp["uid"] == "uid-carol", resp
assert resp["allowed"] is True, resp
assert resp["patchType"] == "JSONPatch", resp
ops = json.loads(base64.b64decode(resp["patch"]))
want = [{"op": "add", "path": "/metadata/annotations/lifeboat.dev~1requested-by",
         "value": "carol (groups: dba, system:authenticated)"}]
assert ops == want, ops
print("ok")
EOF
t_run "tls: the response echoes the uid and carries the JSONPatch (base64) that overwrites the annotation" 0 \
	/usr/bin/python3 "$W/check_response.py" "$W/response.json"
t_run "tls: a malformed review is 400 naming what is wrong" 0 post -H 'Content-Type: application/json' -d '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}' "$U"
t_true "tls: ...400" test "${T_OUT##*$'\n'}" = 400
t_contains "tls: ...the message names request.uid" "malformed AdmissionReview: request.uid: missing"
t_run "tls: GET is 405" 0 bash -c 'curl -sS --cacert "$1" -D - -o /dev/null "$2"' _ "$pki/ca1.crt" "$U"
t_matches "tls: ...405 with Allow: POST" '^[Aa]llow: POST'
t_contains "tls: ...the status line says 405" " 405"
t_run "tls: another path is 404" 0 post -H 'Content-Type: application/json' --data-binary @"$W/review.json" "https://127.0.0.1:$PORT/validate"
t_true "tls: ...404" test "${T_OUT##*$'\n'}" = 404
t_run "tls: text/plain is 415" 0 post -H 'Content-Type: text/plain' --data-binary @"$W/review.json" "$U"
t_true "tls: ...415" test "${T_OUT##*$'\n'}" = 415
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$W/big.json"
t_run "tls: a 2 MiB body is 413" 0 post -H 'Content-Type: application/json' --data-binary @"$W/big.json" "$U"
t_true "tls: ...413" test "${T_OUT##*$'\n'}" = 413
t_contains "tls: ...saying the limit" "request body too large: 2097152 bytes; an AdmissionReview may have at most 1048576"
t_run "tls: a client offering h2 speaks HTTP/1.1" 0 curl -sS --http2 --cacert "$pki/ca1.crt" -o /dev/null -w '%{http_version}' \
	-H 'Content-Type: application/json' --data-binary @"$W/review.json" "$U"
t_true "tls: ...1.1" test "$T_OUT" = 1.1
t_run "tls: a client that trusts another CA refuses the certificate (curl exit 60)" 60 \
	curl -sS --cacert "$pki/ca2.crt" -o /dev/null -H 'Content-Type: application/json' --data-binary @"$W/review.json" "$U"

# --- the cluster ---
if [[ -n ${CLUSTER_DIR:-} ]]; then
	C=$CLUSTER_DIR
else
	C=$W/cluster
	own_cluster=1
	CLUSTER_NODEAGENT=0 CLUSTER_TTL=900 "$root/tests/cluster/up" "$C" >/dev/null
fi
# shellcheck disable=SC1091
source "$C/env"
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 60 "$KUBECTL" --cache-dir "$W/cache" "$@"; }
as() { # USER KUBECTL-ARGS...
	local u=$1
	shift
	timeout 60 "$KUBECTL" --kubeconfig "$W/$u.kubeconfig" --cache-dir "$W/cache-$u" "$@"
}
ann() { # NAME [ANNOTATION]: an annotation of a DatabaseRestore ("" when absent)
	local key=${2:-lifeboat.dev/requested-by}
	k get dbr -n "$NS" "$1" -o jsonpath="{.metadata.annotations.${key//./\\.}}"
}

k apply -f "$root/crds/databaserestores.yaml" >/dev/null
k wait --for=condition=Established crd/databaserestores.lifeboat.dev --timeout=30s >/dev/null
k create namespace "$NS" >/dev/null
k label namespace "$NS" "lifeboat.dev/webhook-restore-test=$$" >/dev/null

# Two users: client certificates of the cluster's CA (the API server's
# --client-ca-file); CN is the user name, each O a group.
cp "$C/pki/ca.crt" "$pki/cluster.crt"
cp "$C/pki/ca.key" "$pki/cluster.key"
signed alice cluster "/O=lifeboat-dba/O=team-a/CN=alice" clientAuth
signed bob cluster "/O=team-b/CN=bob" clientAuth
rm -f "$pki/cluster.key"
for u in alice bob; do
	cat >"$W/$u.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: $APISERVER_URL, certificate-authority-data: $(base64 -w0 "$C/pki/ca.crt")}
users:
- name: $u
  user: {client-certificate-data: $(base64 -w0 "$pki/$u.crt"), client-key-data: $(base64 -w0 "$pki/$u.key")}
contexts:
- name: c
  context: {cluster: c, user: $u, namespace: $NS}
current-context: c
EOF
done
k apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: restore-requester, namespace: $NS}
rules:
- apiGroups: [lifeboat.dev]
  resources: [databaserestores]
  verbs: [create, get, list, watch, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: restore-requesters, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: restore-requester}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
EOF
t_run "rbac: alice is alice in lifeboat-dba and team-a" 0 as alice auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}'
t_true "rbac: ...exactly" test "$T_OUT" = 'alice ["lifeboat-dba","team-a","system:authenticated"]'
t_run "rbac: alice may create databaserestores here" 0 as alice auth can-i create databaserestores.lifeboat.dev

mwc() { # CA_FILE: the MutatingWebhookConfiguration trusting CA_FILE
	k apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: $MWC}
webhooks:
- name: requested-by.lifeboat.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 5
  reinvocationPolicy: Never
  clientConfig:
    url: https://127.0.0.1:$PORT/mutate-databaserestore
    caBundle: $(base64 -w0 "$1")
  namespaceSelector: {matchLabels: {lifeboat.dev/webhook-restore-test: "$$"}}
  rules:
  - {apiGroups: [lifeboat.dev], apiVersions: [v1alpha1], operations: [CREATE, UPDATE], resources: [databaserestores], scope: Namespaced}
EOF
}
restore() { # NAME [ANNOTATIONS-YAML]: a valid DatabaseRestore (docs/api.md)
	cat <<EOF
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseRestore
metadata:
  name: $1
  namespace: $NS
${2:+  annotations: $2}
spec:
  backupRef: {name: nightly}
  confirm: app
EOF
}
# A server-side dry run goes through admission and prints the mutated
# object: whether the apiserver calls the webhook, and trusts its CA.
annotated_by_dry_run() { # USER WANT
	[[ $(restore probe | as "$1" create --dry-run=server -f - -o jsonpath='{.metadata.annotations.lifeboat\.dev/requested-by}' 2>/dev/null) == "$2" ]]
}
mwc "$pki/ca1.crt"
ALICE='alice (groups: lifeboat-dba, team-a, system:authenticated)'
BOB='bob (groups: team-b, system:authenticated)'
echo "  -- the apiserver calls the webhook"
t_true "apiserver: a dry-run create comes back annotated once the configuration is active" \
	wait_until 20 annotated_by_dry_run alice "$ALICE"

restore r-alice | as alice create -f - >"$W/out" 2>&1 || cat "$W/out"
t_equals "create: alice's restore records alice and her groups (no annotations sent)" "$ALICE" ann r-alice
restore r-bob '{lifeboat.dev/requested-by: "alice (groups: system:masters)", note: keep me}' >"$W/r-bob.yaml"
t_run "create: bob creates a restore with a forged annotation" 0 as bob create -f "$W/r-bob.yaml"
t_equals "create: ...the forged value is overwritten with bob and his groups" "$BOB" ann r-bob
t_equals "create: ...bob's other annotation is kept" "keep me" ann r-bob note
restore r-ssa '{lifeboat.dev/requested-by: "nobody"}' >"$W/r-ssa.yaml"
t_run "create: bob applies a restore server-side with a forged annotation" 0 as bob apply --server-side -f "$W/r-ssa.yaml"
t_equals "create: ...overwritten with bob too" "$BOB" ann r-ssa
restore r-apply >"$W/r-apply.yaml"
t_run "create: alice applies one client-side" 0 as alice apply -f "$W/r-apply.yaml"
t_equals "create: ...it records alice" "$ALICE" ann r-apply
t_true "webhook: each create was logged with who asked" \
	bash -c 'grep -c "recorded who created a DatabaseRestore.*requested_by=\"bob (groups: team-b, system:authenticated)\"" "$1" | grep -qx 2' _ "$W/hook.log"

echo "  -- updates"
t_run "update: bob changing the annotation is refused" 1 as bob annotate dbr r-bob lifeboat.dev/requested-by=mallory --overwrite
t_contains "update: ...with the webhook's message naming the annotation" \
	'admission webhook "requested-by.lifeboat.dev" denied the request: the annotation lifeboat.dev/requested-by records who created this DatabaseRestore and cannot be changed: it is "bob (groups: team-b, system:authenticated)", the update sets "mallory"'
t_equals "update: ...and the annotation is unchanged" "$BOB" ann r-bob
t_run "update: bob removing it is refused" 1 as bob annotate dbr r-bob lifeboat.dev/requested-by-
t_contains "update: ...saying the update removes it" "the update removes it; leave it as it is"
t_equals "update: ...still there" "$BOB" ann r-bob
t_run "update: the admin (system:masters) changing alice's is refused too" 1 k annotate dbr -n "$NS" r-alice lifeboat.dev/requested-by=bob --overwrite
t_contains "update: ...with the same message" "records who created this DatabaseRestore and cannot be changed"
t_run "update: a merge patch by alice setting it is refused" 1 as alice patch dbr r-alice --type merge -p '{"metadata":{"annotations":{"lifeboat.dev/requested-by":"alice"}}}'
t_equals "update: ...alice's own record unchanged" "$ALICE" ann r-alice
t_run "update: bob adding a label passes" 0 as bob label dbr r-bob tier=gold
t_equals "update: ...the label is there" "gold" k get dbr -n "$NS" r-bob -o jsonpath='{.metadata.labels.tier}'
t_equals "update: ...the annotation unchanged" "$BOB" ann r-bob
t_run "update: bob changing another annotation passes" 0 as bob annotate dbr r-bob note=changed --overwrite
t_equals "update: ...it changed" "changed" ann r-bob note
t_run "update: alice re-applying her manifest with a label passes (the annotation is not hers to apply)" 0 \
	bash -c 'sed "s/^  name: r-apply$/  name: r-apply\n  labels: {tier: silver}/" "$1" | "$2" --kubeconfig "$3" --cache-dir "$4" apply -f -' \
	_ "$W/r-apply.yaml" "$KUBECTL" "$W/alice.kubeconfig" "$W/cache-alice"
t_equals "update: ...labelled" "silver" k get dbr -n "$NS" r-apply -o jsonpath='{.metadata.labels.tier}'
t_equals "update: ...still alice's" "$ALICE" ann r-apply
t_true "webhook: the refusals were logged" \
	bash -c 'grep -c "refused a change of lifeboat.dev/requested-by" "$1" | grep -qx 4' _ "$W/hook.log"

echo "  -- rotation of the serving certificate"
# The CA injector's order: trust both CAs, rotate, then drop the old one.
cat "$pki/ca1.crt" "$pki/ca2.crt" >"$pki/both.crt"
mwc "$pki/both.crt"
publish ..2026_02_01_00_00_00.2 serving2
t_run "rotation: a new handshake gets the rotated certificate (curl trusting only the new CA)" 0 \
	curl -sS --cacert "$pki/ca2.crt" -o /dev/null -H 'Content-Type: application/json' --data-binary @"$W/review.json" "$U"
t_run "rotation: ...and no longer the old one (curl trusting only the old CA: exit 60)" 60 \
	curl -sS --cacert "$pki/ca1.crt" -o /dev/null -H 'Content-Type: application/json' --data-binary @"$W/review.json" "$U"
t_true "rotation: the webhook logged the reload" grep -q 'serving certificate reloaded.*subject="/CN=lifeboat-webhook-rotated"' "$W/hook.log"
mwc "$pki/ca2.crt"
t_true "rotation: the apiserver, trusting only the new CA, gets annotated objects" \
	wait_until 20 annotated_by_dry_run bob "$BOB"
restore r-rotated | as alice create -f - >"$W/out" 2>&1 || cat "$W/out"
t_equals "rotation: alice's restore after the rotation records her" "$ALICE" ann r-rotated

echo "  -- failurePolicy Fail"
kill -TERM "$hook_pid"
set +e
wait "$hook_pid"
hook_rc=$?
set -e
hook_pid=
t_true "webhook: SIGTERM stops it cleanly (exit 0)" test "$hook_rc" -eq 0
stats=$(grep '^STATS' "$W/hook.out" || true)
echo "  ($stats)"
t_true "webhook: its counters saw the refusals (denied=4) and both certificates (cert_loads=2)" \
	bash -c '[[ $1 == *" denied=4 "* && $1 == *" cert_loads=2 "* && $1 == *" cert_load_failures=0"* ]]' _ "$stats"
restore r-dead >"$W/r-dead.yaml"
t_run "failurePolicy Fail: with the webhook down, a create is refused" 1 as alice create -f "$W/r-dead.yaml"
t_contains "failurePolicy Fail: ...because the call failed" 'failed calling webhook "requested-by.lifeboat.dev"'
t_run "failurePolicy Fail: ...and nothing was created" 1 k get dbr -n "$NS" r-dead
