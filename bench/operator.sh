#!/usr/bin/env bash
# `make bench`, operator part: lifeboat-operator on the real control plane
# (tests/cluster/up: etcd, kube-apiserver and kube-controller-manager v1.34.4,
# the node agent running pods as local processes), against a minimal Go
# operator doing the same work (tests/cluster/cmd/benchoperator: client-go
# informers and work queue), on the same cluster in the same invocation.
#
#   bench/operator.sh BIN_DIR      # BIN_DIR holds lifeboat-operator
#
# 1. Latency: BENCH_OP_N (default 1000) DatabaseBackups applied at once (four
#    `kubectl apply -f` of a quarter each, in parallel) into a namespace the
#    operator watches. bench/opbench.py watches DatabaseBackups and Jobs in one
#    process on one monotonic clock: the latency of a backup is its Job's
#    ADDED event minus its own ADDED event (creationTimestamp has only second
#    resolution). Then the time until all are Completed, the operator's CPU
#    seconds (utime+stime of the operator process itself, not of `timeout`)
#    and its peak RSS (VmHWM).
#    The Jobs run the job image lifeboat-bench-noop (bench/noop.c, mapped by
#    the node agent's image table): it writes a fixed result labelled
#    "bench-noop-not-a-backup" (size 0, a sha256 of zeros) and stores
#    nothing, so this measures the operator, not a dump.
# 2. Cache: BENCH_OP_CACHE_N (default 10000) DatabaseBackups that are
#    already Completed, created while no operator runs, their status written
#    through the status subresource as a copy of what lifeboat-operator wrote
#    for a backup of step 1. That is a long-lived cluster's steady state (a
#    history of finished backups) and bounds the work: a Completed backup
#    never starts a Job, and each operator caches and reconciles all of them
#    without a write. (An InvalidSpec backup is cached too, but the first
#    operator would write 10,000 statuses and events the second would not:
#    unequal work.) Reported once the operator is ready and idle: VmHWM,
#    VmRSS, CPU seconds, time to ready.
#
# 3. Schedules: BENCH_SCHED_SIZES (default "100 1000 1000:busy")
#    BackupSchedules, for each size in a namespace of its own with a fresh
#    operator, all due in the
#    same minute (bench/opbench.py schedules: the first minute at least
#    BENCH_SCHED_LEAD_S, default 40, seconds after their creation began; each
#    run a DatabaseBackup of the spec above): the seconds from that minute
#    until every DatabaseBackup and every Job exists (watch events, wall
#    clock), until all are Completed; the operator's CPU and peak RSS; the API
#    requests it made per run (its lifeboat_kube_requests_total, watches left
#    out), and their ratio between the first two sizes: a constant is 1.00.
#    The node agent (standing in for the worker nodes' kubelets, which a
#    real cluster runs on other machines) is paused (SIGSTOP) from before the
#    minute until every Job exists, so the two cores hold the control plane
#    and the operator; N:busy leaves it running the pods meanwhile.
# BENCH_OP_STEPS (default "latency cache schedules") picks the steps.
#
# Targets (the issue): p99 <= 100 ms, RSS <= 32 MiB; schedules: every Job
# within 10 s, requests per run not growing with the number of schedules. A missed target is
# reported (MISSED), never a failure; the bench fails when a backup does not
# reach Completed or a figure is missing. BENCH_OP_GO=0 skips the Go operator.
# The summary is appended to bench/results/latest.txt (BENCH_OP_RESULTS: another file).
# The figures L_<impl>_* and C_<impl>_* are set through eval.
# shellcheck disable=SC2154
set -euo pipefail
BIN=${1:?usage: bench/operator.sh BIN_DIR (holding lifeboat-operator)}
BIN=$(cd "$BIN" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_OP_N:-1000}
NC=${BENCH_OP_CACHE_N:-10000}
WITH_GO=${BENCH_OP_GO:-1}
cache=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}
PY=/usr/bin/python3
[[ -x $BIN/lifeboat-operator ]] || { echo "operator.sh: no $BIN/lifeboat-operator" >&2; exit 1; }

