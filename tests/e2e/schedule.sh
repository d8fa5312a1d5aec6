#!/usr/bin/env bash
# shellcheck disable=SC2034 # T_SUITE and T_OUT are read by tests/lib/t.sh
# tests/e2e/schedule.sh: a BackupSchedule end to end on the real control plane
# (tests/e2e/lib.sh): runs fire and complete, retention prunes and keeps the
# newest good one, Forbid skips, suspend/resume without replay, an outage
# runs only the latest missed run and counts the rest, a bad zone is
# InvalidSpec, Replace on a schedule with a 253-character name. Days pass in seconds through the test clock, which only the
# test build (build/asan, SAN=1) has: LIFEBOAT_TEST_CLOCK_FILE holds seconds
# added to the operator's clock for schedules (docs/schedules.md).
T_SUITE=e2e-schedule
E2E_NAME=e2e-schedule
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

CLOCK=$WORK/clock
echo 0 >"$CLOCK"
export LIFEBOAT_TEST_CLOCK_FILE=$CLOCK
kubectl -n "$NS" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
kubectl -n "$NS" create secret generic pp --from-literal=passphrase='schedule passphrase' >/dev/null
e2e_claim backups
start_operator

# The schedule runs at 02:00 in Europe/Stockholm. Day k's run is at 02:00
# local on the k-th day after day 0, the latest day whose 02:00 has passed
# in real time (so the schedule, created now, has nothing due yet).
# set_clock K puts the operator's clock 6 s before day K's run and pokes the
# schedule (a moved clock is not an event: the operator's timer was set by
# the old one).
REAL0=$(date +%s)
day0=$(date -u -d "@$REAL0" +%F)
[[ $(TZ=Europe/Stockholm date -d "$day0 02:00" +%s) -le $REAL0 ]] || day0=$(date -u -d "$day0 -1 day" +%F)
run_time() { TZ=Europe/Stockholm date -d "$(date -u -d "$day0 +$1 day" +%F) 02:00" +%s; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
set_clock() { # DAY [SECONDS_BEFORE]
	local target=$(($(run_time "$1") - ${2:-6}))
	echo $((target - $(date +%s))) >"$CLOCK"
	kubectl -n "$NS" annotate dbs nightly "lifeboat.dev/e2e-tick=$1-$RANDOM" --overwrite >/dev/null 2>&1 || true
}
run_name() { echo "nightly-$(date -u -d "@$(run_time "$1")" +%Y%m%d%H%M)"; }
sfield() { kubectl -n "$NS" get dbs nightly -o jsonpath="{$1}" 2>/dev/null || true; }
wait_backup() { # NAME: until it exists (60 s)
	local i
	for ((i = 0; i < 120; i++)); do
		kubectl -n "$NS" get dbb "$1" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
count_backups() { kubectl -n "$NS" get dbb -l lifeboat.dev/schedule=nightly -o name | wc -l; }
events_of() { kubectl -n "$NS" get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.type} {.reason}: {.message}{"\n"}{end}'; }

set_clock 1
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: BackupSchedule
metadata: {name: nightly}
spec:
  schedule: "0 2 * * *"
  timeZone: Europe/Stockholm
  retention: {keepLast: 2}
  backupTemplate:
    metadata: {labels: {team: db}}
    spec:
      database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
                 sslMode: disable, passwordSecretRef: {name: app-db, key: password}}
      storage: {volume: {claimName: backups}}
      encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
YAML

# 1. the first run fires at 02:00 Stockholm time and completes
R1=$(run_name 1)
t_run "the first run's DatabaseBackup is created ($R1)" 0 wait_backup "$R1"
t_equals "the first run completes" Completed wait_phase "$R1" Completed Failed
save_object databasebackup "$R1" completed-scheduled
t_equals "it carries the template's label" db field "$R1" '.metadata.labels.team'
t_equals "it is owned by the schedule" BackupSchedule field "$R1" '.metadata.ownerReferences[0].kind'
t_equals "status.lastScheduleTime is the run's time" "$(iso "$(run_time 1)")" sfield .status.lastScheduleTime
t_equals "status.nextScheduleTime is the next day's" "$(iso "$(run_time 2)")" sfield .status.nextScheduleTime
for ((i = 0; i < 40; i++)); do [[ $(sfield .status.successCount) == 1 ]] && break; sleep 0.5; done
t_equals "status.successCount counts it" 1 sfield .status.successCount
t_equals "Ready is True, Scheduled" "True Scheduled" bash -c \
	"'$KUBECTL' -n $NS get dbs nightly -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].reason}'"
T_OUT=$(events_of nightly)
t_contains "a RunStarted event names the backup" "Normal RunStarted: created backup $R1"
last_ok() { "$KUBECTL" -n "$NS" get dbs nightly -o jsonpath='{.status.conditions[?(@.type=="LastBackupSucceeded")].status} {.status.conditions[?(@.type=="LastBackupSucceeded")].reason} {.status.conditions[?(@.type=="LastBackupSucceeded")].message}'; }
t_equals "LastBackupSucceeded is True, Succeeded, naming the run" "True Succeeded backup $R1 completed" last_ok

# 2. two more days: retention keepLast 2 prunes the first, keeps the newest
for day in 2 3; do
	set_clock "$day"
	wait_backup "$(run_name "$day")" || true
	t_equals "day $day: its run completes" Completed wait_phase "$(run_name "$day")" Completed Failed
done
for ((i = 0; i < 60; i++)); do [[ $(count_backups) == 2 ]] && break; sleep 0.5; done
t_equals "retention keepLast 2: two backups left" 2 count_backups
t_true "the oldest ($R1) was pruned" bash -c "! '$KUBECTL' -n $NS get dbb '$R1' >/dev/null 2>&1"
t_equals "the newest is kept" Completed field "$(run_name 3)" .status.phase
T_OUT=$(events_of nightly)
t_contains "a Pruned event names it" "Pruned: pruned 1 backup: $R1; kept 2"

# 3. Forbid: a run still active when the next is due is skipped and counted
kubectl -n "$NS" patch dbs nightly --type=merge -p \
	'{"spec":{"backupTemplate":{"spec":{"database":{"schemaVersionQuery":"SELECT '"'"'v1'"'"' FROM pg_sleep(25)"}}}}}' >/dev/null
set_clock 4
wait_backup "$(run_name 4)" || true
t_equals "day 4 (slow): Running" Running wait_phase "$(run_name 4)" Running Completed Failed
save_object backupschedule nightly ready-run-active
set_clock 5 1
sleep 4
t_true "day 5 is not created while day 4 runs (Forbid)" bash -c "! '$KUBECTL' -n $NS get dbb '$(run_name 5)' >/dev/null 2>&1"
T_OUT=$(events_of nightly)
t_contains "a RunSkipped event says why" "RunSkipped: the run at"
t_equals "status.missedCount counts the skipped run" 1 sfield .status.missedCount
kubectl -n "$NS" patch dbs nightly --type=json -p \
	'[{"op":"remove","path":"/spec/backupTemplate/spec/database/schemaVersionQuery"}]' >/dev/null
t_equals "day 4 completes after all" Completed wait_phase "$(run_name 4)" Completed Failed

# 4. suspend: no run; resume: the suspended day is not replayed
kubectl -n "$NS" patch dbs nightly --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
set_clock 6
sleep 8
t_true "suspended: day 6 does not run" bash -c "! '$KUBECTL' -n $NS get dbb '$(run_name 6)' >/dev/null 2>&1"
t_equals "suspended: Ready reason Suspended" Suspended bash -c \
	"'$KUBECTL' -n $NS get dbs nightly -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}'"
t_equals "suspended: no nextScheduleTime" "" sfield .status.nextScheduleTime
save_object backupschedule nightly suspended
kubectl -n "$NS" patch dbs nightly --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
sleep 3
t_true "resumed: day 6 is not replayed" bash -c "! '$KUBECTL' -n $NS get dbb '$(run_name 6)' >/dev/null 2>&1"
t_equals "resumed: nextScheduleTime is day 7's" "$(iso "$(run_time 7)")" sfield .status.nextScheduleTime

# 5. an outage: the operator away from day 7 to day 10; on its return only
# day 10's run starts, days 7 to 9 are counted and told in one event
stop_operator
# (the template edited while the operator is away: the status lags the spec)
kubectl -n "$NS" patch dbs nightly --type=merge -p '{"spec":{"backupTemplate":{"metadata":{"annotations":{"lifeboat.dev/e2e":"outage"}}}}}' >/dev/null
save_object backupschedule nightly generation-behind
set_clock 10 -30
missed_before=$(sfield .status.missedCount)
start_operator
t_run "after the outage: the latest missed run (day 10) starts" 0 wait_backup "$(run_name 10)"
for d in 7 8 9; do
	t_true "after the outage: day $d is not run" bash -c "! '$KUBECTL' -n $NS get dbb '$(run_name "$d")' >/dev/null 2>&1"
done
for ((i = 0; i < 40; i++)); do [[ $(sfield .status.missedCount) == $((missed_before + 3)) ]] && break; sleep 0.5; done
t_equals "after the outage: missedCount grew by 3" $((missed_before + 3)) sfield .status.missedCount
T_OUT=$(events_of nightly)
t_contains "after the outage: one MissedRuns event" "MissedRuns: missed 3 runs before"
t_equals "day 10 completes" Completed wait_phase "$(run_name 10)" Completed Failed
save_object backupschedule nightly ready

# 6. a zone that does not exist: InvalidSpec naming it, nothing created
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: BackupSchedule
metadata: {name: nowhere}
spec:
  schedule: "0 2 * * *"
  timeZone: Mars/Olympus_Mons
  backupTemplate:
    spec:
      database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
                 sslMode: disable, passwordSecretRef: {name: app-db, key: password}}
      storage: {volume: {claimName: backups}}
