#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2016 # T_SUITE and T_OUT are read by tests/lib/t.sh; the bash -c and on-exit strings expand later
# tests/helm/operate.sh: the operator as charts/lifeboat installs it, running.
# The node agent runs the Deployment's pods like a kubelet: the chart's
# command, args and env, its securityContext, the ServiceAccount's projected
# token (in-cluster configuration, no kubeconfig), its probes. So the RBAC the
# operator works under is the chart's, and nothing else:
#  - helm install into a namespace enforcing the restricted Pod Security
#    Standard, watching one namespace; both replicas Ready (/readyz through
#    the probes); one holds the Lease;
#  - kubectl auth can-i get/list secrets as the operator's ServiceAccount: no;
#  - a DatabaseBackup completes; a DatabaseRestore completes (the chart's
#    admission webhook, reached through its Service, records who asked), the
#    data restored;
#  - a rule taken out of the chart's ClusterRole shows up as the operator's
#    Forbidden (its own identity in the message), and helm upgrade puts it back;
#  - helm upgrade with changed values rolls out new pods, keeps every backup,
#    and the new pods complete a new backup;
#  - helm uninstall keeps the CRDs, the DatabaseBackups and the backups in
#    storage, and removes the operator.
# The pods share the host's network here, so the release sets
# operator.listenOnPodIP (each replica binds its own loopback pod IP).
#   CLUSTER_DIR   a running cluster with the node agent (else one is started)
#   HELM          a helm 3 binary (default: tests/setup-helm.sh)
T_SUITE=helm-operate
E2E_NAME=helm-op
if [[ -z ${LIFEBOAT_RESULTS:-} ]]; then LIFEBOAT_RESULTS=$(mktemp /tmp/lifeboat-helm-op-results.XXXXXX); fi
export LIFEBOAT_RESULTS
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
CHART=$root/charts/lifeboat
RNS=helm-op-sys-$$
REL=lbop
D=$REL-lifeboat
HELM=${HELM:-$(timeout 900 "$root/tests/setup-helm.sh")}
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
h() { timeout 300 "$HELM" "$@"; }
finished=0
e2e_on_exit 'h uninstall "$REL" -n "$RNS" >/dev/null 2>&1; kubectl delete namespace "$RNS" "$NS" --wait=false --ignore-not-found >/dev/null 2>&1'
e2e_on_exit '[[ $finished == 1 ]] || t_fail "suite aborted" "it stopped before its end (see the output above)"'
VALUES=(--set "namespaces={$NS}" --set operator.listenOnPodIP=true --set operator.logLevel=info)

kubectl create namespace "$RNS" >/dev/null
kubectl label namespace "$RNS" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest >/dev/null
# The README's quickstart: examples/backup.yaml and examples/restore.yaml as
# they are (their Secrets, claim and names), on this PostgreSQL's port, with
# the role they name (app, password change-me) owning the tables.
pg_psql postgres -q -c "CREATE ROLE app LOGIN PASSWORD 'change-me' IN ROLE pg_read_all_data" >/dev/null
pg_psql postgres -q -c "ALTER DATABASE app OWNER TO app" >/dev/null
pg_psql app -q -c "ALTER TABLE t OWNER TO app" >/dev/null
sed "s/port: 5432/port: $PGTEST_PORT/" "$root/examples/backup.yaml" >"$WORK/backup.yaml"
sed "s/^\( *\)host: 127.0.0.1\(.*\)$/\1host: 127.0.0.1\2\n\1port: $PGTEST_PORT/" "$root/examples/restore.yaml" >"$WORK/restore.yaml"
VOL=$CLUSTER_DIR/volumes/$NS/backups
PASSPHRASE=change-me-to-a-long-random-passphrase

