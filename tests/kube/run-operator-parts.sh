#!/usr/bin/env bash
# The operator's parts on their own, against real peers:
#  - metrics: a render of the operator's families through two real parsers
#    (promtool check metrics from Debian's prometheus package, and Python's
#    prometheus_client text parser);
#  - serve: /healthz, /readyz, /metrics over HTTP with curl (status codes,
#    Content-Type, a parseable body, 404/405), and a clean stop on SIGTERM;
#  - leader election (kubetool leader) against the real kube-apiserver: two
#    electors -> exactly one leads; SIGKILL of the leader -> the other leads
#    after the lease expires (within lease duration + retry period), not
#    before; SIGTERM -> the Lease is released and a standby leads within ~3 s;
#    a leader whose apiserver answers 503 to everything (tests/cluster/
#    faultproxy.py) reports STOPPED within the renew deadline, before the
#    standby can lead; the Lease's fields checked with kubectl;
#  - events (kubetool events): repeated events aggregate into one Event with
#    a count, seen with kubectl; a burst never blocks.
#   KUBETOOL      the kubetool binary (build/kubetool or build/asan/kubetool)
#   CLUSTER_DIR   a running cluster (tests/cluster/up); else one is started
#                 (CLUSTER_NODEAGENT=0) and purged at the end
# shellcheck disable=SC2016 # the bash -c scripts below get their values as "$1"
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=${T_SUITE:-operator-parts}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
export T_SUITE
KUBETOOL=${KUBETOOL:?set KUBETOOL to the kubetool binary}
KUBETOOL=$(cd "$(dirname "$KUBETOOL")" && pwd)/$(basename "$KUBETOOL")
W=$(mktemp -d /tmp/lifeboat-parts.XXXXXX)
own_cluster=0
bg_pids=() # every background process started here (each a `timeout`), by pid
cleanup() {
	local rc=$? p c
	[[ $rc -ne 0 ]] && t_fail "operator-parts suite aborted" "exit status $rc (see the output above)"
	# SIGTERM (timeout passes it on: electors release), then SIGKILL for
	# anything still there: the child first (timeout does not pass SIGKILL
	# on), then timeout itself.
	for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${bg_pids[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		for c in $(pgrep -P "$p" 2>/dev/null); do kill -KILL "$c" 2>/dev/null || true; done
		kill -KILL "$p" 2>/dev/null || true
		{ wait "$p"; } 2>/dev/null || true
	done
	if [[ $own_cluster -eq 1 ]]; then "$root/tests/cluster/down" --purge "$C" >/dev/null 2>&1; fi
	rm -rf "$W"
	return "$rc"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# wait_until SECONDS CMD...: polls CMD every 0.1 s; 0 when it succeeded.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while (($(now_ms) < end)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

echo "  -- metrics through real parsers"
t_run "metrics: kubetool metrics renders the operator's families" 0 "$KUBETOOL" metrics
printf '%s\n' "$T_OUT" >"$W/metrics.txt"
t_run "metrics: promtool check metrics accepts the exposition (lint included)" 0 \
	bash -c 'promtool check metrics <"$1"' _ "$W/metrics.txt"
cat >"$W/parse.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
want = {
    "lifeboat_backup_last_success_timestamp_seconds": "gauge",
    "lifeboat_backup_duration_seconds": "histogram",
    "lifeboat_backup_size_bytes": "gauge",
    "lifeboat_backups": "counter",
    "lifeboat_restores": "counter",
    "lifeboat_schedule_missed_runs": "counter",
    "lifeboat_reconcile": "counter",
    "lifeboat_reconcile_errors": "counter",
    "lifeboat_workqueue_depth": "gauge",
    "lifeboat_leader": "gauge",
    "lifeboat_kube_requests": "counter",
    "lifeboat_webhook_requests": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_cpu_seconds": "counter",
    "process_open_fds": "gauge",
    "process_start_time_seconds": "gauge",
}
for name, typ in want.items():
    assert name in fams, "missing family " + name
    assert fams[name].type == typ, "%s is %s, not %s" % (name, fams[name].type, typ)
sizes = {s.labels["name"]: s.value for s in fams["lifeboat_backup_size_bytes"].samples}
assert sizes['q"uote\\back\nslash'] == 1, sizes  # escaping round-trips
assert sizes["nightly-20240501"] == 123456789
h = [s for s in fams["lifeboat_backup_duration_seconds"].samples if s.name.endswith("_bucket")]
les = [s.labels["le"] for s in h]
assert les[-1] == "+Inf" and [float(x) for x in les] == sorted(float(x) for x in les), les
counts = [s.value for s in h]
assert counts == sorted(counts) and counts[-1] == 2, counts
assert fams["process_resident_memory_bytes"].samples[0].value > 0
print("parsed %d families" % len(fams))
EOF
t_run "metrics: python3-prometheus-client parses it (families, types, escaping, buckets)" 0 \
	/usr/bin/python3 "$W/parse.py" "$W/metrics.txt"

echo "  -- /healthz, /readyz, /metrics over HTTP"
timeout 120 "$KUBETOOL" serve "$W/serve.port" >"$W/serve.log" 2>&1 &
serve_pid=$!
bg_pids+=("$serve_pid")
wait_until 10 test -s "$W/serve.port" || { cat "$W/serve.log"; exit 1; }
S=http://127.0.0.1:$(cat "$W/serve.port")
t_run "serve: GET /healthz is 200 ok" 0 curl -fsS "$S/healthz"
t_contains "serve: /healthz says ok" "ok"
t_run "serve: GET /readyz is 200 once synced" 0 curl -fsS "$S/readyz"
t_run "serve: GET /metrics is 200" 0 curl -fsS -D "$W/metrics.headers" -o "$W/served.txt" "$S/metrics"
t_true "serve: /metrics has Content-Type text/plain; version=0.0.4" \
	grep -qi '^content-type: text/plain; version=0.0.4' "$W/metrics.headers"
t_run "serve: promtool accepts what /metrics serves" 0 bash -c 'promtool check metrics <"$1"' _ "$W/served.txt"
t_run "serve: an unknown path is 404" 0 bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" "$1/nope") == 404 ]]' _ "$S"
t_run "serve: POST is 405 with Allow: GET" 0 \
	bash -c 'curl -s -D - -o /dev/null -X POST -d x=1 "$1/healthz" | tr -d "\r" | grep -qi "^allow: GET" &&
		[[ $(curl -s -o /dev/null -w "%{http_code}" -X POST -d x=1 "$1/healthz") == 405 ]]' _ "$S"
t0=$(now_ms)
kill -TERM "$serve_pid"
set +e
wait "$serve_pid"
serve_rc=$?
set -e
t1=$(now_ms)
t_true "serve: SIGTERM stops the server cleanly (exit 0) within a second" test "$serve_rc" -eq 0 -a $((t1 - t0)) -lt 1000
echo "  (server stopped in $((t1 - t0)) ms)"

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
k() { "$KUBECTL" --cache-dir "$W/cache" "$@"; }
NS=lifeboat-parts-$$
k create namespace "$NS" >/dev/null

# start_elector ID LEASE [KUBECONFIG]: an elector in the background.
declare -A elector
start_elector() {
	local id=$1 lease=$2 kc=${3:-$KUBECONFIG}
	timeout 300 "$KUBETOOL" leader "$kc" "$NS" "$lease" "$id" 240 >"$W/$id.out" 2>"$W/$id.err" &
	elector[$id]=$!
	bg_pids+=("$!")
	wait_until 10 grep -q '^CANDIDATE' "$W/$id.out"
}
# kubetool's own pid (the child of its timeout), for signals timeout would not pass on.
child_of() { pgrep -P "${elector[$1]}" | head -1; }
# at WORD ID [N]: the time (unix ms) of ID's Nth WORD line (default the first); "" if none.
at() { awk -v w="$1" -v n="${3:-1}" '$1 == w && ++c == n { print $2; exit }' "$W/$2.out"; }
count() { grep -c "^$1 " "$W/$2.out" || true; }
# has WORD ID: ID printed a WORD line; has_any WORD ID...: one of them did.
has() { grep -q "^$1 " "$W/$2.out"; }
has_any() { local w=$1 id; shift; for id in "$@"; do has "$w" "$id" && return 0; done; return 1; }
leaders() { local n=0 id; for id in "$@"; do n=$((n + $(count LEADING "$id") - $(count STOPPED "$id"))); done; echo "$n"; }
lease_spec() { k get lease -n "$NS" "$1" -o jsonpath="{.spec.$2}"; }

echo "  -- leader election: two electors"
start_elector A one
start_elector B one
wait_until 10 has_any LEADING A B || true
sleep 5 # a few renewals
t_true "leader: of two electors exactly one leads" test "$(leaders A B)" -eq 1
if [[ $(count LEADING A) -eq 1 ]]; then first=A second=B; else first=B second=A; fi
t_true "leader: the standby never led" test "$(count LEADING $second)" -eq 0
t_run "leader: the Lease names the leader" 0 lease_spec one holderIdentity
t_true "leader: holderIdentity is $first" test "$T_OUT" = "$first"
t_true "leader: leaseDurationSeconds is 15 (client-go's default)" test "$(lease_spec one leaseDurationSeconds)" = 15
t_true "leader: leaseTransitions starts at 0" test "$(lease_spec one leaseTransitions)" = 0
acq=$(lease_spec one acquireTime)
r1=$(lease_spec one renewTime)
sleep 2.5
r2=$(lease_spec one renewTime)
t_true "leader: renewTime advances (the leader renews every retry period)" test "$r1" != "$r2" -a -n "$r1"
t_true "leader: acquireTime stays while the same holder renews" test "$(lease_spec one acquireTime)" = "$acq"
echo "  (leader $first; renewTime $r1 -> $r2)"

echo "  -- leader election: SIGKILL of the leader"
kill_at=$(now_ms)
kill -KILL "$(child_of "$first")"
{ wait "${elector[$first]}"; } 2>/dev/null || true
wait_until 25 has LEADING "$second" || true
took=$(($(at LEADING "$second") - kill_at))
echo "  (the standby led $took ms after the SIGKILL)"
t_true "leader: after SIGKILL the standby leads within lease duration + retry period (17.4 s, +1 s slack)" \
	test "$took" -gt 0 -a "$took" -le 18400
t_true "leader: ... and not before the killed leader's lease could expire (>= 12.6 s)" test "$took" -ge 12600
t_true "leader: the Lease now names $second" test "$(lease_spec one holderIdentity)" = "$second"
t_true "leader: leaseTransitions counted the change (1)" test "$(lease_spec one leaseTransitions)" = 1
t_true "leader: acquireTime changed with the holder" test "$(lease_spec one acquireTime)" != "$acq"

echo "  -- leader election: SIGTERM releases"
start_elector C one
sleep 1
term_at=$(now_ms)
kill -TERM "${elector[$second]}"
wait_until 10 has LEADING C || true
took=$(($(at LEADING C) - term_at))
echo "  (the standby led $took ms after the SIGTERM)"
t_true "leader: the SIGTERMed leader said STOPPED and exited" grep -q '^EXIT' "$W/$second.out"
t_true "leader: after SIGTERM the standby leads within 3 s (release, not expiry)" test "$took" -gt 0 -a "$took" -le 3000
t_true "leader: stopped before the standby started" test "$(at STOPPED "$second")" -le "$(at LEADING C)"
t_true "leader: leaseTransitions 2 after the release and the takeover" test "$(lease_spec one leaseTransitions)" = 2

# A lone leader's release leaves the Lease free for anyone.
start_elector D solo
wait_until 10 grep -q '^LEADING' "$W/D.out" || true
trans=$(lease_spec solo leaseTransitions)
kill -TERM "${elector[D]}"
set +e
wait "${elector[D]}"
d_rc=$?
set -e
t_true "leader: SIGTERM exits 0 after releasing" test "$d_rc" -eq 0
t_true "leader: a released Lease has an empty holderIdentity" test -z "$(lease_spec solo holderIdentity)"
t_true "leader: a released Lease has leaseDurationSeconds 1" test "$(lease_spec solo leaseDurationSeconds)" = 1
t_true "leader: the release does not count as a transition" test "$(lease_spec solo leaseTransitions)" = "$trans"
t_true "leader: a released Lease has a renewTime" test -n "$(lease_spec solo renewTime)"

echo "  -- leader election: the leader's apiserver answers 503 to everything"
timeout 300 python3 "$root/tests/cluster/faultproxy.py" --upstream "$APISERVER_URL" --ca "$CLUSTER_CA" \
	--cert "$C/pki/apiserver.crt" --key "$C/pki/apiserver.key" \
	--upstream-cert "$C/pki/admin.crt" --upstream-key "$C/pki/admin.key" \
	--port 0 --port-file "$W/proxy.port" >"$W/proxy.log" 2>&1 &
bg_pids+=("$!")
wait_until 10 test -s "$W/proxy.port" || { cat "$W/proxy.log"; exit 1; }
PROXY=https://127.0.0.1:$(cat "$W/proxy.port")
sed "s#server: .*#server: $PROXY#" "$KUBECONFIG" >"$W/kc-proxy"
start_elector E faulty "$W/kc-proxy"
wait_until 10 grep -q '^LEADING' "$W/E.out" || true
t_true "leader: an elector behind the proxy leads" grep -q '^LEADING' "$W/E.out"
start_elector F faulty
sleep 3
fault_at=$(now_ms)
curl -fsS --cacert "$CLUSTER_CA" -X POST -d '{"status": 503, "watches": true}' "$PROXY/_lifeboat/faults" >/dev/null
wait_until 25 has LEADING F || true
stopped=$(at STOPPED E)
led=$(at LEADING F)
echo "  (503s from $fault_at: E STOPPED at +$((${stopped:-0} - fault_at)) ms, F LEADING at +$((${led:-0} - fault_at)) ms)"
t_true "leader: the leader that cannot renew reports STOPPED" test -n "$stopped"
t_true "leader: ... within the renew deadline of its last renewal (<= 10.5 s after the 503s began)" \
	test -n "$stopped" -a $((${stopped:-0} - fault_at)) -le 10500
t_true "leader: ... but not at the first failure (>= 7.5 s: it kept trying)" test $((${stopped:-0} - fault_at)) -ge 7500
t_true "leader: the standby took over" test -n "$led"
t_true "leader: STOPPED came before the standby led (never two leaders)" test -n "$led" -a "${stopped:-0}" -lt "${led:-0}"
t_true "leader: the standby led only after the lease expired (>= 12.6 s after the 503s)" test $((${led:-0} - fault_at)) -ge 12600
curl -fsS --cacert "$CLUSTER_CA" -X DELETE "$PROXY/_lifeboat/faults" >/dev/null
sleep 4
t_true "leader: with its apiserver back, the old leader stays a standby" test "$(count LEADING E)" -eq 1
t_true "leader: exactly one of them leads" test "$(leaders E F)" -eq 1
t_true "leader: the failed renewals were logged" grep -q 'Lease request failed' "$W/E.err"

echo "  -- events"
set +e
"$KUBETOOL" events "$KUBECONFIG" "$NS" backup-target 5 2>"$W/events.err" || tail -5 "$W/events.err"
set -e
ev() { k get events -n "$NS" --field-selector "involvedObject.name=backup-target,reason=$1" -o jsonpath="$2"; }
t_true "events: kubectl shows one BackupFailed Event" test "$(ev BackupFailed '{range .items[*]}x{end}')" = x
t_true "events: its count is 5 (aggregated)" test "$(ev BackupFailed '{.items[0].count}')" = 5
t_true "events: type Warning" test "$(ev BackupFailed '{.items[0].type}')" = Warning
t_true "events: source.component lifeboat-operator" test "$(ev BackupFailed '{.items[0].source.component}')" = lifeboat-operator
t_true "events: reportingComponent lifeboat.dev/operator" \
	test "$(ev BackupFailed '{.items[0].reportingComponent}')" = lifeboat.dev/operator
t_true "events: involvedObject carries the uid" \
	test "$(ev BackupFailed '{.items[0].involvedObject.uid}')" = "$(k get configmap -n "$NS" backup-target -o jsonpath='{.metadata.uid}')"
t_true "events: lastTimestamp moved past firstTimestamp or equals it" \
	test -n "$(ev BackupFailed '{.items[0].lastTimestamp}')"
t_true "events: the Normal event is separate, count 1" test "$(ev BackupCompleted '{.items[0].count}')" = 1
t_run "events: kubectl describe shows the aggregation" 0 k describe configmap -n "$NS" backup-target
t_contains "events: describe says x5" "x5 over"

k delete namespace "$NS" --wait=false >/dev/null