YAML
for ((i = 0; i < 40; i++)); do
	[[ -n $(kubectl -n "$NS" get dbs nowhere -o jsonpath='{.status.message}' 2>/dev/null) ]] && break
	sleep 0.5
done
T_OUT=$(kubectl -n "$NS" get dbs nowhere -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}: {.status.message}')
t_contains "an unknown zone: InvalidSpec" "InvalidSpec: spec.timeZone"
save_object backupschedule nowhere invalidspec
t_contains "an unknown zone: the zone is named" "Mars/Olympus_Mons"
T_OUT=$(events_of nowhere)
t_contains "an unknown zone: a Warning event" "Warning InvalidSpec"

# 7. concurrencyPolicy Replace, on a schedule with the longest name there is
# (253): its runs' names and label are shortened with a hash of the whole
# name (computed here independently), the same way every time; a run still
# active when the next is due is deleted, its Job with it, and the new one
# runs. The clock goes back to real time first (the new schedule is created
# now by the API server's clock), nightly is suspended.
kubectl -n "$NS" patch dbs nightly --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
echo 0 >"$CLOCK"
LONG=replace-$(printf 'x%.0s' {1..245})
LHASH=$(printf %s "$LONG" | sha256sum | cut -c1-8)
LLABEL=${LONG:0:54}-$LHASH
long_time() { TZ=Europe/Stockholm date -d "$(date -u -d "$day0 +$1 day" +%F) 02:30" +%s; }
long_run() { echo "${LONG:0:231}-$LHASH-$(date -u -d "@$(long_time "$1")" +%Y%m%d%H%M)"; }
long_clock() {
	echo $(($(long_time "$1") - 6 - $(date +%s))) >"$CLOCK"
	kubectl -n "$NS" annotate dbs "$LONG" "lifeboat.dev/e2e-tick=$1-$RANDOM" --overwrite >/dev/null 2>&1 || true
}
kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: BackupSchedule
metadata: {name: $LONG}
spec:
  schedule: "30 2 * * *"
  timeZone: Europe/Stockholm
  concurrencyPolicy: Replace
  backupTemplate:
    spec:
      database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
                 sslMode: disable, passwordSecretRef: {name: app-db, key: password},
                 schemaVersionQuery: "SELECT 'v1' FROM pg_sleep(300)"}
      storage: {volume: {claimName: backups}}
      encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
