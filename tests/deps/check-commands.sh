#!/usr/bin/env bash
# tests/deps/check-commands.sh: every external command that the scripts call
# (tests/, bench/, .ci/, the Makefile's recipes for test/demo/bench, and the
# Python helpers' subprocess calls) is installed by the set-up: provided by a
# package tests/setup-deps.sh installs, by an Essential or Priority-required
# package (in every debootstrap minbase), by git/make/ca-certificates (the
# bare machine's base), or fetched by the set-up itself (go, helm, kubectl).
# One check per command, recorded with tests/lib/t.sh (T_SUITE=deps); a
# missing one fails as
#   check-commands: 'curl' (tests/storage/s3.sh:63) is provided by package curl, which tests/setup-deps.sh does not install
# The tokenizer and the package mapping are in tests/deps/commands.py
# (`tests/deps/commands.py list .` prints the whole inventory). Takes a few
# seconds, needs no network. Run after tests/setup-deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export T_SUITE=${T_SUITE:-deps}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"

PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
if ! out=$("$PY" "$root/tests/deps/commands.py" check "$root" 2>&1); then
	t_fail "check-commands ran" "$(printf '%s' "$out" | tail -c 1500)"
	exit 1
fi
passed=0 failed=0
while IFS=$'\t' read -r kind name why; do
	case $kind in
	PASS)
		t_pass "$name" >/dev/null
		passed=$((passed + 1))
		;;
	FAIL)
		t_fail "$name" "$why" >/dev/null
		echo "  $why"
		failed=$((failed + 1))
		;;
	NOTE) echo "  note: $name" ;;
	esac
done <<<"$out"
echo "  check-commands: $((passed + failed)) checks (the tokenizer's self-test, then one a command): $passed passed, $failed failed"
[[ $failed -eq 0 ]]
