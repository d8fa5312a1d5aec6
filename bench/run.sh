#!/usr/bin/env bash
# `make bench`: lifeboat against the baselines it replaces, in one invocation,
# on two databases of BENCH_MB megabytes each (default 1000): pgbench (its
# filler compresses ~36:1) and hex (md5 text, compresses poorly). Prints
# wall-time ratios, sizes, lifeboat's peak RSS and temp disk; appends a
# summary to bench/results/ (a copy for docs/performance.md).
set -euo pipefail
LIFEBOAT=${1:?usage: bench/run.sh PATH/TO/lifeboat}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=data.sh
source "$root/bench/data.sh"
MB=${BENCH_MB:-1000}
WORK=$(mktemp -d /tmp/lifeboat-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_stop || true; rm -rf "$WORK"' EXIT
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo 'bench passphrase' >"$WORK/pass"

pg_start >/dev/null
echo "bench: building databases of ~${MB} MB each (pgbench scale $((MB / 15)), hex $((MB * 8000)) rows)"
bench_make_pgbench pgbench $((MB / 15 > 0 ? MB / 15 : 1)) >/dev/null 2>&1
bench_make_hex hex $((MB * 8000)) >/dev/null 2>&1

# now: a monotonic clock in seconds with millisecond precision.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
size() { stat -c %s "$1"; }
# result_field DOTTED.PATH RESULT_JSON: one field of lifeboat's result line.
result_field() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[2].strip().splitlines()[-1])
for k in sys.argv[1].split("."):
    d = d[k]
print(d)' "$1" "$2"
}

summary="$WORK/summary.txt"
printf 'lifeboat %s bench, %s, %s cores, %s, BENCH_MB=%s\n' "$("$LIFEBOAT" --version | cut -d' ' -f2)" \
	"$(date -u +%Y-%m-%d)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$MB" >"$summary"

for db in pgbench hex; do
	echo
	echo "== $db: $(bench_db_size "$db") bytes on disk"
	uri=$(pg_uri "$db")
	out="$WORK/store-$db"
	tmp="$WORK/tmp-$db"
	mkdir -p "$out" "$tmp"

	t=$(now); pg_tool pg_dump -Fc -Z0 "$db" >/dev/null; a=$(elapsed "$t")
	t=$(now); a2_size=$(pg_tool pg_dump -Fc "$db" | wc -c); a2=$(elapsed "$t")

	t=$(now)
	b_res=$(TMPDIR=$tmp "$LIFEBOAT" backup --db "$uri" --storage "file://$out" --name b --passphrase-file "$WORK/pass" 2>/dev/null)
	b=$(elapsed "$t")
	b_size=$(result_field artifact.size "$b_res")
	b_rss=$(result_field peakRssKiB "$b_res")

	t=$(now)
	b0_res=$(TMPDIR=$tmp "$LIFEBOAT" backup --db "$uri" --storage "file://$out" --name b0 --compression none --passphrase-file "$WORK/pass" 2>/dev/null)
	b0=$(elapsed "$t")
	b0_size=$(result_field artifact.size "$b0_res")
	b0_rss=$(result_field peakRssKiB "$b0_res")
	lb_temp=$(find "$tmp" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	# Stray: any file in a backup's folder its manifest does not name.
	extra=$(python3 -c 'import json, os, sys
n = 0
for top, _, files in os.walk(sys.argv[1]):
    if "manifest.json" not in files:
        n += len(files)
        continue
    named = {o["key"] for o in json.load(open(os.path.join(top, "manifest.json")))["objects"]}
    n += sum(1 for f in files if f != "manifest.json" and f not in named)
print(n)' "$out")

	# The seeds' sequential way: dump to a file, gpg to a second file, hash, copy.
	t=$(now)
	pg_tool pg_dump -Fc "$db" >"$WORK/seq.dump"
	gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$WORK/pass" --symmetric \
		--cipher-algo AES256 -o "$WORK/seq.dump.gpg" "$WORK/seq.dump"
	sha256sum "$WORK/seq.dump.gpg" >/dev/null
	mkdir -p "$WORK/seq-dest" && cp "$WORK/seq.dump.gpg" "$WORK/seq-dest/"
	c=$(elapsed "$t")
	c_temp=$(($(size "$WORK/seq.dump") + $(size "$WORK/seq.dump.gpg")))
	c_size=$(size "$WORK/seq.dump.gpg")

	# Restore: lifeboat restore (from b) vs pg_restore of a local dump file.
	pg_psql postgres -q -c "DROP DATABASE IF EXISTS r1" -c "CREATE DATABASE r1" >/dev/null
	t=$(now)
	r_res=$("$LIFEBOAT" restore --db "$(pg_uri r1)" --storage "file://$out" --name b --passphrase-file "$WORK/pass" --confirm r1 2>/dev/null)
	r=$(elapsed "$t")
	r_rss=$(result_field peakRssKiB "$r_res")
	pg_psql postgres -q -c "DROP DATABASE IF EXISTS r2" -c "CREATE DATABASE r2" >/dev/null
	t=$(now); pg_tool pg_restore -d r2 "$WORK/seq.dump"; r0=$(elapsed "$t")
	pg_psql postgres -q -c "DROP DATABASE r1" -c "DROP DATABASE r2" >/dev/null
	rm -rf "$WORK/seq.dump" "$WORK/seq.dump.gpg" "$WORK/seq-dest" "$out"

	{
		echo
		echo "[$db] $(bench_db_size "$db") bytes on disk"
		printf '  %-46s %8s s  %14s bytes\n' "(a)  pg_dump -Fc -Z0 > /dev/null" "$a" "-"
		printf '  %-46s %8s s  %14s bytes\n' "(a2) pg_dump -Fc (gzip) > /dev/null" "$a2" "$a2_size"
		printf '  %-46s %8s s  %14s bytes  peak RSS %s KiB\n' "(b)  lifeboat backup (zstd:3 + OpenPGP)" "$b" "$b_size" "$b_rss"
		printf '  %-46s %8s s  %14s bytes  peak RSS %s KiB\n' "(b0) lifeboat backup --compression none" "$b0" "$b0_size" "$b0_rss"
		printf '  %-46s %8s s  %14s bytes  temp disk %s bytes\n' "(c)  pg_dump file, gpg file, sha256sum, cp" "$c" "$c_size" "$c_temp"
		printf '  %-46s %8s s  peak RSS %s KiB\n' "(r)  lifeboat restore" "$r" "$r_rss"
		printf '  %-46s %8s s\n' "(r0) pg_restore -d from a local dump file" "$r0"
		printf '  ratios: b0/a %s (target <= 1.10)  b/a %s (<= 1.5)  b size/a2 size %s (<= 1.00)\n' \
			"$(ratio "$b0" "$a")" "$(ratio "$b" "$a")" "$(ratio "$b_size" "$a2_size")"
		printf '          a2/b %s (>= 5 on hex)  c/b %s (>= 2)  r/r0 %s (<= 1.10)\n' \
			"$(ratio "$a2" "$b")" "$(ratio "$c" "$b")" "$(ratio "$r" "$r0")"
		printf '  lifeboat temp disk: %s bytes in TMPDIR, %s stray files in storage\n' "$lb_temp" "$extra"
	} | tee -a "$summary"
done
mkdir -p "$root/bench/results"
cp "$summary" "$root/bench/results/latest.txt"
echo
echo "bench: summary written to bench/results/latest.txt"