YAML
LA=$(long_run 1)
long_clock 1
t_run "a 253-character schedule name: its run is <start>-<hash>-<minute> (${#LA} characters)" 0 \
	"$KUBECTL" -n "$NS" wait --for=create "dbb/$LA" --timeout=60s
t_equals "the run's label is the name's start and the hash" "$LLABEL" field "$LA" '.metadata.labels.lifeboat\.dev/schedule'
t_equals "the slow run is Running" Running wait_phase "$LA" Running Completed Failed
LA_JOB=$(field "$LA" .status.jobName)
t_true "its Job's name fits in 63 ($LA_JOB)" bash -c "[[ -n '$LA_JOB' && ${#LA_JOB} -le 63 ]]"
kubectl -n "$NS" patch dbs "$LONG" --type=json -p \
	'[{"op":"remove","path":"/spec/backupTemplate/spec/database/schemaVersionQuery"}]' >/dev/null
LB=$(long_run 2)
long_clock 2
t_run "Replace: the next run is created while the first still runs" 0 \
	"$KUBECTL" -n "$NS" wait --for=create "dbb/$LB" --timeout=60s
T_OUT=$(events_of "$LONG")
t_contains "Replace: a Replaced event names the deleted run" "Replaced: backup $LA is deleted for the run at"
t_run "Replace: the replaced run is gone" 0 "$KUBECTL" -n "$NS" wait --for=delete "dbb/$LA" --timeout=120s
t_run "Replace: its Job is gone" 0 "$KUBECTL" -n "$NS" wait --for=delete "job/$LA_JOB" --timeout=60s
t_equals "Replace: the new run completes" Completed wait_phase "$LB" Completed Failed
T_OUT=$("$KUBECTL" -n "$NS" get dbb -l "lifeboat.dev/schedule=$LLABEL" -o name)
t_equals "the label selects the schedule's one remaining run" "databasebackup.lifeboat.dev/$LB" echo "$T_OUT"
for ((i = 0; i < 40; i++)); do [[ $("$KUBECTL" -n "$NS" get dbs "$LONG" -o jsonpath='{.status.successCount}') == 1 ]] && break; sleep 0.5; done
t_equals "the schedule counts the success (its runs found by the shortened label)" "1 $LB" \
	"$KUBECTL" -n "$NS" get dbs "$LONG" -o jsonpath='{.status.successCount} {.status.lastBackup.name}'

