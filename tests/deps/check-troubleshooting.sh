#!/usr/bin/env bash
# tests/deps/check-troubleshooting.sh: every reason the operator can write
# into a condition or an Event (the literals and #defines passed to its
# status and event functions, the phases, and the job's reasons from
# common/err.c that reach the status through the job's result), and every
# error or warning line the operator process logs, is explained in the
# section "## The operator" of docs/troubleshooting.md; and every message of
# the job's restore (its schema check, audit record, missing roles, the
# list/delete/audit verbs) is quoted somewhere in the page. The extraction is in
# tests/deps/troubleshooting.py; it fails when it finds too little or meets a
# reason expression it cannot follow, so it cannot pass by checking nothing.
# One check a reason, recorded with tests/lib/t.sh (T_SUITE=deps); a missing
# one fails as
#   check-troubleshooting: reason PodLost (operator/controller/backup.c:373 reason =) is missing from the operator section ...
# Needs no build, no cluster, no network; takes well under a second.
#   tests/deps/check-troubleshooting.sh [ROOT]   # default: this checkout
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
export T_SUITE=${T_SUITE:-deps}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/t.sh
source "$here/../lib/t.sh"

PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
if ! out=$("$PY" "$here/troubleshooting.py" "$root" 2>&1); then
	t_fail "check-troubleshooting ran" "$(printf '%s' "$out" | tail -c 1500)"
	exit 1
fi
passed=0 failed=0
while IFS=$'\t' read -r kind name why; do
	case $kind in
	PASS)
		t_pass "troubleshooting: $name" >/dev/null
		passed=$((passed + 1))
		;;
	FAIL)
		t_fail "troubleshooting: $name" "$why" >/dev/null
		echo "  check-troubleshooting: $why"
		failed=$((failed + 1))
		;;
	*)
		t_fail "check-troubleshooting output" "$kind $name $why"
		failed=$((failed + 1))
		;;
	esac
done <<<"$out"
echo "  check-troubleshooting: $((passed + failed)) checks (the extraction's sanity, then one a reason or log message): $passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