W=$(mktemp -d /tmp/lifeboat-opbench.XXXXXX)
chmod 755 "$W"
OP_TIMEOUT_PID=
stop_operator() {
	if [[ -n $OP_TIMEOUT_PID ]]; then
		kill -TERM "$OP_TIMEOUT_PID" 2>/dev/null || true
		wait "$OP_TIMEOUT_PID" 2>/dev/null || true
		OP_TIMEOUT_PID=
	fi
}
cleanup() {
	stop_operator
	if [[ -d $W/cluster ]]; then
		"$root/tests/cluster/down" --purge "$W/cluster" >/dev/null 2>&1 || true
	fi
	[[ -n ${BENCH_OP_KEEP:-} ]] || rm -rf "$W"
}
trap cleanup EXIT
say() { echo "operator.sh: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
now() { date +%s.%N; }

# --- the no-op job image, with the project's warning flags
${CC:-cc} -std=c17 -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wvla -Wimplicit-fallthrough \
	-D_FORTIFY_SOURCE=2 -fstack-protector-strong -O2 -D_GNU_SOURCE \
	-o "$W/lifeboat-bench-noop" "$root/bench/noop.c"
chmod 755 "$W/lifeboat-bench-noop"

# --- the cluster; the node agent maps the bench image to the no-op
CLUSTER_TTL=3000 LIFEBOAT_BIN_DIR=$BIN NODEAGENT_IMAGE_MAP="lifeboat-bench-noop=$W/lifeboat-bench-noop" \
	timeout 900 "$root/tests/cluster/up" "$W/cluster" >/dev/null
KC=$W/cluster/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 600 "$KUBECTL" --kubeconfig "$KC" --cache-dir "$W/kcache" "$@"; }
k apply -f "$root/crds/" >/dev/null
k wait --for=condition=Established crd/databasebackups.lifeboat.dev --timeout=60s >/dev/null

# --- the Go operator: built from the tests/cluster module (its go.sum, the
# module cache tests/cluster/build.sh filled), cached by its sources.
GOOP=
GO_WHY=
build_go() {
	local go gover key out
	go=$("$root/tests/setup-go.sh") || { GO_WHY="no Go toolchain (tests/setup-go.sh failed)"; return 1; }
	gover=$("$go" env GOVERSION)
	key=$(cat <(echo "$gover") "$root/tests/cluster/go.mod" "$root/tests/cluster/go.sum" \
		"$root/tests/cluster/cmd/benchoperator/main.go" | sha256sum | cut -c1-16)
	out=$cache/bench/benchoperator-$key
	if [[ ! -x $out ]]; then
		mkdir -p "$cache/bench"
		say "building the Go baseline operator (once; log $cache/bench/build.log)"
		if ! (cd "$root/tests/cluster" && GOTOOLCHAIN=local CGO_ENABLED=0 GOMODCACHE="$cache/go/mod" \
			GOCACHE="$cache/go/build" GOFLAGS="-modcacherw -mod=readonly" \
			timeout 1200 "$go" build -trimpath -ldflags "-s -w" -o "$out.tmp.$$" ./cmd/benchoperator) \
			>>"$cache/bench/build.log" 2>&1; then
			rm -f "$out.tmp.$$"
			GO_WHY="go build ./cmd/benchoperator failed: $(tail -3 "$cache/bench/build.log" | tr '\n' ' ')"
			return 1
		fi
		mv "$out.tmp.$$" "$out"
	fi
	GOOP=$out
}
if [[ $WITH_GO == 1 ]]; then
	build_go || say "the Go operator is not measured: $GO_WHY"
else
	GO_WHY="skipped (BENCH_OP_GO=0)"
fi

ns_setup() { # NS: a namespace with its default ServiceAccount and the bench Secret
	local i
	k create namespace "$1" >/dev/null
	for ((i = 0; i < 100; i++)); do
		k -n "$1" get serviceaccount default >/dev/null 2>&1 && break
		sleep 0.2
	done
	# Values are placeholders: the no-op job reads none of them.
	k -n "$1" create secret generic bench-creds --from-literal=password=bench-noop \
		--from-literal=AWS_ACCESS_KEY_ID=bench-noop --from-literal=AWS_SECRET_ACCESS_KEY=bench-noop \
		--from-literal=passphrase=bench-noop >/dev/null
}

