#!/usr/bin/env bash
# tests/fuzz/run.sh: runs the libFuzzer targets built by `make fuzz-build`
# ($FUZZ_BUILD/fuzz_NAME, default build/fuzz) and records one PASS or FAIL
# line per target (and one per folder of saved crash inputs) in
# $LIFEBOAT_RESULTS, as tests/lib/t.sh does (suite "fuzz").
#   tests/fuzz/run.sh --runs N [NAME...]     `make test`: N inputs each after
#       the seeds, from tests/fuzz/corpus/NAME alone, with a fixed -seed, so
#       a run is repeatable (a throwaway working corpus)
#   tests/fuzz/run.sh --seconds S [NAME...]  `make fuzz`: S seconds each;
#       what is found is kept in $FUZZ_BUILD/corpus/NAME for the next run
# First each target replays tests/fuzz/regress/NAME/* (inputs that once
# crashed it). A crash saves its input in $FUZZ_BUILD/crashes/NAME/ and the
# FAIL line names it; replay it with `$FUZZ_BUILD/fuzz_NAME FILE`. A table of
# executions and coverage (libFuzzer's final cov: and ft:) ends the run.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export T_SUITE=${T_SUITE:-fuzz}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
build=${FUZZ_BUILD:-build/fuzz}
[[ $build == /* ]] || build=$root/$build

mode=${1:-}
amount=${2:-}
if [[ ($mode != --runs && $mode != --seconds) || ! $amount =~ ^[0-9]+$ ]]; then
	echo "usage: tests/fuzz/run.sh --runs N|--seconds S [NAME...]" >&2
	exit 2
fi
shift 2

# NAME  max_len  dictionaries (tests/fuzz/dict/*.dict)  runs in --runs mode (- = N)
targets="
openpgp_decrypt   4096  -                   -
openpgp_inner     4096  -                   -
openpgp_roundtrip 4096  -                   -
manifest          16384 json,manifest       -
jobresult         8192  json,jobresult      -
kubeconfig        8192  yaml,kubeconfig     -
kube_api          8192  json,kube_api       -
informer          16384 json,kube_api       5000
s3_xml            8192  xml,s3              -
azure_xml         8192  xml,azure           -
gcs_json          4096  json,gcs            -
storage_url       1024  url                 -
cron              256   cron                -
tz                8192  -                   -
"

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
	for bin in "$build"/fuzz_*; do
		[[ -x $bin ]] && names+=("${bin##*/fuzz_}")
	done
fi
if [[ ${#names[@]} -eq 0 ]]; then
	t_fail "targets built" "no $build/fuzz_* binaries: run make fuzz-build"
	exit 1
fi

tmp=$(mktemp -d /tmp/lifeboat-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
table=$tmp/table
status=0
# Each input gets 10 s (the slowest take milliseconds); the whole run of a
# target its budget and a minute more, then timeout(1) ends it.
for name in "${names[@]}"; do
	bin=$build/fuzz_$name
	read -r _ max_len dicts runs < <(awk -v n="$name" '$1 == n' <<<"$targets")
	max_len=${max_len:-4096} dicts=${dicts:--} runs=${runs:--}
	[[ $runs == - ]] && runs=$amount
	if [[ ! -x $bin ]]; then
		t_fail "$name" "$bin is not built (make fuzz-build)"
		status=1
		continue
	fi
	seeds=$root/tests/fuzz/corpus/$name
	if [[ ! -d $seeds ]] || [[ -z $(ls -A "$seeds") ]]; then
		t_fail "$name" "no seed corpus in tests/fuzz/corpus/$name"
		status=1
		continue
	fi

	regress=$root/tests/fuzz/regress/$name
	if [[ -d $regress ]] && [[ -n $(ls -A "$regress") ]]; then
		n=$(find "$regress" -type f | wc -l)
		if out=$(timeout 300 "$bin" -timeout=10 "$regress"/* 2>&1); then
			t_pass "$name replays its $n saved crash inputs (tests/fuzz/regress/$name)"
		else
			t_fail "$name replays its $n saved crash inputs" \
				"$(grep -E 'Running:|SUMMARY|property failed|ERROR' <<<"$out" | tail -6 | tr '\n' ' ')"
			status=1
		fi
	fi

	dict_args=()
	if [[ $dicts != - ]]; then
		: >"$tmp/$name.dict"
		for d in ${dicts//,/ }; do
			cat "$root/tests/fuzz/dict/$d.dict" >>"$tmp/$name.dict"
		done
		dict_args=(-dict="$tmp/$name.dict")
	fi
	crashes=$build/crashes/$name
	mkdir -p "$crashes"
	if [[ $mode == --runs ]]; then
		work=$tmp/corpus-$name
		limit=$((600 + 60))
		budget=(-runs="$runs" -seed=1)
	else
		work=$build/corpus/$name
		limit=$((amount + 60))
		budget=(-max_total_time="$amount")
	fi
	mkdir -p "$work"
	log=$tmp/$name.log
	started=$(date +%s)
	timeout "$limit" "$bin" "${budget[@]}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "${dict_args[@]}" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - started))
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")
	if [[ $rc -eq 0 && -n $done_line ]]; then
		t_pass "$name: ${execs:-?} runs in ${secs} s, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}"
		printf '%-18s %10s %6s %6s %6s %5s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
			"${corp:-?}" "$secs" >>"$table"
	else
		crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		why=$(grep -E 'SUMMARY|property failed|ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error' "$log" |
			head -3 | tr '\n' ' ')
		[[ $rc -eq 124 ]] && why="timed out after $limit s; $why"
		tail -40 "$log"
		t_fail "$name" "libFuzzer exited $rc: ${why:-see the log above}${crash:+; input saved as $crash (replay: $bin $crash)}"
		printf '%-18s %10s %6s %6s %6s %5s  FAILED\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
			"${corp:-?}" "$secs" >>"$table"
		status=1
	fi
done

if [[ -s $table ]]; then
	printf '\n%-18s %10s %6s %6s %6s %5s\n' target executions cov ft corpus s
	cat "$table"
fi
exit $status
