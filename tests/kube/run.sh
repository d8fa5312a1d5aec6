#!/usr/bin/env bash
# The C Kubernetes client against the test API server: an informer through a
# storm of 1,000 changes under injected faults (dropped watches, 500/503,
# 429 with Retry-After, slow replies, restarts losing history -> 410 Gone).
#   KUBETOOL   the kubetool binary (build/kubetool or build/asan/kubetool)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
KUBETOOL=${KUBETOOL:?set KUBETOOL to the kubetool binary}
W=$(mktemp -d /tmp/lifeboat-kube.XXXXXX)
timeout 900 python3 "$root/tests/apiserver/apiserver.py" --port 0 --write-kubeconfig "$W/kc" \
	--log "$W/apiserver.log" >"$W/out" 2>"$W/err" &
pid=$!
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "kube suite aborted" "exit status $rc; apiserver stderr: $(tail -5 "$W/err" 2>/dev/null)"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q listening "$W/out" 2>/dev/null && break; sleep 0.1; done
KUBECTL=$("$root/tests/apiserver/kubectl.sh")
k() { "$KUBECTL" --kubeconfig "$W/kc" --cache-dir "$W/cache" "$@"; }
t_run "kube: the DatabaseBackup CRD applies" 0 k apply -f "$root/tests/apiserver/testdata/databasebackup-crd.yaml"
t_run "kube: the CRD becomes Established" 0 k wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=30s
# kubetool records its own PASS/FAIL lines; its exit status is their summary.
set +e
"$KUBETOOL" verbs "$W/kc" || echo "  (kubetool verbs failed)"
"$KUBETOOL" storm "$W/kc" 1000 || echo "  (kubetool storm failed)"
set -e

# Over TLS, with a required bearer token: the CA from the kubeconfig is
# verified and the token sent (a wrong token must be refused).
timeout 300 python3 "$root/tests/apiserver/apiserver.py" --port 0 --tls --require-token \
	--write-kubeconfig "$W/kc-tls" >"$W/out-tls" 2>"$W/err-tls" &
tls_pid=$!
for _ in $(seq 100); do grep -q listening "$W/out-tls" 2>/dev/null && break; sleep 0.1; done
"$KUBECTL" --kubeconfig "$W/kc-tls" --cache-dir "$W/cache-tls" apply \
	-f "$root/tests/apiserver/testdata/databasebackup-crd.yaml" >/dev/null
"$KUBECTL" --kubeconfig "$W/kc-tls" --cache-dir "$W/cache-tls" wait --for=condition=Established \
	crd/databasebackups.lifeboat.dev --timeout=30s >/dev/null
t_run "kube: the C client works over TLS with a bearer token" 0 "$KUBETOOL" verbs "$W/kc-tls"
# The negative runs: kubetool's own checks fail by design, so they are not recorded.
sed 's/token: .*/token: wrong-token/' "$W/kc-tls" >"$W/kc-bad"
t_run "kube: a wrong bearer token is refused" 1 env LIFEBOAT_RESULTS=/dev/null "$KUBETOOL" verbs "$W/kc-bad"
t_contains "kube: the refusal says HTTP 401" "HTTP 401"
grep -v 'certificate-authority-data' "$W/kc-tls" >"$W/kc-noca"
t_run "kube: TLS verification is on (an unknown CA is refused)" 1 env LIFEBOAT_RESULTS=/dev/null "$KUBETOOL" verbs "$W/kc-noca"
t_contains "kube: the refusal names the certificate problem" "certificate"
kill "$tls_pid" 2>/dev/null || true