# A typical backup: a database by host, S3 storage, encryption. Nothing is
# reached: the no-op job only writes its fixed result.
cat >"$W/spec.json" <<'EOF'
{"database": {"host": "bench-noop.invalid", "user": "bench", "database": "bench",
              "passwordSecretRef": {"name": "bench-creds", "key": "password"}},
 "storage": {"s3": {"bucket": "bench-noop-not-a-bucket", "region": "us-east-1",
                    "credentialsSecretRef": {"name": "bench-creds"}}},
 "encryption": {"passphraseSecretRef": {"name": "bench-creds", "key": "passphrase"}}}
EOF

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; } # utime + stime
cpu_s() { awk -v t="$(cpu_ticks "$1")" -v h="$TCK" 'BEGIN { printf "%.2f", t / h }'; }
vm() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; } # PID VmHWM|VmRSS, KiB

# start_operator c|go NS [METRICS_ADDR]: starts it under timeout; sets
# OP_TIMEOUT_PID, OP_PID (the operator process) and READY_S (seconds until it
# was ready). The C operator serves /metrics on METRICS_ADDR (default: off).
start_operator() {
	local impl=$1 ns=$2 maddr=${3:-0} t i port
	t=$(now)
	rm -f "$W/ready.$impl"
	if [[ $impl == c ]]; then
		port=$(free_port)
		timeout 1800 "$BIN/lifeboat-operator" --kubeconfig "$KC" --namespaces "$ns" \
			--job-image lifeboat-bench-noop --metrics-addr "$maddr" --health-addr "127.0.0.1:$port" \
			--workers "${BENCH_OP_WORKERS:-4}" \
			--log-format logfmt --log-level info >>"$W/operator-c.log" 2>&1 &
	else
		timeout 1800 "$GOOP" --kubeconfig "$KC" --namespace "$ns" --job-image lifeboat-bench-noop \
			--ready-file "$W/ready.go" >>"$W/operator-go.log" 2>&1 &
	fi
	OP_TIMEOUT_PID=$!
	OP_PID=
	for ((i = 0; i < 1200; i++)); do
		[[ -z $OP_PID ]] && OP_PID=$(pgrep -P "$OP_TIMEOUT_PID" | head -1 || true)
		if [[ -n $OP_PID ]]; then
			if [[ $impl == c ]]; then
				curl -sf --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
			else
				[[ -e $W/ready.go ]] && break
			fi
		fi
		kill -0 "$OP_TIMEOUT_PID" 2>/dev/null || fail "the $impl operator exited at start-up (log $W/operator-$impl.log): $(tail -5 "$W/operator-$impl.log")"
		sleep 0.1
	done
	((i < 1200)) || fail "the $impl operator was not ready after 120 s"
	READY_S=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
}

# wait_idle PID: until the process used less than 3 clock ticks in 2 s
# (its caches synced and its queue drained); at most 240 s.
wait_idle() {
	local prev cur i
	prev=$(cpu_ticks "$1")
	for ((i = 0; i < 120; i++)); do
		sleep 2
		cur=$(cpu_ticks "$1")
		((cur - prev < 3)) && return 0
		prev=$cur
	done
	return 1
}

field() { "$PY" -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$@"; }

# latency c|go: step 1 for one operator; sets L_<impl>_* figures.
latency() {
	local impl=$1 ns=opbench-$1 q t apply_s
	ns_setup "$ns"
	# Four files of a quarter each: JSON documents are YAML.
	"$PY" - "$W/spec.json" "$N" "$W/apply-$impl" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1])); n = int(sys.argv[2])
for part in range(4):
    with open("%s-%d.yaml" % (sys.argv[3], part), "w") as f:
        for i in range(part, n, 4):
            f.write("---\n" + json.dumps({"apiVersion": "lifeboat.dev/v1alpha1", "kind": "DatabaseBackup",
                "metadata": {"name": "bench-%05d" % i, "labels": {"lifeboat.dev/bench": "operator"}},
                "spec": spec}) + "\n")