T_OUT=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" || true)
t_contains "/metrics counts the missed runs" "lifeboat_schedule_missed_runs_total{namespace=\"$NS\",schedule=\"nightly\"}"
# the per-schedule series the alerts read (docs/alerts.md): nightly is
# suspended now; its two newest Completed runs are days 10 and 4
NL="namespace=\"$NS\",schedule=\"nightly\""
t_matches "/metrics: nightly's interval is a day (23 h or 25 h on a DST day)" "^lifeboat_schedule_interval_seconds\\{$NL\\} (86400|82800|90000)$"
t_contains "/metrics: nightly is suspended" "lifeboat_schedule_suspended{$NL} 1"
t_contains "/metrics: nightly's creation time" "lifeboat_schedule_created_timestamp_seconds{$NL} $(date -d "$(sfield .metadata.creationTimestamp)" +%s)"
t_contains "/metrics: nightly's last success is day 10's completionTime" \
	"lifeboat_schedule_last_success_timestamp_seconds{$NL} $(date -d "$(field "$(run_name 10)" .status.completionTime)" +%s)"
t_contains "/metrics: the newest Completed run's size (day 10)" "lifeboat_schedule_last_backup_size_bytes{$NL} $(field "$(run_name 10)" .status.artifact.size)"
t_contains "/metrics: the one before's size (day 4)" "lifeboat_schedule_previous_backup_size_bytes{$NL} $(field "$(run_name 4)" .status.artifact.size)"
t_contains "/metrics: an invalid schedule has a creation time" "lifeboat_schedule_created_timestamp_seconds{namespace=\"$NS\",schedule=\"nowhere\"}"
t_true "/metrics: ...and no interval" bash -c '[[ $1 != *"lifeboat_schedule_interval_seconds{namespace=\"$2\",schedule=\"nowhere\"}"* ]]' _ "$T_OUT" "$NS"
kubectl -n "$NS" delete dbs nowhere --wait=false >/dev/null
for ((i = 0; i < 40; i++)); do
	T_OUT=$(curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" || true)
	[[ $T_OUT != *'schedule="nowhere"'* ]] && break
	sleep 0.5
done
t_true "/metrics: a deleted schedule's series go" bash -c '[[ -n $1 && $1 != *"schedule=\"nowhere\""* && $1 == *"schedule=\"nightly\""* ]]' _ "$T_OUT"
stop_operator
t_equals "operator exits 0 on SIGTERM" 0 echo "$OP_RC"
t_true "no sanitizer report in the operator's log" bash -c "! grep -q 'Sanitizer' '$WORK/operator.log'"
if grep -q "^FAIL $T_SUITE" "$LIFEBOAT_RESULTS" 2>/dev/null || [[ ${E2E_SHOW_LOG:-0} == 1 ]]; then
	tail -40 "$WORK/operator.log" >&2
fi
