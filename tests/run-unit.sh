#!/usr/bin/env bash
# Runs cmocka unit-test binaries and records each test's outcome.
set -uo pipefail
: "${LIFEBOAT_RESULTS:=/dev/null}"
label=${UNIT_LABEL:-unit}
shift # the build folder (kept for the Makefile's call shape)
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	# UNIT_WRAPPER: e.g. "valgrind -q --error-exitcode=1 --leak-check=full".
	# shellcheck disable=SC2086
	out=$(${UNIT_WRAPPER:-} "$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED)  \]|^\[  ERROR   \]' | sed "s/^/  $name /"
	oks=$(printf '%s\n' "$out" | grep -cE '^\[       OK \]' || true)
	printf '%s\n' "$out" | grep -E '^\[       OK \]' | sed -E "s/^\[       OK \] (.*)/PASS $label: $name.\1/" >>"$LIFEBOAT_RESULTS"
	printf '%s\n' "$out" | grep -E '^\[  FAILED  \] [a-z_]' | sed -E "s/^\[  FAILED  \] (.*)/FAIL $label: $name.\1/" >>"$LIFEBOAT_RESULTS"
	if [[ $rc -ne 0 ]]; then
		status=1
		# A crash or sanitizer abort after some passes still counts as a failure.
		if ! grep -qE '^\[  FAILED  \] [a-z_]' <<<"$out"; then
			echo "FAIL $label: $name: exited $rc after $oks passing tests" >>"$LIFEBOAT_RESULTS"
			printf '%s\n' "$out" | tail -30
		fi
	fi
done
exit $status