sel="app.kubernetes.io/instance=$REL,app.kubernetes.io/name=lifeboat-operator"
# ready_pods: the names of the operator's Ready pods that are not being deleted
ready_pods() {
	kubectl -n "$RNS" get pods -l "$sel" -o jsonpath='{range .items[?(@.status.conditions)]}{.metadata.name} {.metadata.deletionTimestamp} {range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\n"}{end}' |
		awk '$2 == "True" && NF == 2 {print $1}' | sort
}
# rolled N: the Deployment's rollout finished with N Ready pods of its newest
# ReplicaSet
rolled() {
	kubectl -n "$RNS" rollout status "deployment/$D" --timeout=150s >/dev/null 2>&1 &&
		[[ $(ready_pods | wc -l) -eq $1 ]]
}
waitfor() { # SECONDS CMD...: true once CMD is
	local i
	for ((i = 0; i < $1 * 2; i++)); do "${@:2}" && return 0; sleep 0.5; done
	return 1
}
holder() { kubectl -n "$RNS" get lease lifeboat-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
holder_is_a_pod() { local h; h=$(holder); [[ -n $h ]] && grep -qx -- "$h" <<<"$(ready_pods)"; }
oplogs() { # all the operator pods' logs so far
	local p
	for p in $(kubectl -n "$RNS" get pods -l "$sel" -o name); do kubectl -n "$RNS" logs "$p" 2>/dev/null || true; done
}
DB="{host: 127.0.0.1, port: $PGTEST_PORT, user: app, database: app, sslMode: disable,
             passwordSecretRef: {name: app-db, key: password}}"
backup() { # NAME
	kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: $1}
spec:
  database: $DB
  storage: {volume: {claimName: backups}}
  encryption: {passphraseSecretRef: {name: backup-passphrase, key: passphrase}}
  deletionPolicy: Retain
YAML
}
rfield() { kubectl -n "$NS" get dbr "$1" -o jsonpath="{$2}" 2>/dev/null || true; }
rwait() { # NAME PHASE...: the phase reached (3 min)
	local p i want
	for ((i = 0; i < 360; i++)); do
		p=$(rfield "$1" .status.phase)
		for want in "${@:2}"; do [[ $p == "$want" ]] && { echo "$p"; return 0; }; done
		sleep 0.5
	done
	echo "${p:-none}"
}
sums() { pg_psql app -Atc "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t"; }

echo "  -- helm install, the operator running as the Deployment says"
t_run "helm install (restricted namespace $RNS, watching $NS, listenOnPodIP)" 0 h install "$REL" "$CHART" -n "$RNS" "${VALUES[@]}"
printf "%s\n" "$T_OUT" >"$WORK/install.txt"
sed "s/^/    /" "$WORK/install.txt"
t_true "both replicas become Ready (the readiness probe on /readyz, through each pod's IP)" waitfor 150 rolled 2
kubectl -n "$RNS" get pods -l "$sel" -o wide || true
POD=$(ready_pods | sed -n 1p)
T_OUT=$(kubectl -n "$RNS" get pod "$POD" -o jsonpath='{.spec.serviceAccountName} {.spec.containers[0].image} {.spec.containers[0].args}' 2>&1 || true)
t_contains "the pod runs under the chart's ServiceAccount $D" "$D lifeboat-operator:"
t_contains "...with the chart's args (--leader-elect, --namespaces=$NS)" "--namespaces=$NS"
t_true "...and no kubeconfig: in-cluster configuration from the projected token" \
	bash -c '! grep -q -- --kubeconfig <<<"$1"' _ "$T_OUT"
t_equals "...the token volume is the ServiceAccount admission's projection" /var/run/secrets/kubernetes.io/serviceaccount \
	kubectl -n "$RNS" get pod "$POD" -o jsonpath='{.spec.containers[0].volumeMounts[?(@.name=="'"$(kubectl -n "$RNS" get pod "$POD" -o jsonpath='{.spec.volumes[?(@.projected)].name}' | awk '{print $1}')"'")].mountPath}'
t_equals "the operator runs as the chart's non-root user 65532" 65532 kubectl -n "$RNS" get pod "$POD" -o jsonpath='{.spec.securityContext.runAsUser}'
t_true "one replica holds the Lease lifeboat-operator in $RNS, as its pod's name (POD_NAME)" waitfor 60 holder_is_a_pod
echo "    Lease holder: $(holder)"
t_equals "the Lease was taken with the ServiceAccount's rights (the chart's Role)" "" \
	bash -c "$(declare -f oplogs); $(declare -f kubectl); RNS=$RNS sel='$sel' KUBECTL='$KUBECTL' WORK='$WORK'; oplogs | grep -m1 'Lease request failed' || true"

OSA=system:serviceaccount:$RNS:$D
for verb in get list watch; do
	T_OUT=$(kubectl auth can-i "$verb" secrets -n "$NS" --as "$OSA" 2>/dev/null || true)
	t_equals "kubectl auth can-i $verb secrets --as $OSA: no" no echo "$T_OUT"
