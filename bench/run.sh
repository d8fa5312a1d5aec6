#!/usr/bin/env bash
# `make bench`: lifeboat against the baselines it replaces, in one invocation,
# on two databases (pgbench: its filler compresses ~100:1; hex: md5 text,
# compresses poorly) at each size of BENCH_MB (megabytes, default "400
# 1000"). Prints wall-time ratios against the floors (pg_dump -Fc -Z0 to
# /dev/null, and to a file in the same folder lifeboat writes to), sizes,
# lifeboat's peak RSS and temp disk, and lifeboat's own CPU seconds per GB
# of plaintext against the sum of its primitives on the same bytes
# (bench/primitives.c: SHA-256 twice, the compressor alone at the levels
# lifeboat used, AES-256-CFB, SHA-1, the S2K's SHA-256); writes the summary to
# bench/results/latest.txt (a copy for docs/performance.md).
set -euo pipefail
LIFEBOAT=${1:?usage: bench/run.sh PATH/TO/lifeboat PATH/TO/bench-primitives}
PRIMITIVES=${2:?usage: bench/run.sh PATH/TO/lifeboat PATH/TO/bench-primitives}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=data.sh
source "$root/bench/data.sh"
SIZES=${BENCH_MB:-400 1000}
WORK=$(mktemp -d /tmp/lifeboat-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_stop || true; rm -rf "$WORK"' EXIT
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo 'bench passphrase' >"$WORK/pass"

pg_start >/dev/null

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
	"$(date -u +%Y-%m-%d)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$SIZES" >"$summary"

# primitive NAME OUTPUT: one figure of bench/primitives' output.
primitive() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
# per_gb SECONDS BYTES: seconds per 10^9 bytes.
per_gb() { awk -v s="$1" -v b="$2" 'BEGIN { printf "%.2f", s * 1e9 / b }'; }
# levels MANIFEST: "LEVEL:BYTES,..." of compression.levels, or none.
levels() {
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
c = m["compression"]
if c["algorithm"] != "zstd":
    print("none")
elif c.get("levels"):
    print(",".join("%d:%d" % (l["level"], l["plaintextBytes"]) for l in c["levels"]))
else:  # a manifest from before zstd:auto: one level
    print("%d:%d" % (c["level"], m["plaintext"]["size"]))' "$1"
}
# busy: CPU ticks the whole machine has spent working (user, nice, system,
# irq, softirq) since boot; HZ ticks a second.
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
# s2k_count MANIFEST: the S2K count of an encrypted backup, 0 otherwise.
s2k_count() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get("encryption", {}).get("s2kCount", 0))' "$1"
}
rss_lines="$WORK/rss.txt"
: >"$rss_lines"