EOF
	k -n "$ns" get databasebackups >/dev/null 2>&1 # discovery cached before the parallel applies
	start_operator "$impl" "$ns"
	local cpu0
	cpu0=$(cpu_ticks "$OP_PID")
	rm -f "$W/watch-ready.$impl"
	timeout 2000 "$PY" "$root/bench/opbench.py" watch "$W/cluster" "$ns" "$N" "$W/lat-$impl.json" \
		"$W/watch-ready.$impl" 1800 &
	local wpid=$!
	for ((q = 0; q < 300; q++)); do
		[[ -e $W/watch-ready.$impl ]] && break
		sleep 0.1
	done
	[[ -e $W/watch-ready.$impl ]] || fail "the watcher did not start"
	t=$(now)
	local pids=()
	for q in 0 1 2 3; do
		k -n "$ns" apply -f "$W/apply-$impl-$q.yaml" >"$W/apply-$impl-$q.out" 2>&1 &
		pids+=($!)
	done
	for q in "${pids[@]}"; do wait "$q" || fail "kubectl apply failed: $(tail -3 "$W"/apply-"$impl"-*.out)"; done
	apply_s=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	say "$impl: $N applied in $apply_s s; waiting for all to be Completed"
	wait "$wpid" || fail "the watcher failed"
	local cpu1
	cpu1=$(cpu_ticks "$OP_PID")
	eval "L_${impl}_hwm=$(vm "$OP_PID" VmHWM)"
	eval "L_${impl}_rss=$(vm "$OP_PID" VmRSS)"
	eval "L_${impl}_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v h="$TCK" 'BEGIN { printf "%.2f", (b - a) / h }')"
	eval "L_${impl}_cpu_all=$(cpu_s "$OP_PID")"
	eval "L_${impl}_apply=$apply_s"
	eval "L_${impl}_ready=$READY_S"
	stop_operator
	local f=$W/lat-$impl.json v
	for v in p50_ms p99_ms max_ms completed failed jobs_seen backups_seen; do
		eval "L_${impl}_$v=\$(field \"\$f\" $v)"
	done
	eval "L_${impl}_all=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("%.1f" % (d["last_final"] - d["first_added"]) if d.get("last_final") and d.get("first_added") else "")' "$f")"
	local done_n
	done_n=$(field "$f" completed)
	if [[ $done_n != "$N" ]]; then
		# Why, from the statuses: counted by phase, Ready reason and message.
		k -n "$ns" get databasebackups --chunk-size 1000 -o json | "$PY" -c '
import collections, json, sys
c = collections.Counter()
for b in json.load(sys.stdin)["items"]:
    s = b.get("status") or {}
    if s.get("phase") == "Completed":
        continue
    r = [x.get("reason") for x in s.get("conditions") or [] if x.get("type") == "Ready"]
    c[(s.get("phase"), r[0] if r else None, s.get("message"))] += 1
for (p, r, m), n in c.most_common(5):
    print("  %5d %s %s: %s" % (n, p, r, m))' >"$W/why-$impl.txt" 2>&1 || true
		FAILS+=("$impl operator: only $done_n of $N backups reached Completed ($(field "$f" failed) Failed):"$'\n'"$(cat "$W/why-$impl.txt")")
	fi
	[[ -n $(field "$f" p99_ms) ]] || fail "$impl: no latency measured"
}

# cache c|go: step 2 for one operator; sets C_<impl>_* figures.
cache_run() {
	local impl=$1
	start_operator "$impl" opbench-cache
	wait_idle "$OP_PID" || say "$impl operator still busy after 240 s with $NC cached (measured anyway)"
	eval "C_${impl}_hwm=$(vm "$OP_PID" VmHWM)"
	eval "C_${impl}_rss=$(vm "$OP_PID" VmRSS)"
	eval "C_${impl}_cpu=$(cpu_s "$OP_PID")"
	eval "C_${impl}_ready=$READY_S"
	stop_operator
}

STEPS=" ${BENCH_OP_STEPS:-latency cache schedules} "
step() { [[ $STEPS == *" $1 "* ]]; }
FAILS=()
if step latency || step cache; then
latency c
[[ -n $GOOP ]] && latency go
fi

if step cache; then
# The status lifeboat-operator wrote for a no-op backup of step 1.
k -n opbench-c get databasebackup bench-00000 -o json |
	"$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["status"]))' >"$W/status.json"
ns_setup opbench-cache
t=$(now)
timeout 1800 "$PY" "$root/bench/opbench.py" create "$W/cluster" opbench-cache bench "$NC" \
	"$W/spec.json" "$W/status.json" || fail "creating $NC DatabaseBackups failed"
