#!/usr/bin/env bash
# tests/helm/run.sh: the Helm chart charts/lifeboat against helm 3 and the
# real kube-apiserver:
#  - the CRD drift check: charts/lifeboat/crds/ holds byte-for-byte copies of
#    crds/*.yaml (the one source of truth), the same set of files;
#  - helm lint; the values schema refusing bad values (replicas not an
#    integer, an unknown rbac.scope or failurePolicy, an env name without
#    LIFEBOAT_, an unknown key) and the chart's own refusals (rbac.scope
#    namespaces without namespaces), each message checked, in lint, template
#    and install;
#  - helm template for both RBAC scopes and both certificate modes, sent to
#    the real API server with kubectl apply --dry-run=server (cert-manager's
#    and the Prometheus Operator's kinds, whose CRDs this cluster lacks, are
#    checked field by field instead); what the server returns is checked:
#    the operator's flags, probes, securityContext, replicas, anti-affinity,
#    the PDB, RBAC rules without secrets, the webhook configuration;
#  - the operator pod against the restricted Pod Security Standard (the
#    release's namespace enforces it; a Pod dry-run, and a worse one refused);
#  - helm install for real (two releases: cluster scope, and namespaces
#    scope), then kubectl auth can-i as the ServiceAccounts, the webhook's
#    caBundle against the Secret's CA (openssl verify, the Service's DNS
#    name), helm upgrade with replicas 1 keeping the certificate, helm
#    uninstall keeping the CRDs.
# The operator pods run in tests/helm/operate.sh; here they are only counted.
#   CLUSTER_DIR   a running cluster (tests/cluster/up); else one is started
#                 (CLUSTER_NODEAGENT=0) and purged at the end. On a shared
#                 cluster the CRDs, when the chart installed them, stay.
#   HELM          a helm 3 binary (default: tests/setup-helm.sh)
# Results go to $LIFEBOAT_RESULTS (tests/lib/t.sh); exit 1 when a check failed.
# shellcheck disable=SC2016 # the bash -c scripts below get their values as "$1"
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=${T_SUITE:-helm}
W=$(mktemp -d /tmp/lifeboat-helm.XXXXXX)
# the summary counts this run's lines of the results file (its own when none
# is given)
if [[ -z ${LIFEBOAT_RESULTS:-} || ! -f ${LIFEBOAT_RESULTS:-} ]]; then LIFEBOAT_RESULTS=$W/results; fi
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
export T_SUITE
CHART=$root/charts/lifeboat
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
own_cluster=0
finished=0
NS=helm-lb-$$     # release A: rbac.scope cluster
WNS=helm-lbw-$$   # watched by both releases
NNS=helm-lbn-$$   # release B: rbac.scope namespaces, watching WNS
ONS=helm-lbo-$$   # watched by nobody
REL=lbt
RELB=lbn
cleanup() {
	local rc=$?
	[[ $rc -ne 0 && $finished -eq 0 ]] && t_fail "helm suite aborted" "exit status $rc (see the output above)"
	if [[ -n ${KUBECONFIG:-} && $own_cluster -eq 0 ]]; then
		h uninstall "$REL" -n "$NS" >/dev/null 2>&1 || true
		h uninstall "$RELB" -n "$NNS" >/dev/null 2>&1 || true
		for n in "$NS" "$WNS" "$NNS" "$ONS"; do k delete namespace "$n" --wait=false --ignore-not-found >/dev/null 2>&1 || true; done
	fi
	if [[ $own_cluster -eq 1 ]]; then timeout 120 "$root/tests/cluster/down" --purge "$C" >/dev/null 2>&1 || true; fi
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT

HELM=${HELM:-$(timeout 900 "$root/tests/setup-helm.sh")}
export HELM_CACHE_HOME=$W/helm/cache HELM_CONFIG_HOME=$W/helm/config HELM_DATA_HOME=$W/helm/data
h() { timeout 120 "$HELM" "$@"; }
# tpl NAME ARGS...: helm template into $W/NAME.yaml
tpl() {
	local name=$1
	shift
	h template "$REL" "$CHART" -n "$NS" "$@" >"$W/$name.yaml"
}
# py CODE ARGS...: a check in Python (standard library) on JSON files
py() { timeout 60 "$PY" -c "$@"; }

echo "  -- the CRDs: charts/lifeboat/crds/ against crds/"
for f in "$root"/crds/*.yaml; do
	t_same "crd drift: charts/lifeboat/crds/$(basename "$f") is crds/$(basename "$f") byte for byte" \
		"$f" "$CHART/crds/$(basename "$f")"
done
t_equals "crd drift: the chart carries the same set of CRD files as crds/" \
	"$(cd "$root/crds" && ls -- *.yaml)" bash -c 'cd "$1" && ls -- *.yaml' _ "$CHART/crds"

echo "  -- helm lint and the values schema"
t_run "helm lint (defaults)" 0 h lint "$CHART"
t_run "helm lint --strict (rbac.scope namespaces, cert-manager, ServiceMonitor)" 0 h lint --strict "$CHART" \
	--set rbac.scope=namespaces --set 'namespaces={a,b}' --set webhook.certManager.enabled=true \
	--set metrics.serviceMonitor.enabled=true
# refuse NAME NEEDLE ARGS...: lint and template both refuse the values with
# a message containing NEEDLE
refuse() {
	local name=$1 needle=$2
	shift 2
	t_run "schema: lint refuses $name" 1 h lint "$CHART" "$@"
	t_contains "schema: ...lint says why ($needle)" "$needle"
	refuse_tpl "$name" "$needle" "$@"
}
# refuse_tpl NAME NEEDLE ARGS...: template refuses the values (the chart's
# own checks, which helm lint reports as INFO only)
refuse_tpl() {
	local name=$1 needle=$2
	shift 2
	t_run "values: template refuses $name" 1 h template "$REL" "$CHART" -n "$NS" "$@"
	t_contains "values: ...template says why ($needle)" "$needle"
}
refuse "replicas=two" "replicas: Invalid type. Expected: integer, given: string" --set-string replicas=two
refuse "replicas=1.5" "replicas: Invalid type. Expected: integer, given: number" --set-json replicas=1.5
refuse "replicas=0" "replicas: Must be greater than or equal to 1" --set replicas=0
refuse "rbac.scope=everywhere" 'rbac.scope: rbac.scope must be one of the following: "cluster", "namespaces"' --set rbac.scope=everywhere
refuse "webhook.failurePolicy=Maybe" 'webhook.failurePolicy: webhook.failurePolicy must be one of the following: "Fail", "Ignore"' --set webhook.failurePolicy=Maybe
refuse "an env name without LIFEBOAT_" "operator.env: Additional property PATH is not allowed" --set operator.env.PATH=/bin
refuse "a misspelt key (replica)" "Additional property replica is not allowed" --set replica=3
refuse_tpl "rbac.scope=namespaces without namespaces" "rbac.scope=namespaces needs the watched namespaces in \`namespaces\`" --set rbac.scope=namespaces
refuse_tpl "2 replicas without leader election" "replicas > 1 needs leaderElection.enabled=true" --set leaderElection.enabled=false
t_run "schema: lint passes LIFEBOAT_ env" 0 h lint "$CHART" --set operator.env.LIFEBOAT_LOG_LEVEL=debug

echo "  -- the cluster"
if [[ -n ${CLUSTER_DIR:-} ]]; then
	C=$CLUSTER_DIR
else
	C=$W/cluster
	own_cluster=1
	CLUSTER_NODEAGENT=0 CLUSTER_TTL=900 timeout 600 "$root/tests/cluster/up" "$C" >/dev/null
fi
# shellcheck disable=SC1091
source "$C/env"
export KUBECONFIG
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 60 "$KUBECTL" --cache-dir "$W/cache" "$@"; }
for n in "$NS" "$WNS" "$NNS" "$ONS"; do k create namespace "$n" >/dev/null; done
# the release's namespace enforces the restricted Pod Security Standard
k label namespace "$NS" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null

t_run "schema: install --dry-run refuses replicas=two" 1 h install "$REL" "$CHART" -n "$NS" --dry-run=server --set-string replicas=two
t_contains "schema: ...install says why" "replicas: Invalid type. Expected: integer, given: string"

# split FILE: cert-manager's and the Prometheus Operator's objects (no CRDs
# here) into FILE.extra.json, the rest into FILE.core.yaml
split() {
	py '
import json, sys
core, extra = [], []
for doc in open(sys.argv[1]).read().split("\n---"):
    keep = []
    kind = api = None
    for line in doc.splitlines():
        if line.startswith("apiVersion:"): api = line.split(":", 1)[1].strip()
        if line.startswith("kind:"): kind = line.split(":", 1)[1].strip()
    if not kind: continue
    (extra if api.startswith(("cert-manager.io/", "monitoring.coreos.com/")) else core).append(doc)
open(sys.argv[1] + ".core.yaml", "w").write("\n---".join(core) + "\n")
open(sys.argv[1] + ".extra.yaml", "w").write("\n---".join(extra) + "\n")
print(len(core), len(extra))
' "$1"
}
# dry NAME: the core objects of $W/NAME.yaml through the real API server;
# what it returns lands in $W/NAME.json
dry() {
	split "$W/$1.yaml" >/dev/null
	t_run "dry-run=server: $1" 0 k apply --dry-run=server -f "$W/$1.yaml.core.yaml"
	k apply --dry-run=server -o json -f "$W/$1.yaml.core.yaml" >"$W/$1.json" 2>/dev/null || echo '{"items":[]}' >"$W/$1.json"
}
# check NAME DESCRIPTION PYTHON: PYTHON (objs: the server's objects, by
# "Kind/name"; raise or assert to fail) on $W/NAME.json
check() {
	local name=$1 what=$2 code=$3
	t_run "$name: $what" 0 py '
import json, sys
d = json.load(open(sys.argv[1]))
items = d.get("items", [d]) if d.get("kind") == "List" else [d]
objs = {o["kind"] + "/" + o["metadata"]["name"] + ("@" + o["metadata"]["namespace"] if o["metadata"].get("namespace") else ""): o for o in items}
def get(kind, name=None, ns=None):
    hits = [o for k, o in objs.items() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name) and (ns is None or o["metadata"].get("namespace") == ns)]
    assert hits, "no %s %s in %s" % (kind, name or "", sorted(objs))
    return hits[0]
def rules_of(kind):
    return [r for o in items if o["kind"] == kind for r in o.get("rules", [])]
def allowed(rules, group, res, verb):
    return any(group in r.get("apiGroups", []) and res in r.get("resources", []) and (verb in r["verbs"] or "*" in r["verbs"]) for r in rules)
'"$code" "$W/$name.json"
}

echo "  -- helm template, both RBAC scopes and both certificate modes, against the API server"
tpl cluster-gen
dry cluster-gen
tpl ns-gen --set rbac.scope=namespaces --set "namespaces={$WNS,$ONS}"
dry ns-gen
tpl cluster-cm --set webhook.certManager.enabled=true
dry cluster-cm
tpl ns-cm --set rbac.scope=namespaces --set "namespaces={$WNS}" --set webhook.certManager.enabled=true \
	--set metrics.serviceMonitor.enabled=true
dry ns-cm
tpl nohook --set webhook.enabled=false --set replicas=1 --set podDisruptionBudget.enabled=false
dry nohook

D=$REL-lifeboat
check cluster-gen "the operator's flags" '
c = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]["containers"][0]
want = ["--leader-elect", "--leader-election-namespace='"$NS"'", "--namespaces=", "--job-image=lifeboat-job:0.1.0",
        "--webhook-addr=:9443", "--webhook-cert-dir=/etc/lifeboat/webhook",
        "--metrics-addr=:8080", "--health-addr=:8081", "--log-format=json", "--log-level=info", "--workers=4"]
assert c["args"] == want, c["args"]
assert c["image"] == "lifeboat-operator:0.1.0", c["image"]
'
check cluster-gen "probes on /healthz and /readyz, port 8081" '
spec = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]
c = spec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert ports == {"metrics": 8080, "health": 8081, "webhook": 9443}, ports
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and ports[c["livenessProbe"]["httpGet"]["port"]] == 8081
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz" and ports[c["readinessProbe"]["httpGet"]["port"]] == 8081
assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], c["resources"]
'
check cluster-gen "securityContext: non-root, read-only root, no capabilities, RuntimeDefault, no escalation" '
spec = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]
c = spec["containers"][0]["securityContext"]
assert c["runAsNonRoot"] is True and c["readOnlyRootFilesystem"] is True and c["allowPrivilegeEscalation"] is False, c
assert c["capabilities"] == {"drop": ["ALL"]}, c
assert c["seccompProfile"]["type"] == "RuntimeDefault" and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
'
check cluster-gen "2 replicas, preferred anti-affinity, a PDB minAvailable 1 over the same pods" '
d = get("Deployment", "'"$D"'")
assert d["spec"]["replicas"] == 2
pref = d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
sel = d["spec"]["selector"]["matchLabels"]
assert pref[0]["podAffinityTerm"]["labelSelector"]["matchLabels"] == sel, pref
assert "requiredDuringSchedulingIgnoredDuringExecution" not in d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
p = get("PodDisruptionBudget", "'"$D"'")
assert p["spec"]["minAvailable"] == 1 and p["spec"]["selector"]["matchLabels"] == sel, p["spec"]
'
check cluster-gen "the webhook Secret mounted at /etc/lifeboat/webhook, a Service 443 -> 9443, metrics 8080" '
spec = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]
m = [v for v in spec["containers"][0]["volumeMounts"] if v["mountPath"] == "/etc/lifeboat/webhook"]
assert m and m[0]["readOnly"], m
vol = [v for v in spec["volumes"] if v["name"] == m[0]["name"]][0]
assert vol["secret"]["secretName"] == "'"$D"'-webhook-tls", vol
s = get("Secret", "'"$D"'-webhook-tls")
assert s["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key", "ca.crt"} <= set(s["data"]), s.get("type")
w = get("Service", "'"$D"'-webhook")["spec"]["ports"][0]
assert w["port"] == 443 and w["targetPort"] == "webhook", w
mt = get("Service", "'"$D"'-metrics")["spec"]["ports"][0]
assert mt["port"] == 8080 and mt["targetPort"] == "metrics", mt
'
check cluster-gen "the MutatingWebhookConfiguration" '
w = get("MutatingWebhookConfiguration")["webhooks"][0]
assert w["failurePolicy"] == "Fail" and w["sideEffects"] == "None" and w["admissionReviewVersions"] == ["v1"], w
assert w["clientConfig"]["service"] == {"name": "'"$D"'-webhook", "namespace": "'"$NS"'", "path": "/mutate-databaserestore", "port": 443}, w["clientConfig"]
assert w["clientConfig"]["caBundle"], "no caBundle"
assert w["rules"] == [{"apiGroups": ["lifeboat.dev"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"], "resources": ["databaserestores"], "scope": "Namespaced"}], w["rules"]
'
check cluster-gen "ClusterRole: what the operator needs" '
r = rules_of("ClusterRole")
for res in ("databasebackups", "backupschedules", "databaserestores"):
    for v in ("get", "list", "watch", "update", "patch"): assert allowed(r, "lifeboat.dev", res, v), (res, v)
    for v in ("update", "patch"): assert allowed(r, "lifeboat.dev", res + "/status", v), (res, v)
for v in ("create", "delete"): assert allowed(r, "lifeboat.dev", "databasebackups", v), v
for v in ("get", "list", "watch", "create", "delete"): assert allowed(r, "batch", "jobs", v), v
for v in ("get", "list", "watch"): assert allowed(r, "", "pods", v), v
for v in ("create", "patch"): assert allowed(r, "", "events", v), v
'
check cluster-gen "ClusterRole: nothing more (no secrets, no wildcards, no deleting schedules or restores)" '
r = rules_of("ClusterRole")
for x in r:
    assert "*" not in x["verbs"] and "*" not in x["resources"] and "*" not in x["apiGroups"], x
    assert "secrets" not in x["resources"], x
assert not allowed(r, "lifeboat.dev", "backupschedules", "delete") and not allowed(r, "lifeboat.dev", "databaserestores", "create")
assert not allowed(r, "", "pods", "delete") and not allowed(r, "batch", "jobs", "update")
crb = get("ClusterRoleBinding")
assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "'"$D"'", "namespace": "'"$NS"'"}], crb["subjects"]
'
check cluster-gen "the Lease Role in the release namespace only" '
ro = get("Role", "'"$D"'-leader-election", "'"$NS"'")
r = ro["rules"]
assert allowed(r, "coordination.k8s.io", "leases", "create") and allowed(r, "coordination.k8s.io", "leases", "get") and allowed(r, "coordination.k8s.io", "leases", "update")
assert [o for o in items if o["kind"] == "Role"] == [ro]
'
check cluster-gen "watching all namespaces: no jobs ServiceAccount (it cannot be made in each), no --job-service-account; the operator's mounts its token" '
assert not [o for o in items if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "lifeboat-job"]
assert get("ServiceAccount", "'"$D"'").get("automountServiceAccountToken", True) is True
'
check ns-gen "watching namespaces: --job-service-account=lifeboat-job, made in each" '
c = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]["containers"][0]
assert "--job-service-account=lifeboat-job" in c["args"], c["args"]
'
check ns-gen "rbac.scope namespaces: a Role and RoleBinding in each watched namespace, no ClusterRole" '
assert not [o for o in items if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
for ns in ("'"$WNS"'", "'"$ONS"'"):
    r = get("Role", "'"$D"'", ns)["rules"]
    assert allowed(r, "batch", "jobs", "create") and not any("secrets" in x["resources"] for x in r)
    b = get("RoleBinding", "'"$D"'", ns)
    assert b["subjects"][0]["namespace"] == "'"$NS"'" and b["roleRef"]["kind"] == "Role", b
    assert get("ServiceAccount", "lifeboat-job", ns)["automountServiceAccountToken"] is False
'
check ns-gen "rbac.scope namespaces: --namespaces and the webhook's namespaceSelector name them" '
c = get("Deployment", "'"$D"'")["spec"]["template"]["spec"]["containers"][0]
assert "--namespaces='"$WNS,$ONS"'" in c["args"], c["args"]
sel = get("MutatingWebhookConfiguration")["webhooks"][0]["namespaceSelector"]["matchExpressions"]
assert sel == [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["'"$WNS"'", "'"$ONS"'"]}], sel
'
check cluster-cm "cert-manager mode: no chart Secret, no caBundle, the cainjector annotation" '
assert not [o for o in items if o["kind"] == "Secret"], "a Secret was rendered"
m = get("MutatingWebhookConfiguration")
assert m["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "'"$NS/$D"'-webhook", m["metadata"]
assert "caBundle" not in m["webhooks"][0]["clientConfig"]
'
t_run "cert-manager mode: its objects" 0 cat "$W/cluster-cm.yaml.extra.yaml"
t_contains "cert-manager mode: a self-signed Issuer" "selfSigned: {}"
t_contains "cert-manager mode: a CA Certificate" "isCA: true"
t_contains "cert-manager mode: the serving Certificate writes the mounted Secret" "secretName: $D-webhook-tls"
t_contains "cert-manager mode: ...for the webhook Service's name" "- $D-webhook.$NS.svc"
t_matches "cert-manager mode: the annotation names that Certificate" "^  name: $D-webhook$"
t_run "cert-manager mode: an issuerRef of one's own replaces the chart's Issuers" 0 \
	h template "$REL" "$CHART" -n "$NS" --set webhook.certManager.enabled=true \
	--set webhook.certManager.issuerRef.name=corp-ca --set webhook.certManager.issuerRef.kind=ClusterIssuer
t_true "cert-manager mode: ...no Issuer rendered then" bash -c '! grep -q "^kind: Issuer" <<<"$1"' _ "$T_OUT"
t_contains "cert-manager mode: ...the Certificate uses it" "kind: ClusterIssuer"
t_run "ServiceMonitor: off by default" 1 grep -q 'kind: ServiceMonitor' "$W/cluster-gen.yaml"
t_run "ServiceMonitor: on when asked (monitoring.coreos.com/v1, port metrics)" 0 cat "$W/ns-cm.yaml.extra.yaml"
t_contains "ServiceMonitor: ...kind" "kind: ServiceMonitor"
t_contains "ServiceMonitor: ...apiVersion" "apiVersion: monitoring.coreos.com/v1"
t_contains "ServiceMonitor: ...the metrics port" "- port: metrics"
echo "  -- the PrometheusRule (field by field: the cluster lacks its CRD)"
t_run "PrometheusRule: off by default" 1 grep -q 'kind: PrometheusRule' "$W/cluster-gen.yaml"
# prule NAME PYTHON ARGS...: PYTHON (r: the rendered PrometheusRule, f: files/alerts.yaml)
prule() {
	local name=$1 code=$2
	shift 2
	h template "$REL" "$CHART" -n "$NS" --set metrics.prometheusRule.enabled=true "$@" \
		--show-only templates/prometheusrule.yaml >"$W/prule.yaml" 2>&1 || true
	t_run "PrometheusRule: $name" 0 py '
import sys, yaml
r = yaml.safe_load(open(sys.argv[1]))
f = yaml.safe_load(open(sys.argv[2]))
'"$code" "$W/prule.yaml" "$CHART/files/alerts.yaml"
}
prule "on when asked: monitoring.coreos.com/v1, the release namespace, the chart's labels" '
assert r["apiVersion"] == "monitoring.coreos.com/v1" and r["kind"] == "PrometheusRule", r
assert r["metadata"]["namespace"] == "'"$NS"'" and r["metadata"]["labels"]["app.kubernetes.io/part-of"] == "lifeboat"
'
prule "its groups are files/alerts.yaml as they are (the file promtool tests)" '
assert r["spec"]["groups"] == f["groups"], "the rendered groups differ from files/alerts.yaml"
assert len([x for g in r["spec"]["groups"] for x in g["rules"]]) == 5
'
t_run "PrometheusRule: promtool check rules accepts the rendered groups" 0 bash -c \
	'"$1" -c "import sys, yaml; yaml.safe_dump({\"groups\": yaml.safe_load(open(sys.argv[1]))[\"spec\"][\"groups\"]}, open(sys.argv[2], \"w\"))" "$2" "$3" && promtool check rules "$3"' \
	_ "$PY" "$W/prule.yaml" "$W/prule-groups.yaml"
prule "labels, ruleLabels (severity kept) and runbookBaseURL" '
assert r["metadata"]["labels"]["release"] == "kps", r["metadata"]["labels"]
want = {x["alert"]: x for g in f["groups"] for x in g["rules"]}
for g in r["spec"]["groups"]:
    for x in g["rules"]:
        w = want[x["alert"]]
        assert x["labels"] == dict(w["labels"], team="db"), x["labels"]
        assert x["annotations"]["runbook_url"] == "https://git.example.com/lifeboat/" + w["annotations"]["runbook_url"], x["annotations"]
        assert x["expr"] == w["expr"] and x.get("for") == w.get("for")
' --set metrics.prometheusRule.labels.release=kps --set metrics.prometheusRule.ruleLabels.team=db \
	--set metrics.prometheusRule.ruleLabels.severity=info \
	--set metrics.prometheusRule.runbookBaseURL=https://git.example.com/lifeboat/
refuse "a misspelt metrics.prometheusRule key (enable)" "Additional property enable is not allowed" --set metrics.prometheusRule.enable=true
t_run "PrometheusRule: helm lint --strict with it on" 0 h lint --strict "$CHART" --set metrics.prometheusRule.enabled=true
check nohook "webhook off: no webhook flags, Service, Secret or configuration; replicas 1, no PDB" '
d = get("Deployment", "'"$D"'")
a = d["spec"]["template"]["spec"]["containers"][0]["args"]
assert not [x for x in a if x.startswith("--webhook")], a
assert d["spec"]["replicas"] == 1
assert not [k for k in objs if k.startswith(("MutatingWebhookConfiguration/", "Secret/", "Service/'"$D"'-webhook", "PodDisruptionBudget/"))], sorted(objs)
'
t_run "jobs SA: watching all with jobs.serviceAccount.create=false" 0 h template "$REL" "$CHART" -n "$NS" --set jobs.serviceAccount.create=false --set jobs.serviceAccount.name=backup-runner
t_contains "jobs SA: ...passes the name given, for accounts made by hand" "--job-service-account=backup-runner"
t_run "env: LIFEBOAT_ variables from operator.env" 0 h template "$REL" "$CHART" -n "$NS" --set operator.env.LIFEBOAT_LOG_LEVEL=debug
t_matches "env: ...reach the container" '^        - name: LIFEBOAT_LOG_LEVEL$'
tpl again
t_true "helm template twice: a new certificate each time (so keeping it on upgrade is lookup's doing)" \
	bash -c '! cmp -s <(grep "tls.crt:" "$1") <(grep "tls.crt:" "$2")' _ "$W/cluster-gen.yaml" "$W/again.yaml"

echo "  -- helm install for real"
t_run "helm install (rbac.scope cluster, watching $WNS)" 0 h install "$REL" "$CHART" -n "$NS" --set "namespaces={$WNS}" --set operator.listenOnPodIP=true
t_contains "NOTES: the next command, kubectl apply -f examples/backup.yaml" "kubectl apply -f examples/backup.yaml -n $WNS"
t_contains "NOTES: ...then kubectl get dbb" "kubectl get dbb -n $WNS"
t_run "helm install of a second release (rbac.scope namespaces, watching $WNS)" 0 h install "$RELB" "$CHART" -n "$NNS" \
	--set rbac.scope=namespaces --set "namespaces={$WNS}" --set jobs.serviceAccount.create=false --set operator.listenOnPodIP=true
for crd in databasebackups backupschedules databaserestores; do
	t_run "the CRD $crd.lifeboat.dev is there and Established" 0 k wait --for=condition=Established "crd/$crd.lifeboat.dev" --timeout=30s
done
t_equals "the Deployment exists with 2 replicas" 2 k -n "$NS" get deployment "$D" -o 'jsonpath={.spec.replicas}'
pods_made() { [[ $(k -n "$NS" get pods -l app.kubernetes.io/instance=$REL,app.kubernetes.io/name=lifeboat-operator -o name | wc -l) -eq 2 ]]; }
ok=0
for _ in $(seq 60); do if pods_made; then ok=1; break; fi; sleep 0.5; done
t_true "the ReplicaSet's 2 pods are admitted in the restricted namespace" test "$ok" -eq 1
py '
import json, sys
d = json.load(open(sys.argv[1]))
dep = [o for o in d["items"] if o["kind"] == "Deployment"][0]
t = dep["spec"]["template"]
json.dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lifeboat-pss-probe", "namespace": sys.argv[2], "labels": t["metadata"]["labels"]}, "spec": t["spec"]}, open(sys.argv[1] + ".pod.json", "w"))
' "$W/cluster-gen.json" "$NS" || true
t_run "the operator pod passes the restricted Pod Security Standard (a Pod dry-run in a namespace enforcing it)" 0 \
	k apply --dry-run=server -f "$W/cluster-gen.json.pod.json"
t_run "...which does refuse the same pod with allowPrivilegeEscalation true" 1 bash -c \
	'sed "s/\"allowPrivilegeEscalation\": false/\"allowPrivilegeEscalation\": true/" "$1" >"$1.bad" && "$2" --kubeconfig "$KUBECONFIG" --cache-dir "$3" apply --dry-run=server -f "$1.bad"' \
	_ "$W/cluster-gen.json.pod.json" "$KUBECTL" "$W/cache"
t_contains "...saying why" 'violates PodSecurity "restricted:latest"'
t_equals "the Services exist" "$D-metrics $D-webhook" k -n "$NS" get services -l app.kubernetes.io/instance=$REL -o 'jsonpath={.items[*].metadata.name}'
t_equals "the webhook configuration exists" "requested-by.lifeboat.dev" k get mutatingwebhookconfiguration "$D-requested-by" -o 'jsonpath={.webhooks[*].name}'
t_equals "the webhook Secret exists (kubernetes.io/tls)" kubernetes.io/tls k -n "$NS" get secret "$D-webhook-tls" -o 'jsonpath={.type}'
t_equals "the PodDisruptionBudget exists" 1 k -n "$NS" get pdb "$D" -o 'jsonpath={.spec.minAvailable}'

OSA=system:serviceaccount:$NS:$D
JSA=system:serviceaccount:$WNS:lifeboat-job
BSA=system:serviceaccount:$NNS:$RELB-lifeboat
# can NAME WANT(yes|no) ARGS...: kubectl auth can-i ARGS prints WANT
can() {
	local name=$1 want=$2
	shift 2
	local got
	got=$(k auth can-i "$@" 2>/dev/null) || true
	if [[ $got == "$want" ]]; then t_pass "can-i: $name: $want"; else t_fail "can-i: $name: $want" "kubectl auth can-i $* said \"$got\""; fi
}
# gone NAME ARGS...: kubectl get ARGS -o name --ignore-not-found prints nothing
gone() {
	local name=$1 got
	shift
	got=$(k get "$@" -o name --ignore-not-found 2>&1) || got="kubectl failed: $got"
	if [[ -z $got ]]; then t_pass "$name"; else t_fail "$name" "still there: $got"; fi
}
# revision: the release $REL's revision
revision() { h status "$REL" -n "$NS" | sed -n 's/^REVISION: //p'; }
for ns in "$WNS" "$ONS" "$NS"; do
	can "the operator get secrets in $ns" no get secrets -n "$ns" --as "$OSA"
	can "the operator list secrets in $ns" no list secrets -n "$ns" --as "$OSA"
	can "the jobs SA get secrets in $ns" no get secrets -n "$ns" --as "$JSA"
done
can "the operator watch secrets, all namespaces" no watch secrets -A --as "$OSA"
can "the operator create jobs" yes create jobs.batch -n "$WNS" --as "$OSA"
can "the operator delete jobs" yes delete jobs.batch -n "$WNS" --as "$OSA"
can "the operator update databasebackups/status" yes update databasebackups.lifeboat.dev --subresource=status -n "$WNS" --as "$OSA"
can "the operator patch databaserestores/status" yes patch databaserestores.lifeboat.dev --subresource=status -n "$WNS" --as "$OSA"
can "the operator create databasebackups" yes create databasebackups.lifeboat.dev -n "$WNS" --as "$OSA"
can "the operator delete backupschedules" no delete backupschedules.lifeboat.dev -n "$WNS" --as "$OSA"
can "the operator delete pods" no delete pods -n "$WNS" --as "$OSA"
can "the operator create events" yes create events -n "$WNS" --as "$OSA"
can "the operator update the Lease lifeboat-operator in its namespace" yes update leases.coordination.k8s.io/lifeboat-operator -n "$NS" --as "$OSA"
can "the operator update another Lease" no update leases.coordination.k8s.io/other -n "$NS" --as "$OSA"
can "the operator create leases in a watched namespace" no create leases.coordination.k8s.io -n "$WNS" --as "$OSA"
can "the jobs SA create jobs" no create jobs.batch -n "$WNS" --as "$JSA"
can "the jobs SA get databasebackups" no get databasebackups.lifeboat.dev -n "$WNS" --as "$JSA"
can "the jobs SA get pods" no get pods -n "$WNS" --as "$JSA"
t_equals "the jobs SA (in the watched $WNS) mounts no token" false k -n "$WNS" get serviceaccount lifeboat-job -o 'jsonpath={.automountServiceAccountToken}'
can "namespaces scope: the operator create jobs in $WNS" yes create jobs.batch -n "$WNS" --as "$BSA"
can "namespaces scope: the operator update databasebackups/status in $WNS" yes update databasebackups.lifeboat.dev --subresource=status -n "$WNS" --as "$BSA"
can "namespaces scope: ...not in the unwatched $ONS" no create jobs.batch -n "$ONS" --as "$BSA"
can "namespaces scope: ...nor in the default namespace" no list databasebackups.lifeboat.dev -n default --as "$BSA"
can "namespaces scope: the operator get secrets in $WNS" no get secrets -n "$WNS" --as "$BSA"

echo "  -- the webhook's certificate"
k get mutatingwebhookconfiguration "$D-requested-by" -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' >"$W/cabundle.1"
k -n "$NS" get secret "$D-webhook-tls" -o 'jsonpath={.data.ca\.crt}' >"$W/ca.1"
k -n "$NS" get secret "$D-webhook-tls" -o 'jsonpath={.data.tls\.crt}' >"$W/crt.1"
t_true "the caBundle is not empty" test -s "$W/cabundle.1"
t_same "the caBundle is the Secret's ca.crt" "$W/cabundle.1" "$W/ca.1"
base64 -d "$W/ca.1" >"$W/ca.pem"
base64 -d "$W/crt.1" >"$W/crt.pem"
t_run "the serving certificate verifies against that CA (openssl verify)" 0 timeout 30 openssl verify -CAfile "$W/ca.pem" "$W/crt.pem"
t_run "the serving certificate's names" 0 timeout 30 openssl x509 -in "$W/crt.pem" -noout -ext subjectAltName
t_contains "...include the webhook Service's $D-webhook.$NS.svc" "DNS:$D-webhook.$NS.svc"

echo "  -- helm upgrade"
t_run "helm upgrade with replicas 1" 0 h upgrade "$REL" "$CHART" -n "$NS" --set "namespaces={$WNS}" --set replicas=1 --set operator.listenOnPodIP=true
t_equals "upgrade: the Deployment has 1 replica" 1 k -n "$NS" get deployment "$D" -o 'jsonpath={.spec.replicas}'
t_equals "upgrade: revision 2" 2 revision
k -n "$NS" get secret "$D-webhook-tls" -o 'jsonpath={.data.tls\.crt}' >"$W/crt.2"
k -n "$NS" get secret "$D-webhook-tls" -o 'jsonpath={.data.ca\.crt}' >"$W/ca.2"
k get mutatingwebhookconfiguration "$D-requested-by" -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' >"$W/cabundle.2"
t_same "upgrade: the same serving certificate" "$W/crt.1" "$W/crt.2"
t_same "upgrade: the same CA" "$W/ca.1" "$W/ca.2"
t_same "upgrade: the same caBundle" "$W/cabundle.1" "$W/cabundle.2"
t_run "upgrade: a bad value is refused and changes nothing" 1 h upgrade "$REL" "$CHART" -n "$NS" --set rbac.scope=both
t_equals "upgrade: ...still revision 2" 2 revision

echo "  -- helm uninstall"
t_run "helm uninstall" 0 h uninstall "$REL" -n "$NS"
t_run "helm uninstall of the second release" 0 h uninstall "$RELB" -n "$NNS"
gone "uninstall: the Deployment is gone" -n "$NS" deployment "$D"
gone "uninstall: the webhook configuration is gone" mutatingwebhookconfiguration "$D-requested-by"
gone "uninstall: the webhook Secret is gone" -n "$NS" secret "$D-webhook-tls"
gone "uninstall: the ClusterRole is gone" clusterrole "$D"
for crd in databasebackups backupschedules databaserestores; do
	t_equals "uninstall: the CRD $crd.lifeboat.dev stays" "customresourcedefinition.apiextensions.k8s.io/$crd.lifeboat.dev" \
		k get crd "$crd.lifeboat.dev" -o name
done

passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^PASS $T_SUITE: " || true)
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
echo "helm: $passed passed, $failed failed"
finished=1
[[ $failed -eq 0 ]]
