#!/usr/bin/env bash
# tests/gitops/run.sh [DIR...]: the Argo CD health checks of the three kinds
# (config/argocd/health/lifeboat.dev_<Kind>.lua, docs/gitops.md) run in
# Debian's lua5.1 (Argo CD runs them with gopher-lua, Lua 5.1) against real
# objects: the JSON that the e2e suites saved (tests/e2e/lib.sh save_object,
# with LIFEBOAT_OBJECTS_DIR set; tests/run-all.sh passes that folder) and the
# ones captured from one e2e run and committed in tests/gitops/objects/ (the
# default DIR). A file <kind>-<case>.json is judged twice, independently:
#   - its case picks a row of the table below: the health Argo CD must show,
#     and what the object's phase, Ready condition and generations must say
#     (tests/gitops/objects.py facts; failed-<reason> must be that reason);
#   - the kind's Lua script, given the object as Argo CD gives it, must
#     return that health and a message.
# Each real object also gives variants (status removed; metadata.generation
# past status.observedGeneration) that must be Progressing, and a few edge
# states are made from real objects (tests/gitops/objects.py derive). Every
# DIR must hold a Healthy, a Progressing and a Degraded object of each kind,
# and a name the table does not know fails. Then: the ConfigMap that
# config/argocd/print-argocd-cm.sh prints (and its Helm values form) holds
# the three files exactly, and docs/gitops.md shows that output verbatim.
# PASS/FAIL lines to $LIFEBOAT_RESULTS (T_SUITE=gitops), exit 1 when a
# check failed; needs lua5.1 and
# python3 with PyYAML (tests/setup-deps.sh), no cluster, a few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export T_SUITE=${T_SUITE:-gitops}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
here=$root/tests/gitops
health_dir=$root/config/argocd/health
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
WORK=$(mktemp -d /tmp/lifeboat-gitops.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [[ -z ${LIFEBOAT_RESULTS:-} || ! -f ${LIFEBOAT_RESULTS:-} ]]; then LIFEBOAT_RESULTS=$WORK/results; fi
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
[[ $# -gt 0 ]] || set -- "$here/objects"

if ! command -v lua5.1 >/dev/null; then
	t_fail "lua5.1 is installed" "no lua5.1 on PATH: run tests/setup-deps.sh (Debian package lua5.1)"
	exit 1
fi
t_pass "lua5.1 is installed ($(lua5.1 -v 2>&1 | head -1))"

# The table: case pattern (after "<kind>-"), the health, and an ERE the
# object's facts must match. One rule of each file name; none reads the Lua.
rows() {
	cat <<'TABLE'
databasebackup-completed*	Healthy	phase=Completed ready=True/Succeeded .*generation=current
databasebackup-running*	Progressing	phase=Running ready=False/Running .*generation=current
databasebackup-failed-*	Degraded	phase=Failed ready=False/.*generation=current
databasebackup-invalidspec*	Degraded	phase=Pending ready=False/InvalidSpec .*generation=current
databasebackup-podnotstarting*	Degraded	phase=Pending ready=False/PodNotStarting .*generation=current
backupschedule-ready*	Healthy	ready=True/Scheduled .*generation=current suspend=- last=(Pending|Running|Verifying|Completed)$
backupschedule-suspended*	Suspended	ready=True/Suspended .*generation=current suspend=true
backupschedule-invalidspec*	Degraded	ready=False/InvalidSpec .*generation=current
backupschedule-generation-behind*	Progressing	generation=behind
databaserestore-completed*	Healthy	phase=Completed ready=True/Succeeded .*generation=current
databaserestore-safetybackup*	Progressing	phase=SafetyBackup ready=False/SafetyBackup .*generation=current
databaserestore-restoring*	Progressing	phase=Restoring ready=False/Restoring .*generation=current
databaserestore-failed-*	Degraded	phase=Failed ready=False/.*generation=current
databaserestore-confirmationmismatch*	Degraded	phase=Pending ready=False/ConfirmationMismatch .*generation=current
TABLE
}
kind_of() { # FILE NAME: the Kind, or nothing
	case $1 in
	databasebackup-*) echo DatabaseBackup ;;
	backupschedule-*) echo BackupSchedule ;;
	databaserestore-*) echo DatabaseRestore ;;
	esac
}
# health FILE.json KIND: "status<TAB>message" from the kind's script
health() {
	"$PY" "$here/json2lua.py" "$1" >"$WORK/obj.lua" &&
		lua5.1 "$here/health.lua" "$WORK/obj.lua" "$health_dir/lifeboat.dev_$2.lua"
}
# judge LABEL FILE.json KIND WANT [MESSAGE_NEEDLE]: one check of the status
# (and that the message is not empty, or holds the needle)
judge() {
	local label=$1 file=$2 kind=$3 want=$4 needle=${5:-} got status message
	if ! got=$(health "$file" "$kind" 2>&1); then
		t_fail "$label: Argo CD health is $want" "the script failed: $got"
		return
	fi
	status=${got%%$'\t'*}
	message=${got#*$'\t'}
	if [[ $status != "$want" ]]; then
		t_fail "$label: Argo CD health is $want" "got $status ($message)"
	elif [[ -z $message || ( -n $needle && $message != *"$needle"* ) ]]; then
		t_fail "$label: Argo CD health is $want" "the message \"$message\" is empty or lacks \"$needle\""
	else
		t_pass "$label: Argo CD health is $want (${message:0:90})"
	fi
}

# 1. the scripts parse as Lua 5.1
for kind in DatabaseBackup BackupSchedule DatabaseRestore; do
	t_run "lifeboat.dev_$kind.lua parses as Lua 5.1 (luac5.1 -p)" 0 luac5.1 -p "$health_dir/lifeboat.dev_$kind.lua"
done

# 2. the objects
others=0
for dir in "$@"; do
	if [[ $dir -ef $here/objects ]]; then
		label=fixtures
	else
		others=$((others + 1))
		label=e2e
		[[ $others -eq 1 ]] || label=e2e-$others
	fi
	declare -A seen=()
	n=0
	for file in "$dir"/*.json; do
		[[ -e $file ]] || continue
		name=$(basename "$file" .json)
		kind=$(kind_of "$name")
		row=
		while IFS=$'\t' read -r pattern want facts_ere; do
			# shellcheck disable=SC2254 # the pattern is the table's glob
			case $name in $pattern)
				row=$want$'\t'$facts_ere
				break
				;;
			esac
		done < <(rows)
		if [[ -z $kind || -z $row ]]; then
			t_fail "$label/$name: the table knows the case" "no row of tests/gitops/run.sh matches $name"
			continue
		fi
		n=$((n + 1))
		want=${row%%$'\t'*}
		facts_ere=${row#*$'\t'}
		facts=$("$PY" "$here/objects.py" facts "$file")
		if [[ $facts != "kind=$kind "* ]] || ! grep -Eq -- "$facts_ere" <<<"$facts"; then
			t_fail "$label/$name: the object is what its name says" "$facts does not match /$facts_ere/"
			continue
		fi
		if [[ $name == *-failed-* && $facts != *" reason_lc=${name##*-failed-} "* ]]; then
			t_fail "$label/$name: the object is what its name says" "the Ready reason in \"$facts\" is not ${name##*-failed-}"
			continue
		fi
		t_pass "$label/$name: the object is what its name says ($facts)"
		judge "$label/$name" "$file" "$kind" "$want"
		seen[$kind/$want]=1
		# variants of every real object
		"$PY" "$here/objects.py" derive "$file" nostatus "$WORK/v.json"
		judge "$label/$name without a status yet" "$WORK/v.json" "$kind" Progressing "Waiting for the Lifeboat operator"
		"$PY" "$here/objects.py" derive "$file" behind "$WORK/v.json"
		judge "$label/$name, its generation past observedGeneration" "$WORK/v.json" "$kind" Progressing "observe generation"
	done
	if [[ $n -eq 0 ]]; then
		t_fail "$label: holds objects" "no <kind>-<case>.json in $dir"
		continue
	fi
	for kind in DatabaseBackup BackupSchedule DatabaseRestore; do
		for h in Healthy Progressing Degraded; do
			if [[ -n ${seen[$kind/$h]:-} ]]; then
				t_pass "$label: a $h $kind among the real objects"
			else
				t_fail "$label: a $h $kind among the real objects" "none in $dir"
			fi
		done
	done
	unset seen
done

# 3. edge states, each made from a real object (the default folder's)
obj=$here/objects
derived() { # LABEL FILE VARIANT KIND WANT [NEEDLE]
	if [[ ! -e $obj/$2.json ]]; then
		t_fail "$1: Argo CD health is $5" "$obj/$2.json is missing"
		return
	fi
	"$PY" "$here/objects.py" derive "$obj/$2.json" "$3" "$WORK/d.json"
	judge "$1" "$WORK/d.json" "$4" "$5" "${6:-}"
}
derived "a schedule whose latest run Failed" backupschedule-ready schedule-lastfailed BackupSchedule Degraded "Failed"
derived "a backup in Deleting" databasebackup-completed backup-deleting DatabaseBackup Progressing "removes the stored backup"
derived "a backup whose delete Job failed (DeleteFailed)" databasebackup-completed backup-deletefailed DatabaseBackup Degraded "DeleteFailed"
derived "a backup whose pod waits for a node (PodUnschedulable)" databasebackup-podnotstarting backup-unschedulable DatabaseBackup Progressing "cannot be scheduled"
derived "a backup in a phase this script does not know" databasebackup-completed phase-unknown DatabaseBackup Unknown "Exploded"
derived "a restore waiting for its backup to complete" databaserestore-confirmationmismatch restore-waits DatabaseRestore Progressing "starts once it is Completed"
derived "a restore of a backup that Failed" databaserestore-confirmationmismatch restore-refused DatabaseRestore Degraded "choose another backup"
derived "a failed restore that left the target unchanged" databaserestore-failed-wrongpassphrase restore-unchanged DatabaseRestore Degraded "left unchanged"
derived "a schedule in a phase-less unknown state stays judged by Ready" backupschedule-invalidspec phase-unknown BackupSchedule Degraded "InvalidSpec"

# 4. the argocd-cm ConfigMap, its Helm form, and the doc's copy: one source
printer=$root/config/argocd/print-argocd-cm.sh
t_run "print-argocd-cm.sh prints the ConfigMap" 0 "$printer"
printf '%s\n' "$T_OUT" >"$WORK/cm.yaml"
t_run "the ConfigMap holds exactly the three scripts, byte for byte" 0 "$PY" "$here/objects.py" configmap "$WORK/cm.yaml" "$health_dir"
t_run "print-argocd-cm.sh --helm-values prints the argo-cd chart's values" 0 "$printer" --helm-values
printf '%s\n' "$T_OUT" >"$WORK/values.yaml"
t_run "the Helm values (configs.cm) hold the three scripts, byte for byte" 0 "$PY" "$here/objects.py" configmap "$WORK/values.yaml" "$health_dir" --helm-values
if "$PY" "$here/objects.py" docblock "$root/docs/gitops.md" >"$WORK/doc.yaml" 2>"$WORK/doc.err"; then
	t_same "docs/gitops.md shows print-argocd-cm.sh's output verbatim" "$WORK/cm.yaml" "$WORK/doc.yaml"
else
	t_fail "docs/gitops.md shows print-argocd-cm.sh's output verbatim" "$(cat "$WORK/doc.err")"
fi

passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^PASS $T_SUITE: " || true)
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
echo "gitops: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