created_s=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
cached=$(k -n opbench-cache get databasebackups -o name --chunk-size 1000 | wc -l)
[[ $cached == "$NC" ]] || fail "$cached of $NC DatabaseBackups were created"
rv0=$(k -n opbench-cache get databasebackups --chunk-size 1000 -o jsonpath='{range .items[*]}{.metadata.resourceVersion}{"\n"}{end}' | sort -n | tail -1)
cache_run c
[[ -n $GOOP ]] && cache_run go
# Neither operator may have written a cached, finished backup.
rv1=$(k -n opbench-cache get databasebackups --chunk-size 1000 -o jsonpath='{range .items[*]}{.metadata.resourceVersion}{"\n"}{end}' | sort -n | tail -1)
[[ $rv0 == "$rv1" ]] || say "WARNING: a cached Completed backup was written by an operator (newest resourceVersion $rv0 -> $rv1)"
fi

# schedules N: step 3 for the C operator (the Go one has no schedules); sets
# S_<N>_* figures. N BackupSchedules due in the same minute (bench/opbench.py
# schedules); the operator's own request counter (lifeboat_kube_requests_total)
# scraped once every schedule waits for that minute, once every run's
# DatabaseBackup and Job exist, and once all runs are final and it is idle.
schedules() {
	local n=${1%%:*} key=${1/:/_} busy=0 ns mport i wpid f v agent
	[[ $1 == *:busy ]] && busy=1
	ns=schedbench-${key//_/-}
	ns_setup "$ns"
	mport=$(free_port)
	start_operator c "$ns" "127.0.0.1:$mport"
	local cpu0
	cpu0=$(cpu_ticks "$OP_PID")
	f=$W/sched-$key
	timeout 1000 "$PY" "$root/bench/opbench.py" schedules "$W/cluster" "$ns" "$n" "$W/spec.json" \
		"${BENCH_SCHED_LEAD_S:-40}" "$f.json" "$f.scheduled" "$f.created" 900 &
	wpid=$!
	for ((i = 0; i < 3000; i++)); do
		[[ -e $f.scheduled ]] && break
		kill -0 "$wpid" 2>/dev/null || break
		sleep 0.1
	done
	[[ -e $f.scheduled ]] || fail "schedules $n: not every schedule showed its next run after 300 s"
	curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" >"$f.m0" || fail "schedules $n: no /metrics"
	local due
	due=$(cat "$f.scheduled")
	(($(date +%s) < due)) || fail "schedules $n: the schedules were ready only after their due minute (raise BENCH_SCHED_LEAD_S)"
	say "schedules $1: all $n wait for $(date -u -d "@$due" +%H:%M:%S); waiting for the runs"
	# The node agent (this machine's stand-in for the kubelets of the worker
	# nodes, which on a real cluster run elsewhere) is paused until every Job
	# exists, unless :busy: then it runs the pods on the same two cores.
	agent=$(pgrep -P "$(cat "$W/cluster/nodeagent.pid")" | head -1 || true)
	[[ -n $agent ]] || fail "schedules $1: no node agent process"
	while (($(date +%s) < due - 1)); do sleep 0.2; done
	# CPU ticks of each process from a second before the minute until every
	# Job exists (where the time goes)
	local procs=("$OP_PID") names=(operator) p t0=() t1=()
	for p in apiserver etcd controller-manager; do
		procs+=("$(pgrep -P "$(cat "$W/cluster/$p.pid")" | head -1)")
		names+=("$p")
	done
	procs+=("$agent")
	names+=(node-agent)
	for p in "${procs[@]}"; do t0+=("$(cpu_ticks "$p")"); done
	((busy)) || kill -STOP "$agent"
	for ((i = 0; i < 6000; i++)); do
		[[ -e $f.created ]] && break
		kill -0 "$wpid" 2>/dev/null || break
		sleep 0.1
	done
	curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" >"$f.m1" || fail "schedules $n: no /metrics"
	kill -CONT "$agent"
	for p in "${procs[@]}"; do t1+=("$(cpu_ticks "$p")"); done
	local cpus="" j
	for j in "${!procs[@]}"; do
		cpus+=$(awk -v n="${names[j]}" -v a="${t0[j]}" -v b="${t1[j]}" -v h="$TCK" 'BEGIN { printf "%s%s %.2f s", (NR ? "" : ""), n, (b - a) / h }')
		((j < ${#procs[@]} - 1)) && cpus+=", "
	done
	eval "S_${key}_window_cpu=\"\$cpus\""
	wait "$wpid" || fail "schedules $n: the watcher failed"
	wait_idle "$OP_PID" || say "schedules $n: the operator still busy after 240 s (measured anyway)"
	curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" >"$f.m2" || fail "schedules $n: no /metrics"
	eval "S_${key}_hwm=$(vm "$OP_PID" VmHWM)"
	eval "S_${key}_cpu=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$OP_PID")" -v h="$TCK" 'BEGIN { printf "%.2f", (b - a) / h }')"
	stop_operator
	for v in all_backups_s all_jobs_s jobs_p50_s all_final_s completed failed scheduled_before_due_s created_s backups_seen jobs_seen; do
		eval "S_${key}_$v=\$(field \"\$f.json\" $v)"
	done
	eval "S_${key}_req_jobs=\"\$(\"\$PY\" \"\$root/bench/opbench.py\" requests \"\$f.m0\" \"\$f.m1\" \"\$n\")\""
	eval "S_${key}_req_all=\"\$(\"\$PY\" \"\$root/bench/opbench.py\" requests \"\$f.m0\" \"\$f.m2\" \"\$n\")\""
	local seen
	seen=$(field "$f.json" jobs_seen)
	[[ $seen == "$n" ]] || FAILS+=("schedules $n: only $seen of $n runs got a Job ($(field "$f.json" backups_seen) backups): $(field "$f.json" errors)")
	[[ $(field "$f.json" completed) == "$n" ]] || FAILS+=("schedules $n: only $(field "$f.json" completed) of $n runs Completed")
}
S_SIZES=${BENCH_SCHED_SIZES:-100 1000 1000:busy}
if step schedules; then
	for n in $S_SIZES; do schedules "$n"; done
fi

if step latency; then
for v in L_c_p50_ms L_c_p99_ms L_c_max_ms L_c_all L_c_cpu L_c_hwm; do
	[[ -n ${!v:-} ]] || fail "measurement $v is missing"
done
fi
if step cache; then
for v in C_c_hwm C_c_rss C_c_cpu; do
	[[ -n ${!v:-} ]] || fail "measurement $v is missing"
done
fi
if [[ -n $GOOP ]] && step latency && step cache; then
	for v in L_go_p50_ms L_go_p99_ms L_go_max_ms L_go_all L_go_cpu L_go_hwm C_go_hwm C_go_rss C_go_cpu; do
		[[ -n ${!v:-} ]] || fail "measurement $v is missing"
	done
fi

mark() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "MISSED" }'; }
line_lat() { # impl label
	local i=$1
	local p50=L_${i}_p50_ms p99=L_${i}_p99_ms max=L_${i}_max_ms all=L_${i}_all cpu=L_${i}_cpu hwm=L_${i}_hwm rdy=L_${i}_ready app=L_${i}_apply
	awk -v l="$2" -v a="${!p50}" -v b="${!p99}" -v c="${!max}" -v d="${!all}" -v e="${!cpu}" -v f="${!hwm}" \
		-v r="${!rdy}" -v ap="${!app}" -v n="$N" -v m99="$(mark "${!p99}" 100)" -v mr="$(mark "${!hwm}" 32768)" 'BEGIN {
		printf "    %-12s apply->Job p50 %.0f ms, p99 %.0f ms (target <= 100 ms: %s), max %.0f ms\n", l, a, b, m99, c
		printf "    %-12s all %d Completed %.1f s after the first was applied (apply took %s s); CPU %.2f s; peak RSS %d KiB (target <= 32768 KiB: %s); ready in %s s\n", "", n, d, ap, e, f, mr, r }'
}
line_cache() {
	local i=$1
	local hwm=C_${i}_hwm rss=C_${i}_rss cpu=C_${i}_cpu rdy=C_${i}_ready
	awk -v l="$2" -v h="${!hwm}" -v r="${!rss}" -v c="${!cpu}" -v y="${!rdy}" -v m="$(mark "${!hwm}" 32768)" 'BEGIN {
		printf "    %-12s peak RSS %d KiB (target <= 32768 KiB: %s), RSS %d KiB once idle; CPU %.2f s; ready (synced) in %s s\n", l, h, m, r, c, y }'
}
line_sched() { # N[:busy]
	local n=${1%%:*} k=${1/:/_} how="node agent paused"
	[[ $1 == *:busy ]] && how="node agent running the pods"
	local b=S_${k}_all_backups_s j=S_${k}_all_jobs_s p=S_${k}_jobs_p50_s fin=S_${k}_all_final_s h=S_${k}_hwm c=S_${k}_cpu r1=S_${k}_req_jobs r2=S_${k}_req_all lead=S_${k}_scheduled_before_due_s cr=S_${k}_created_s
	awk -v n="$n" -v how="$how" -v b="${!b}" -v j="${!j}" -v p="${!p}" -v f="${!fin}" -v h="${!h}" -v c="${!c}" -v l="${!lead}" -v cr="${!cr}" \
		-v mj="$(mark "${!j}" 10)" -v mh="$(mark "${!h}" 32768)" 'BEGIN {
		printf "    %5d schedules, %s (created in %.1f s, all waiting %.1f s before the minute): every DatabaseBackup %.2f s, every Job %.2f s (target <= 10 s: %s; p50 %.2f s), all Completed %.1f s; CPU %.2f s; peak RSS %d KiB (target <= 32768 KiB: %s)\n", n, how, cr, l, b, j, mj, p, f, c, h, mh }'
	local wc=S_${k}_window_cpu
	echo "          CPU from a second before the minute until every Job exists: ${!wc}"
	echo "          API requests per run until every Job exists: ${!r1}"
	echo "          API requests per run until all are Completed and the operator idle: ${!r2}"
}
{
	echo
	echo "[operator] $(date -u +%Y-%m-%d), $(nproc) cores (shared with other work: noisy), real kube-apiserver v1.34.4 + node agent;"
	echo "  job image lifeboat-bench-noop (writes a fixed 'bench-noop-not-a-backup' result: the operator is measured, not a dump)"
	if step latency; then
	echo "  $N DatabaseBackups applied at once (4 parallel kubectl apply -f of $((N / 4)) each), each a Job with init container backup + verify:"
	line_lat c lifeboat-operator
	if [[ -n $GOOP ]]; then line_lat go "Go (client-go)"; else echo "    Go operator: not measured: $GO_WHY"; fi
	fi
	if step cache; then
	echo "  $NC Completed DatabaseBackups in the cache (created in ${created_s} s, status copied from a step-1 backup; no Jobs):"
	line_cache c lifeboat-operator
	[[ -n $GOOP ]] && line_cache go "Go (client-go)"
	fi
	if step schedules; then
	echo "  BackupSchedules due in the same minute (lifeboat-operator; each run a DatabaseBackup, its Job the no-op image), seconds after the due minute:"
	for n in $S_SIZES; do
		line_sched "$n"
	done
	# shellcheck disable=SC2086 # the sizes are words
	set -- $S_SIZES
	if (($# >= 2)) && [[ $1 != *:* && $2 != *:* ]]; then
		local_a=S_${1}_req_all local_b=S_${2}_req_all
		awk -v n1="$1" -v n2="$2" -v a="${!local_a%% *}" -v b="${!local_b%% *}" 'BEGIN {
			printf "    API requests per run, %d against %d schedules: %.2f (a constant: 1.00)\n", n2, n1, b / a }'
	fi
	fi
	if [[ -n $GOOP ]] && step latency && step cache; then
		awk -v a="$L_c_p50_ms" -v b="$L_go_p50_ms" -v c="$L_c_p99_ms" -v d="$L_go_p99_ms" -v e="$L_c_all" -v f="$L_go_all" \
			-v g="$L_c_cpu" -v h="$L_go_cpu" -v i="$L_c_hwm" -v j="$L_go_hwm" -v m="$C_c_hwm" -v o="$C_go_hwm" -v p="$C_c_cpu" -v r="$C_go_cpu" 'BEGIN {
			printf "  ratios C/Go: p50 %.2f, p99 %.2f, all Completed %.2f, CPU %.2f, peak RSS %.2f; with %s cached: peak RSS %.2f, CPU %.2f\n",
				a / b, c / d, e / f, (h > 0 ? g / h : 0), i / j, "'"$NC"'", m / o, (r > 0 ? p / r : 0) }'
	fi
	for x in "${FAILS[@]}"; do echo "  FAILED: $x"; done
} | tee -a "${BENCH_OP_RESULTS:-$root/bench/results/latest.txt}"
((${#FAILS[@]} == 0)) || fail "not every backup reached Completed (above)"
