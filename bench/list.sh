#!/usr/bin/env bash
# `make bench`, list part: `lifeboat list` over a file:// storage holding
# BENCH_LIST_N backups (default 100,000, the most one listing takes) and a
# tenth as many, against `find DIR -name manifest.json | wc -l` over the same
# folders in the same invocation. Prints both times, the ratio 100k/10k
# (about 10 when the listing is linear in the number of backups, about 100
# when it is quadratic) and lifeboat's peak RSS from its result; appends the
# summary to bench/results/latest.txt. The manifests are written directly,
# in the format job/model/manifest.c reads (as tests/lib/make_manifest.py does).
# BENCH_LIST_BASELINE=PATH/TO/other/lifeboat also times that binary;
# BENCH_LIST_RESULTS: append to another file.
set -euo pipefail
LIFEBOAT=${1:?usage: bench/list.sh PATH/TO/lifeboat}
root=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_LIST_N:-100000}
SMALL=$((N / 10))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-bench-list.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# make_store DIR COUNT: COUNT backups in 10 namespaces, each a folder with
# its manifest, an (empty) dump object and, for one in ten, a verdict.
make_store() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys

root, count = sys.argv[1], int(sys.argv[2])
sha = "3b22c7e0d86c8e4a" * 4
for i in range(count):
    ns, name = "ns-%d" % (i % 10), "nightly-%07d" % i
    d = os.path.join(root, ns, name)
    os.makedirs(d)
    when = "2026-%02d-%02dT02:00:00Z" % (1 + i % 12, 1 + i % 28)
    m = {
        "formatVersion": 1, "namespace": ns, "name": name, "toolVersion": "bench",
        "createdAt": when, "completedAt": when, "format": "custom",
        "compression": {"algorithm": "zstd", "level": 3},
        "objects": [{"key": "db.dump.zst.pgp", "size": 1000 + i, "sha256": sha}],
        "plaintext": {"size": 5000 + i, "sha256": sha},
        "encryption": {"enabled": True, "cipher": "AES256"},
        "postgresql": {"serverVersion": "15.18", "dumpVersion": "15.18"},
        "database": {"name": "app", "sizeBytes": 8000000, "tableCount": 12, "rowEstimate": 150000},
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f)
    open(os.path.join(d, "db.dump.zst.pgp"), "w").close()
    if i % 10 == 0:
        with open(os.path.join(d, "verified.json"), "w") as f:
            json.dump({"time": when, "method": "sha256+mdc+pg_restore-list", "sha256": sha}, f)
PY
}

summary="$WORK/summary.txt"
{
	echo
	echo "[list] lifeboat list over file:// storage, $SMALL and $N backups (10 namespaces)"
} >"$summary"
cat "$summary"

# run_list BIN DIR RESULT: times one `lifeboat list` (table to /dev/null).
run_list() {
	local t
	t=$(now)
	"$1" list --storage "file://$2" --result-path "$3" >/dev/null 2>"$WORK/list.err" || {
		echo "  $1 list failed: $(tail -c 300 "$WORK/list.err")" >&2
		echo "-"
		return 0
	}
	elapsed "$t"
}

declare -A T_FIND T_LIST T_JSON RSS RSS_JSON T_BASE
for n in "$SMALL" "$N"; do
	dir="$WORK/store-$n"
	t=$(now)
	make_store "$dir" "$n"
	echo "  made $n backups in $(elapsed "$t") s"
	# Written back and in the cache, the same for both: writeback of the
	# new files would otherwise slow whichever runs first.
	sync -f "$dir"
	find "$dir" -name manifest.json >/dev/null
	t=$(now)
	found=$(find "$dir" -name manifest.json | wc -l)
	T_FIND[$n]=$(elapsed "$t")
	T_LIST[$n]=$(run_list "$LIFEBOAT" "$dir" "$WORK/r-$n.json")
	count=$(field "$WORK/r-$n.json" count)
	RSS[$n]=$(field "$WORK/r-$n.json" peakRssKiB)
	t=$(now)
	"$LIFEBOAT" list --storage "file://$dir" --output json --result-path "$WORK/j-$n.json" >/dev/null 2>&1
	T_JSON[$n]=$(elapsed "$t")
	RSS_JSON[$n]=$(field "$WORK/j-$n.json" peakRssKiB)
	if [[ $found != "$n" || $count != "$n" ]]; then
		echo "bench list: find saw $found manifests and lifeboat list $count, wanted $n" >&2
		exit 1
	fi
	if [[ -n ${BENCH_LIST_BASELINE:-} ]]; then
		T_BASE[$n]=$(run_list "$BENCH_LIST_BASELINE" "$dir" "$WORK/b-$n.json")
	fi
	rm -rf "$dir"
done

{
	for n in "$SMALL" "$N"; do
		printf '  %7d backups: find | wc -l %6.2f s   lifeboat list %6.2f s  peak RSS %7d KiB   --output json %6.2f s  peak RSS %7d KiB\n' \
			"$n" "${T_FIND[$n]}" "${T_LIST[$n]}" "${RSS[$n]}" "${T_JSON[$n]}" "${RSS_JSON[$n]}"
		if [[ -n ${BENCH_LIST_BASELINE:-} ]]; then
			printf '  %7d backups: baseline %s list %s s\n' "$n" "$BENCH_LIST_BASELINE" "${T_BASE[$n]}"
		fi
	done
	echo "  ratios: list ${N}/${SMALL} $(ratio "${T_LIST[$N]}" "${T_LIST[$SMALL]}") (linear: about 10)  find ${N}/${SMALL} $(ratio "${T_FIND[$N]}" "${T_FIND[$SMALL]}")  list/find at $N $(ratio "${T_LIST[$N]}" "${T_FIND[$N]}")"
} | tee -a "$summary"
mkdir -p "$root/bench/results"
cat "$summary" >>"${BENCH_LIST_RESULTS:-$root/bench/results/latest.txt}"
echo "bench list: summary appended to bench/results/latest.txt"