for MB in $SIZES; do
echo "bench: building databases of ~${MB} MB each (pgbench scale $((MB / 15)), hex $((MB * 8000)) rows)"
bench_make_pgbench pgbench $((MB / 15 > 0 ? MB / 15 : 1)) >/dev/null 2>&1
bench_make_hex hex $((MB * 8000)) >/dev/null 2>&1
for db in pgbench hex; do
	echo
	echo "== $db: $(bench_db_size "$db") bytes on disk"
	uri=$(pg_uri "$db")
	out="$WORK/store-$db"
	tmp="$WORK/tmp-$db"
	mkdir -p "$out" "$tmp"

	t=$(now); pg_tool pg_dump -Fc -Z0 "$db" >/dev/null; a=$(elapsed "$t")
	# The floor of a file:// backup: the same bytes to the same folder.
	t=$(now); u=$(busy)
	pg_tool pg_dump -Fc -Z0 "$db" >"$out/floor.dump"; sync "$out/floor.dump"
	af=$(elapsed "$t"); af_busy=$(awk -v a="$u" -v b="$(busy)" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
	t=$(now); a2_size=$(pg_tool pg_dump -Fc "$db" | wc -c); a2=$(elapsed "$t")

	t=$(now)
	b_res=$(TMPDIR=$tmp "$LIFEBOAT" backup --db "$uri" --storage "file://$out" --name b --passphrase-file "$WORK/pass" 2>/dev/null)
	b=$(elapsed "$t")
	b_size=$(result_field artifact.size "$b_res")
	b_rss=$(result_field peakRssKiB "$b_res")
	b_cpu=$(result_field cpuSeconds "$b_res")
	b_sys=$(result_field cpuSystemSeconds "$b_res")
	b_comp=$(result_field artifact.compression "$b_res")
	b_plain=$(result_field artifact.plaintextSize "$b_res")
	b_levels=$(levels "$out/default/b/manifest.json")

	t=$(now)
	b0_res=$(TMPDIR=$tmp "$LIFEBOAT" backup --db "$uri" --storage "file://$out" --name b0 --compression none --passphrase-file "$WORK/pass" 2>/dev/null)
	b0=$(elapsed "$t")
	b0_size=$(result_field artifact.size "$b0_res")
	b0_rss=$(result_field peakRssKiB "$b0_res")
	b0_cpu=$(result_field cpuSeconds "$b0_res")
	b0_sys=$(result_field cpuSystemSeconds "$b0_res")
	# The primitives on the same plaintext (pg_dump's output, as lifeboat
	# read it), at the levels lifeboat reported.
	p_b=$("$PRIMITIVES" "$out/floor.dump" "$b_levels" "$(s2k_count "$out/default/b/manifest.json")")
	p_b0=$("$PRIMITIVES" "$out/floor.dump" none "$(s2k_count "$out/default/b0/manifest.json")")
	rm -f "$out/floor.dump"
	lb_temp=$(find "$tmp" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	# Stray: any file in a backup's folder its manifest does not name.
	extra=$(python3 -c 'import json, os, sys
n = 0
for top, _, files in os.walk(sys.argv[1]):
    files = [f for f in files if f != "floor.dump"]
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

	p_sum=$(primitive sum "$p_b")
	p0_sum=$(primitive sum "$p_b0")
	{
		echo
		echo "[$db, ${MB} MB] $(bench_db_size "$db") bytes on disk, $b_plain bytes of pg_dump output"
		printf '  %-46s %8s s  %14s bytes\n' "(a)  pg_dump -Fc -Z0 > /dev/null" "$a" "-"
		printf '  %-46s %8s s  %14s bytes\n' "(af) pg_dump -Fc -Z0 > FILE (same folder), sync" "$af" "$b_plain"
		printf '  %-46s %8s s  %14s bytes\n' "(a2) pg_dump -Fc (gzip) > /dev/null" "$a2" "$a2_size"
		printf '  %-46s %8s s  %14s bytes  peak RSS %s KiB\n' "(b)  lifeboat backup ($b_comp + OpenPGP)" "$b" "$b_size" "$b_rss"
		printf '  %-46s %8s s  %14s bytes  peak RSS %s KiB\n' "(b0) lifeboat backup --compression none" "$b0" "$b0_size" "$b0_rss"
		printf '  %-46s %8s s  %14s bytes  temp disk %s bytes\n' "(c)  pg_dump file, gpg file, sha256sum, cp" "$c" "$c_size" "$c_temp"
		printf '  %-46s %8s s  peak RSS %s KiB\n' "(r)  lifeboat restore" "$r" "$r_rss"
		printf '  %-46s %8s s\n' "(r0) pg_restore -d from a local dump file" "$r0"
		printf '  ratios: b0/af %s (target <= 1.10)  b/af %s (<= 1.5)  b size/a2 size %s (<= 1.00)\n' \
			"$(ratio "$b0" "$af")" "$(ratio "$b" "$af")" "$(ratio "$b_size" "$a2_size")"
		printf '          b0/a %s  b/a %s  a2/b %s (>= 5 on hex)  c/b %s (>= 2)  r/r0 %s (<= 1.10)\n' \
			"$(ratio "$b0" "$a")" "$(ratio "$b" "$a")" "$(ratio "$a2" "$b")" "$(ratio "$c" "$b")" "$(ratio "$r" "$r0")"
		printf '  CPU per GB of plaintext (lifeboat: user + sys, its threads, not pg_dump):\n'
		printf '    (b)  lifeboat %s s/GB (kernel %s); primitives %s s/GB (sha256 %s, zstd %s, aes-256-cfb %s, sha1 %s, sha256 %s, s2k %s); ratio %s (target <= 1.25)\n' \
			"$(per_gb "$b_cpu" "$b_plain")" "$(per_gb "$b_sys" "$b_plain")" "$(per_gb "$p_sum" "$b_plain")" \
			"$(per_gb "$(primitive sha256-plain "$p_b")" "$b_plain")" "$(per_gb "$(primitive zstd "$p_b")" "$b_plain")" \
			"$(per_gb "$(primitive aes-256-cfb "$p_b")" "$b_plain")" "$(per_gb "$(primitive sha1 "$p_b")" "$b_plain")" \
			"$(per_gb "$(primitive sha256-stored "$p_b")" "$b_plain")" "$(per_gb "$(primitive s2k "$p_b")" "$b_plain")" \
			"$(ratio "$b_cpu" "$p_sum")"
		printf '         reading pg_dump'"'"'s pipe costs any program %s s/GB more; lifeboat against primitives + pipe: %s\n' \
			"$(per_gb "$(primitive pipe-read "$p_b")" "$b_plain")" \
			"$(awk -v c="$b_cpu" -v p="$p_sum" -v r="$(primitive pipe-read "$p_b")" 'BEGIN { printf "%.2f", c / (p + r) }')"
		printf '    (b0) lifeboat %s s/GB (kernel %s); primitives %s s/GB (sha256 %s, aes-256-cfb %s, sha1 %s, sha256 %s, s2k %s); ratio %s (target <= 1.25)\n' \
			"$(per_gb "$b0_cpu" "$b_plain")" "$(per_gb "$b0_sys" "$b_plain")" "$(per_gb "$p0_sum" "$b_plain")" \
			"$(per_gb "$(primitive sha256-plain "$p_b0")" "$b_plain")" \
			"$(per_gb "$(primitive aes-256-cfb "$p_b0")" "$b_plain")" "$(per_gb "$(primitive sha1 "$p_b0")" "$b_plain")" \
			"$(per_gb "$(primitive sha256-stored "$p_b0")" "$b_plain")" "$(per_gb "$(primitive s2k "$p_b0")" "$b_plain")" \
			"$(ratio "$b0_cpu" "$p0_sum")"
		printf '         reading pg_dump'"'"'s pipe costs any program %s s/GB more; lifeboat against primitives + pipe: %s\n' \
			"$(per_gb "$(primitive pipe-read "$p_b0")" "$b_plain")" \
			"$(awk -v c="$b0_cpu" -v p="$p0_sum" -v r="$(primitive pipe-read "$p_b0")" 'BEGIN { printf "%.2f", c / (p + r) }')"
		# What the cores allow: (af) keeps the server, pg_dump and the
		# writeback busy for af_busy CPU-seconds; b0 must add at least its
		# primitives and the read of the pipe. Packed perfectly on NCPU
		# cores, b0 takes no less than (af_busy + that) / NCPU; with the CPU
		# lifeboat did use, no less than (af_busy + b0_cpu) / NCPU.
		printf '    the cores: (af) kept %s CPU-s busy of %s (%s cores); packed perfectly, b0/af >= %s with b0'"'"'s primitives and the pipe on top, >= %s with its CPU\n' \
			"$af_busy" "$(awk -v a="$af" -v n="$NCPU" 'BEGIN { printf "%.2f", a * n }')" "$NCPU" \
			"$(awk -v b="$af_busy" -v p="$p0_sum" -v r="$(primitive pipe-read "$p_b0")" -v n="$NCPU" -v a="$af" 'BEGIN { x = (b + p + r) / (n * a); printf "%.2f", x < 1 ? 1 : x }')" \
			"$(awk -v b="$af_busy" -v c="$b0_cpu" -v n="$NCPU" -v a="$af" 'BEGIN { x = (b + c) / (n * a); printf "%.2f", x < 1 ? 1 : x }')"
		printf '    user space alone against the primitives: b %s, b0 %s\n' \
			"$(awk -v c="$b_cpu" -v s="$b_sys" -v p="$p_sum" 'BEGIN { printf "%.2f", (c - s) / p }')" \
			"$(awk -v c="$b0_cpu" -v s="$b0_sys" -v p="$p0_sum" 'BEGIN { printf "%.2f", (c - s) / p }')"
		printf '    zstd levels used (level:plaintext bytes): %s\n' "$b_levels"
		printf '  lifeboat temp disk: %s bytes in TMPDIR, %s stray files in storage\n' "$lb_temp" "$extra"
	} | tee -a "$summary"
	printf '%s %s %s %s %s\n' "$db" "$MB" "$b_rss" "$b0_rss" "$r_rss" >>"$rss_lines"
done
done
# Peak RSS must not grow with the database.
{
	echo
	echo "[rss] lifeboat peak RSS (KiB) at each size: backup, backup --compression none, restore"
	awk '{ k = $1; if (!(k in first)) { first[k] = $3; f0[k] = $4; fr[k] = $5; fmb[k] = $2 }
	       last[k] = $3; l0[k] = $4; lr[k] = $5; lmb[k] = $2; line[k] = line[k] sprintf("  %s MB: %s / %s / %s", $2, $3, $4, $5) }
	     END { for (k in first) printf "  %-8s%s;  ratios %s MB/%s MB: %.2f %.2f %.2f (target <= 1.10: flat)\n", k, line[k], lmb[k], fmb[k], last[k] / first[k], l0[k] / f0[k], lr[k] / fr[k] }' "$rss_lines" | sort
} | tee -a "$summary"
mkdir -p "$root/bench/results"
cp "$summary" "$root/bench/results/latest.txt"
echo
echo "bench: summary written to bench/results/latest.txt"