done
T_OUT=$(kubectl auth can-i create jobs.batch -n "$NS" --as "$OSA" 2>/dev/null || true)
t_equals "kubectl auth can-i create jobs --as $OSA: yes" yes echo "$T_OUT"

echo "  -- a DatabaseBackup and a DatabaseRestore under the chart's RBAC"
t_run "kubectl apply -f examples/backup.yaml" 0 kubectl -n "$NS" apply -f "$WORK/backup.yaml"
t_equals "app-backup reaches Completed" Completed wait_phase app-backup Completed Failed
kubectl -n "$NS" get dbb >"$WORK/get-dbb.txt" 2>&1 || true
cat "$WORK/get-dbb.txt"
t_equals "app-backup: its Job ran under the chart's jobs ServiceAccount" lifeboat-job \
	kubectl -n "$NS" get job app-backup-backup -o jsonpath='{.spec.template.spec.serviceAccountName}'
t_equals "app-backup: ...which mounts no token" false \
	kubectl -n "$NS" get job app-backup-backup -o jsonpath='{.spec.template.spec.automountServiceAccountToken}'
t_true "app-backup: the artifact is in the volume" bash -c "ls '$VOL/$NS/app-backup/manifest.json'"
T_OUT=$(oplogs)
t_contains "the leader's log: JSON lines (the chart's --log-format), reconciling" '"msg":"leading: reconciling"'
# docs/encryption.md's "opened by hand" lines, as they are (namespace
# renamed), beside the backup's object: the passphrase from the Secret, the
# checksum from the status, gpg and zstd and pg_restore. Without pipefail, as
# a user's shell runs them: pg_restore --list stops reading after the table
# of contents, so gpg gets SIGPIPE; the table of contents is what is checked.
sed -n '/^<!-- opened-by-hand/,/^<!-- \/opened-by-hand/p' "$root/docs/encryption.md" | sed '/^```sh$/,/^```$/!d; /^```/d' |
	sed "s/ -n app / -n $NS /g" >"$WORK/by-hand.sh"
t_true "docs/encryption.md: the lines that open a backup by hand are there (6)" test "$(grep -c . "$WORK/by-hand.sh")" -eq 6
mkdir -p "$WORK/by-hand" && install -d -m 700 "$WORK/gnupg"
# The lines ask kubectl for the object's name (db-<attempt>.dump.zst.pgp)
# and read it from the current folder, where a download would put it.
ln -s "$VOL/$NS/app-backup/"db-*.dump.zst.pgp "$WORK/by-hand/"
t_run "docs/encryption.md: ...and open app-backup with gpg, zstd and pg_restore" 0 env GNUPGHOME="$WORK/gnupg" KUBECTL="$KUBECTL" bash -c \
	'set -e; kubectl() { timeout 60 "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }; cd "$1" && source "$2"' _ "$WORK/by-hand" "$WORK/by-hand.sh"
t_contains "docs/encryption.md: ...the location the status gives" "file:///backup-volume/$NS/app-backup/"
T_OUT=$(cat "$WORK/by-hand/toc.txt" 2>/dev/null || true)
t_contains "docs/encryption.md: ...the table of contents lists table t" "TABLE public t app"
SUM_B1=$(sums)
pg_psql app -q -c "DELETE FROM t WHERE id > 10" >/dev/null
# The chart's webhook Service has no endpoints here (pod IPs are loopback
# addresses, which EndpointSlices refuse): an ExternalName Service of the same
# name points the apiserver at one replica's IP, and the configuration at the
# container port. The apiserver still checks the certificate against
# <service>.<namespace>.svc and the chart's caBundle.
kubectl -n "$RNS" get svc "$D-webhook" -o json >"$WORK/websvc.json"
/usr/bin/python3 - "$WORK/websvc.json" "$(kubectl -n "$RNS" get pod "$POD" -o jsonpath='{.status.podIP}')" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
m = s["metadata"]
json.dump({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": m["name"], "namespace": m["namespace"], "labels": m.get("labels", {}),
                        "annotations": m.get("annotations", {})},
           "spec": {"type": "ExternalName", "externalName": sys.argv[2]}}, open(sys.argv[1] + ".ext", "w"))
PY
t_run "the webhook Service, by the same name, as ExternalName to $POD's IP" 0 \
	bash -c '"$1" --kubeconfig "$KUBECONFIG" -n "$2" delete svc "$3" && "$1" --kubeconfig "$KUBECONFIG" create -f "$4"' \
	_ "$KUBECTL" "$RNS" "$D-webhook" "$WORK/websvc.json.ext"
