#!/usr/bin/env bash
# The C Kubernetes client against the real kube-apiserver (tests/cluster):
#  - every verb over TLS with a client certificate (the admin kubeconfig),
#    and again with a ServiceAccount bearer token from the TokenRequest API;
#  - RBAC: a read-only identity gets 403s decoded with a clear message;
#  - a real 410 Gone: a watch resumed after etcd compaction and an apiserver
#    restart;
#  - the informer storm: 1,000 changes through tests/cluster/faultproxy.py
#    (dropped watches, 500/503, 429 with Retry-After, slow replies, and a
#    real apiserver restart that forces a relist);
#  - a wrong token is refused (401), an unknown CA is refused.
#   KUBETOOL      the kubetool binary (build/kubetool or build/asan/kubetool)
#   CLUSTER_DIR   a running cluster (tests/cluster/up); else one is started
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
KUBETOOL=${KUBETOOL:?set KUBETOOL to the kubetool binary}
W=$(mktemp -d /tmp/lifeboat-kube.XXXXXX)
own_cluster=0
proxy_pid=
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "kube suite aborted" "exit status $rc (see the output above)"
	[[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null
	if [[ $own_cluster -eq 1 ]]; then "$root/tests/cluster/down" --purge "$C" >/dev/null 2>&1; fi
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT

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
k() { "$KUBECTL" --cache-dir "$W/cache" "$@"; }

k apply -f "$root/tests/cluster/testdata/databasebackup-crd.yaml" >/dev/null
t_run "kube: the DatabaseBackup CRD becomes Established" 0 \
	k wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=60s
k delete namespace verbs verbs-token apply storm gone --ignore-not-found --wait=true >/dev/null

# kubeconfig_token FILE SERVER TOKEN: a kubeconfig with a bearer token.
kubeconfig_token() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$2", certificate-authority-data: $(base64 -w0 "$CLUSTER_CA")}
users:
- name: u
  user: {token: "$3"}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
EOF
}

set +e
echo "  -- verbs with the admin's client certificate"
"$KUBETOOL" verbs "$KUBECONFIG" || echo "  (kubetool verbs failed)"
echo "  -- the operator's apply step (ctl_apply) against real server semantics"
"$KUBETOOL" apply "$KUBECONFIG" apply || echo "  (kubetool apply failed)"
set -e

# A ServiceAccount that may do everything to DatabaseBackups and namespaces,
# and one that may only read them; tokens from the TokenRequest API.
k create namespace lifeboat-kube-test --dry-run=client -o yaml | k apply -f - >/dev/null
k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: lifeboat-kube-test}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lifeboat-kube-test-client}
rules:
- apiGroups: [lifeboat.dev]
  resources: [databasebackups, databasebackups/status]
  verbs: ["*"]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lifeboat-kube-test-client}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lifeboat-kube-test-client}
subjects:
- {kind: ServiceAccount, name: client, namespace: lifeboat-kube-test}
EOF
token=$(k create token client -n lifeboat-kube-test --duration=30m)
kubeconfig_token "$W/kc-token" "$APISERVER_URL" "$token"
set +e
echo "  -- verbs with a ServiceAccount token (TokenRequest API)"
T_SUITE=${T_SUITE:-kube}-token "$KUBETOOL" verbs "$W/kc-token" verbs-token || echo "  (kubetool verbs with a token failed)"
set -e

k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: verbs}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: backup-reader, namespace: verbs}
rules:
- apiGroups: [lifeboat.dev]
  resources: [databasebackups]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: backup-reader, namespace: verbs}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: backup-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: verbs}
EOF
kubeconfig_token "$W/kc-reader" "$APISERVER_URL" "$(k create token reader -n verbs --duration=10m)"
set +e
"$KUBETOOL" forbidden "$W/kc-reader" || echo "  (kubetool forbidden failed)"
set -e

# The fault proxy, in front of the real apiserver, TLS with a certificate
# of the cluster's CA; its restart runs tests/cluster/restart-apiserver.
timeout 900 python3 "$root/tests/cluster/faultproxy.py" --upstream "$APISERVER_URL" --ca "$CLUSTER_CA" \
	--cert "$C/pki/apiserver.crt" --key "$C/pki/apiserver.key" \
	--restart-cmd "$root/tests/cluster/restart-apiserver $C" \
	--port-file "$W/proxy.port" >"$W/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 100); do [[ -s $W/proxy.port ]] && break; sleep 0.1; done
[[ -s $W/proxy.port ]] || { cat "$W/proxy.log"; exit 1; }
PROXY=https://127.0.0.1:$(cat "$W/proxy.port")
kubeconfig_token "$W/kc-proxy" "$PROXY" "$token"

set +e
"$KUBETOOL" gone "$W/kc-proxy" || echo "  (kubetool gone failed)"
echo "  -- the informer storm through the fault proxy"
"$KUBETOOL" storm "$W/kc-proxy" 1000 || echo "  (kubetool storm failed)"
set -e
t_run "kube: the fault proxy reports its faults" 0 curl -fsS --cacert "$CLUSTER_CA" "$PROXY/_lifeboat/stats"
echo "  (fault proxy: $T_OUT)"
t_true "kube: the proxy restarted the real apiserver at least twice" \
	python3 -c "import json,sys; sys.exit(json.loads(sys.argv[1])['restarts'] < 2)" "$T_OUT"

# Negative runs: kubetool's own checks fail by design, so they are not recorded.
kubeconfig_token "$W/kc-bad" "$APISERVER_URL" "wrong-token"
t_run "kube: a wrong bearer token is refused" 1 env LIFEBOAT_RESULTS=/dev/null "$KUBETOOL" verbs "$W/kc-bad"
t_contains "kube: the refusal says HTTP 401" "HTTP 401"
cat >"$W/kc-noca" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$APISERVER_URL"}
users:
- name: u
  user: {token: "$token"}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
EOF
t_run "kube: TLS verification is on (an unknown CA is refused)" 1 env LIFEBOAT_RESULTS=/dev/null "$KUBETOOL" verbs "$W/kc-noca"
t_contains "kube: the refusal names the certificate problem" "certificate"
k delete namespace lifeboat-kube-test --wait=false >/dev/null
k delete clusterrole,clusterrolebinding lifeboat-kube-test-client >/dev/null
