#!/usr/bin/env bash
# tests/cluster/test-webhook.sh DIR: the real kube-apiserver calls a
# validating admission webhook for real (tests/cluster/webhook.py, TLS on
# 127.0.0.1, reached through clientConfig.url: Services have no endpoints
# here, see docs/testing.md): a refusal reaches the client with the
# webhook's message, an allowed request passes and the webhook saw who made
# it, and with failurePolicy Fail a dead webhook blocks writes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DIR=${1:?usage: tests/cluster/test-webhook.sh DIR}
# shellcheck disable=SC1091
source "$DIR/env"
export T_SUITE=${T_SUITE:-webhook}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
KUBECTL=$("$here/kubectl.sh")
W=$(mktemp -d /tmp/lifeboat-webhook.XXXXXX)
NS=webhook-test-$$
k() { "$KUBECTL" --cache-dir "$W/cache" "$@"; }
hook_pid=
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "webhook suite aborted" "exit status $rc"
	k delete validatingwebhookconfiguration "lifeboat-test-$$" --ignore-not-found >/dev/null 2>&1
	k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	[[ -n $hook_pid ]] && kill "$hook_pid" 2>/dev/null
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT

timeout 600 python3 "$here/webhook.py" --cert "$DIR/pki/apiserver.crt" --key "$DIR/pki/apiserver.key" \
	--port-file "$W/port" --log "$W/reviews.log" >"$W/webhook.out" 2>&1 &
hook_pid=$!
for _ in $(seq 100); do [[ -s $W/port ]] && break; sleep 0.1; done
port=$(cat "$W/port")
k create namespace "$NS" >/dev/null
k label namespace "$NS" lifeboat.dev/webhook-test=yes >/dev/null
k apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: lifeboat-test-$$}
webhooks:
- name: deny.webhook-test.lifeboat.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 5
  clientConfig:
    url: https://127.0.0.1:$port/validate
    caBundle: $(base64 -w0 "$CLUSTER_CA")
  namespaceSelector: {matchLabels: {lifeboat.dev/webhook-test: "yes"}}
  rules:
  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
EOF
# The configuration takes a moment to reach the apiserver's admission chain.
for _ in $(seq 50); do
	k create configmap probe -n "$NS" >/dev/null 2>&1 && break
	sleep 0.2
done
for _ in $(seq 50); do grep -q "CREATE ConfigMap probe" "$W/reviews.log" 2>/dev/null && break; sleep 0.2; done
t_true "webhook: the apiserver calls it for a matching request" grep -q "CREATE ConfigMap probe lifeboat-admin" "$W/reviews.log"
k create configmap bad2 -n "$NS" -o yaml --dry-run=client | sed 's/^metadata:/metadata:\n  labels: {lifeboat.dev\/deny: "because"}/' >"$W/bad.yaml"
t_run "webhook: an object with the deny label is refused" 1 k create -f "$W/bad.yaml"
t_contains "webhook: the refusal carries the webhook's message" 'admission webhook "deny.webhook-test.lifeboat.dev" denied the request: label lifeboat.dev/deny=because is set'
t_run "webhook: an allowed update passes" 0 k label configmap probe -n "$NS" tier=test
t_true "webhook: the update was reviewed too" grep -q "UPDATE ConfigMap probe lifeboat-admin" "$W/reviews.log"
t_run "webhook: a namespace outside the selector is not reviewed" 0 k create configmap outside-$$ -n default
t_true "webhook: ...and the webhook did not see it" bash -c "! grep -q 'outside-$$' '$W/reviews.log'"
k delete configmap "outside-$$" -n default >/dev/null
kill "$hook_pid"
wait "$hook_pid" 2>/dev/null || true
hook_pid=
t_run "webhook: with failurePolicy Fail, a dead webhook blocks the write" 1 k create configmap after -n "$NS"
t_contains "webhook: ...saying the call failed" 'failed calling webhook "deny.webhook-test.lifeboat.dev"'