t_run "...and the webhook configuration at the container port 9443" 0 kubectl patch mutatingwebhookconfiguration "$D-requested-by" \
	--type=json -p '[{"op": "replace", "path": "/webhooks/0/clientConfig/service/port", "value": 9443}]'
ME=$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}' 2>/dev/null || true)
t_run "kubectl apply -f examples/restore.yaml" 0 kubectl -n "$NS" apply -f "$WORK/restore.yaml"
t_equals "app-restore reaches Completed" Completed rwait app-restore Completed Failed
t_equals "app-restore: the data is app-backup's again" "$SUM_B1" sums
t_equals "app-restore: its safety backup Completed" Completed wait_phase app-restore-safety Completed Failed
T_OUT=$(rfield app-restore .status.requestedBy)
t_contains "app-restore: the chart's webhook recorded who asked ($ME), its certificate verified by the apiserver" "${ME:-no whoami} (groups:"
kubectl -n "$NS" get dbr >"$WORK/get-dbr.txt" 2>&1 || true
cat "$WORK/get-dbr.txt"
t_true "app-restore: the audit record is in storage" bash -c "find '$VOL/$NS/_restores' -name app-restore.json | grep -q ."

# The README's quickstart shows this run's output: the same NOTES (with its
# names), the same columns, the same rows' names and phases.
readme() { # WHAT FILE
	/usr/bin/python3 - "$root/README.md" "$1" "$2" "$RNS" "$REL" "$D" "$NS" <<'PY'
import sys
readme, what, live, rns, rel, dep, ns = sys.argv[1:]
text = open(readme).read()
sec = text[text.index("## Quickstart: on Kubernetes"):]
sec = sec[:sec.index("\n## ", 5)]
block = sec.split("\n```\n$ helm install", 1)[1].split("\n```", 1)[0].split("\n")
live = open(live).read().split("\n")
def shown(cmd):  # README's lines after "$ CMD", up to the next "$ "
    i = block.index("$ " + cmd)
    out = []
    for line in block[i + 1:]:
        if line.startswith("$ "):
            break
        out.append(line)
    return out
if what == "notes":
    notes = block[block.index("NOTES:") + 1:block.index("$ kubectl -n app get dbb")]
    for line in notes:
        want = (line.replace("lifeboat-system", rns).replace("release lifeboat)", "release %s)" % rel)
                .replace("deployment/lifeboat", "deployment/" + dep).replace("-n app", "-n " + ns)
                .replace("namespaces: app.", "namespaces: %s." % ns))
        assert want in live, "README's NOTES line %r is not in helm's output:\n%s" % (want, "\n".join(live))
else:
    got = shown("kubectl -n app get " + what)
    assert got[0].split() == live[0].split(), "README's columns %s, live %s" % (got[0].split(), live[0].split())
    rows = {r.split()[0]: r.split()[1] for r in live[1:] if r.strip()}
    for r in got[1:]:
        name, phase = r.split()[:2]
        assert rows.get(name) == phase, "README shows %s %s; live: %s" % (name, phase, rows)
PY
}
t_true "README's quickstart: helm install's NOTES as it shows them" readme notes "$WORK/install.txt"
t_true "README's quickstart: kubectl get dbb, the columns and rows it shows" readme dbb "$WORK/get-dbb.txt"
t_true "README's quickstart: kubectl get dbr, the columns and rows it shows" readme dbr "$WORK/get-dbr.txt"

echo "  -- the RBAC really is the chart's"
kubectl get clusterrole "$D" -o json >"$WORK/role.json"
/usr/bin/python3 - "$WORK/role.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for rule in r["rules"]:
    if "jobs" in rule.get("resources", []) and "create" in rule.get("verbs", []):
        rule["verbs"] = [v for v in rule["verbs"] if v != "create"]
for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
    r["metadata"].pop(k, None)
json.dump(r, open(sys.argv[1], "w"))
PY
t_run "the ClusterRole loses create on jobs (by hand, behind helm's back)" 0 kubectl replace -f "$WORK/role.json"
backup b-denied
forbidden() { oplogs | grep -q "system:serviceaccount:$RNS:$D.*cannot create resource .*jobs"; }
t_true "the operator's log: Forbidden, naming its own ServiceAccount" waitfor 90 forbidden
t_equals "...and the backup is not Completed" "" bash -c "p=\$('$KUBECTL' -n $NS get dbb b-denied -o jsonpath='{.status.phase}'); [[ \$p == Completed ]] && echo \$p; true"

