# shellcheck shell=bash
# tests/lib/t.sh: a tiny test recorder for the shell-driven suites. Each check
# appends "PASS suite: name" or "FAIL suite: name: why" to $LIFEBOAT_RESULTS.

T_SUITE=${T_SUITE:-integration}
: "${LIFEBOAT_RESULTS:=/dev/null}"

t_pass() { printf 'PASS %s: %s\n' "$T_SUITE" "$1" >>"$LIFEBOAT_RESULTS"; printf '  ok   %s\n' "$1"; }
t_fail() {
	printf 'FAIL %s: %s: %s\n' "$T_SUITE" "$1" "$2" >>"$LIFEBOAT_RESULTS"
	printf '  FAIL %s: %s\n' "$1" "$2"
}

# t_run NAME EXPECTED_EXIT CMD...: runs CMD, keeps stdout+stderr in $T_OUT and
# its exit status in $T_RC, and records whether the status was EXPECTED_EXIT.
t_run() {
	local name=$1 want=$2
	shift 2
	set +e
	T_OUT=$("$@" 2>&1)
	T_RC=$?
	set -e
	if [[ $T_RC -eq $want ]]; then
		t_pass "$name"
	else
		t_fail "$name" "exit $T_RC, wanted $want; output: $(printf '%s' "$T_OUT" | tail -c 1500)"
	fi
}

# t_contains NAME NEEDLE: records whether $T_OUT contains NEEDLE.
t_contains() {
	if [[ $T_OUT == *"$2"* ]]; then t_pass "$1"; else t_fail "$1" "output lacks \"$2\": $(printf '%s' "$T_OUT" | tail -c 800)"; fi
}

# t_same NAME FILE1 FILE2: records whether two files are identical.
t_same() {
	if cmp -s "$2" "$3"; then t_pass "$1"; else t_fail "$1" "$(diff "$2" "$3" | head -20)"; fi
}

# t_true NAME CMD...: records whether CMD succeeds (its output is discarded).
t_true() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then t_pass "$name"; else t_fail "$name" "command failed: $*"; fi
}

# t_equals NAME WANT CMD...: records whether CMD prints exactly WANT.
t_equals() {
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1) || true
	if [[ $got == "$want" ]]; then t_pass "$name"; else t_fail "$name" "got \"$got\", wanted \"$want\""; fi
}

# t_matches NAME ERE: records whether a line of $T_OUT matches ERE.
t_matches() {
	if grep -Eq -- "$2" <<<"$T_OUT"; then t_pass "$1"; else t_fail "$1" "no line matches /$2/: $(printf '%s' "$T_OUT" | tail -c 800)"; fi
}