echo "  -- helm upgrade: changed values roll out and keep every backup"
# helm makes the chart's Service again (a release object that is missing is
# created on upgrade)
kubectl -n "$RNS" delete svc "$D-webhook" >/dev/null
OLD=$(ready_pods | tr '\n' ' ')
t_run "helm upgrade (workers 2, log level debug)" 0 h upgrade "$REL" "$CHART" -n "$RNS" "${VALUES[@]}" --set operator.workers=2 --set operator.logLevel=debug
t_true "upgrade: the rollout finishes with 2 Ready pods" waitfor 200 rolled 2
NEW=$(ready_pods | tr '\n' ' ')
t_true "upgrade: they are new pods ($NEW, before: $OLD)" bash -c 'for p in $1; do [[ " $2 " == *" $p "* ]] && exit 1; done; true' _ "$NEW" "$OLD"
T_OUT=$(kubectl -n "$RNS" get deployment "$D" -o jsonpath='{.spec.template.spec.containers[0].args}')
t_contains "upgrade: ...and --workers=2" "--workers=2"
T_OUT=$(kubectl get clusterrole "$D" -o json)
t_true "upgrade: helm put create on jobs back into the ClusterRole" /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert any("jobs" in x.get("resources", []) and "create" in x.get("verbs", []) for x in r["rules"]), r["rules"]' "$T_OUT"
t_true "upgrade: the new leader holds the Lease" waitfor 60 holder_is_a_pod
t_equals "upgrade: the webhook Service is the chart's again" "ClusterIP 443" \
	kubectl -n "$RNS" get svc "$D-webhook" -o jsonpath='{.spec.type} {.spec.ports[0].port}'
t_equals "upgrade: ...and so is the webhook configuration's port" 443 \
	kubectl get mutatingwebhookconfiguration "$D-requested-by" -o jsonpath='{.webhooks[0].clientConfig.service.port}'

t_equals "upgrade: the backup that was refused now completes" Completed wait_phase b-denied Completed Failed
t_equals "upgrade: app-backup is still there, Completed" Completed field app-backup .status.phase
t_equals "upgrade: app-restore is still there, Completed" Completed rfield app-restore .status.phase
backup b2
t_equals "upgrade: a new backup completes under the new pods" Completed wait_phase b2 Completed Failed

echo "  -- helm uninstall"
t_run "helm uninstall" 0 h uninstall "$REL" -n "$RNS" --wait --timeout 120s
gone() { [[ -z $(kubectl -n "$RNS" get pods -l "$sel" -o name 2>/dev/null) ]]; }
t_true "uninstall: the operator's pods are gone" waitfor 90 gone
t_equals "uninstall: the Deployment is gone" "" kubectl -n "$RNS" get deployment "$D" -o name --ignore-not-found
for crd in databasebackups backupschedules databaserestores; do
	t_equals "uninstall: the CRD $crd.lifeboat.dev stays" "customresourcedefinition.apiextensions.k8s.io/$crd.lifeboat.dev" \
		kubectl get crd "$crd.lifeboat.dev" -o name
done
t_equals "uninstall: every DatabaseBackup stays" "app-backup app-restore-safety b-denied b2" \
	bash -c "'$KUBECTL' -n $NS get dbb -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ \$//'"
t_equals "uninstall: the DatabaseRestore stays" app-restore kubectl -n "$NS" get dbr -o jsonpath='{.items[*].metadata.name}'
printf '%s\n' "$PASSPHRASE" >"$WORK/passphrase"
for b in app-backup b2 b-denied safety/app-restore-safety; do
	store=$VOL
	[[ $b == */* ]] && store=$VOL/${b%%/*} # examples/restore.yaml: the safety backup under subPath safety
	t_true "uninstall: ${b#*/} stays in storage and verifies" timeout 120 "$BIN/lifeboat" verify \
		--storage "file://$store" --namespace "$NS" --name "${b#*/}" --passphrase-file "$WORK/passphrase"
done

passed=$(grep -c "^PASS $T_SUITE: " "$LIFEBOAT_RESULTS" || true)
failed=$(grep -c "^FAIL $T_SUITE: " "$LIFEBOAT_RESULTS" || true)
echo "helm-operate: $passed passed, $failed failed"
finished=1
[[ $failed -eq 0 ]]
