#!/usr/bin/env bash
# `make bench`, S3 part: lifeboat backup into s3rver against the seeds'
# sequential way (pg_dump to a file, gpg to a file, sha256sum, aws s3 cp),
# same databases (pgbench and hex of BENCH_MB megabytes, default 1000), same
# s3rver. Prints the wall-time ratio and both peak RSS figures (lifeboat's
# from its result; the sequential way's as the largest of its steps, by
# /usr/bin/time -f %M); appends the summary to bench/results/latest.txt.
set -euo pipefail
LIFEBOAT=${1:?usage: bench/s3.sh PATH/TO/lifeboat}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=data.sh
source "$root/bench/data.sh"
MB=${BENCH_MB:-1000}
MB=${MB##* } # BENCH_MB="400 1000" (bench/run.sh's sizes): the largest, the last
S3RVER=$root/tests/storage/node_modules/.bin/s3rver
AWS=/usr/bin/aws
WORK=$(mktemp -d /tmp/lifeboat-bench-s3.XXXXXX)
chmod 755 "$WORK"
S3PID=
trap '[[ -n $S3PID ]] && kill "$S3PID" 2>/dev/null; [[ -n $S3PID ]] && { wait "$S3PID" 2>/dev/null || true; }; pg_stop || true; rm -rf "$WORK"' EXIT
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo 'bench passphrase' >"$WORK/pass"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/s3data"
NODE_OPTIONS=--openssl-legacy-provider timeout 7200 "$S3RVER" -d "$WORK/s3data" -a 127.0.0.1 -p "$port" \
	--silent --configure-bucket bench >"$WORK/s3rver.log" 2>&1 &
S3PID=$!
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$port/" && break
	sleep 0.1
done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=''
unset AWS_SESSION_TOKEN AWS_PROFILE
STORAGE="s3://bench/lifeboat?endpoint=http://127.0.0.1:$port"

pg_start >/dev/null
echo "bench s3: building databases of ~${MB} MB each (pgbench scale $((MB / 15)), hex $((MB * 8000)) rows)"
bench_make_pgbench pgbench $((MB / 15 > 0 ? MB / 15 : 1)) >/dev/null 2>&1
bench_make_hex hex $((MB * 8000)) >/dev/null 2>&1

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
result_field() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[2].strip().splitlines()[-1])
for k in sys.argv[1].split("."):
    d = d[k]
print(d)' "$1" "$2"
}
# timed FILE CMD...: runs CMD under /usr/bin/time, appending its peak RSS (KiB) to FILE.
timed() {
	local f=$1
	shift
	/usr/bin/time -f %M -a -o "$f" "$@"
}
max_of() { sort -n "$1" | tail -1; }

summary="$WORK/summary.txt"
printf '\nlifeboat %s S3 bench (s3rver %s on loopback), %s, BENCH_MB=%s\n' \
	"$("$LIFEBOAT" --version | cut -d' ' -f2)" "$("$S3RVER" --version)" "$(date -u +%Y-%m-%d)" "$MB" >"$summary"

for db in pgbench hex; do
	echo
	echo "== $db: $(bench_db_size "$db") bytes on disk"
	uri=$(pg_uri "$db")

	t=$(now)
	res=$("$LIFEBOAT" backup --db "$uri" --storage "$STORAGE" --name "b-$db" --passphrase-file "$WORK/pass" 2>/dev/null)
	b=$(elapsed "$t")
	b_size=$(result_field artifact.size "$res")
	b_rss=$(result_field peakRssKiB "$res")
	b_sha=$(result_field artifact.sha256 "$res")
	b_comp=$(result_field artifact.compression "$res")

	# The sequential way, each step timed for its peak RSS.
	: >"$WORK/rss"
	t=$(now)
	timed "$WORK/rss" bash -c "source '$root/tests/lib/pg.sh'; PGTEST_DIR='$PGTEST_DIR' PGTEST_PORT='$PGTEST_PORT' pg_tool pg_dump -Fc '$db' >'$WORK/seq.dump'"
	timed "$WORK/rss" gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$WORK/pass" --symmetric \
		--cipher-algo AES256 -o "$WORK/seq.dump.gpg" "$WORK/seq.dump"
	timed "$WORK/rss" sha256sum "$WORK/seq.dump.gpg" >/dev/null
	timed "$WORK/rss" "$AWS" --endpoint-url "http://127.0.0.1:$port" s3 cp --only-show-errors \
		"$WORK/seq.dump.gpg" "s3://bench/seq/$db/db.dump.gpg"
	c=$(elapsed "$t")
	c_size=$(stat -c %s "$WORK/seq.dump.gpg")
	c_rss=$(max_of "$WORK/rss")
	c_temp=$(($(stat -c %s "$WORK/seq.dump") + c_size))
	rm -f "$WORK/seq.dump" "$WORK/seq.dump.gpg"

	# What lifeboat stored is what it hashed (read back by the aws CLI: the
	# objects the result names, in order).
	got=$(for key in $(python3 -c 'import json, sys; print(" ".join(o["key"] for o in json.loads(sys.argv[1].strip().splitlines()[-1])["artifact"]["objects"]))' "$res"); do
		"$AWS" --endpoint-url "http://127.0.0.1:$port" s3 cp --only-show-errors \
			"s3://bench/lifeboat/default/b-$db/$key" -
	done | sha256sum | cut -d' ' -f1)
	[[ $got == "$b_sha" ]] && check=ok || check="MISMATCH ($got)"

	{
		echo
		echo "[$db] $(bench_db_size "$db") bytes on disk"
		printf '  %-52s %8s s  %12s bytes  peak RSS %s KiB\n' "(s3b) lifeboat backup -> s3rver ($b_comp + OpenPGP)" "$b" "$b_size" "$b_rss"
		printf '  %-52s %8s s  %12s bytes  peak RSS %s KiB (largest step)  temp disk %s bytes\n' \
			"(s3c) pg_dump file, gpg file, sha256sum, aws s3 cp" "$c" "$c_size" "$c_rss" "$c_temp"
		printf '  ratio s3c/s3b %s (target >= 1.5)  lifeboat RSS %s KiB (target <= 65536)  stored sha256 read back by aws: %s\n' \
			"$(ratio "$c" "$b")" "$b_rss" "$check"
	} | tee -a "$summary"
done
# Memory at two database sizes, and with the dump cut into several objects:
# the part size never grows, so peak RSS must be flat (issue 16).
echo
echo "== RSS: hex at $((MB / 4)) MB and $MB MB, --compression none"
bench_make_hex hex_quarter $((MB * 2000)) >/dev/null 2>&1
rss_of() { # NAME DB [ENV...]: the backup's peak RSS in KiB, and its object count
	local name=$1 db=$2
	shift 2
	local r
	r=$(env "$@" "$LIFEBOAT" backup --db "$(pg_uri "$db")" --storage "$STORAGE" --name "$name" \
		--compression none --passphrase-file "$WORK/pass" 2>/dev/null)
	echo "$(result_field peakRssKiB "$r") $(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1].strip().splitlines()[-1])["artifact"]["objects"]))' "$r")"
}
read -r q_rss q_objs < <(rss_of rss-quarter hex_quarter)
read -r f_rss f_objs < <(rss_of rss-full hex)
read -r s_rss s_objs < <(rss_of rss-split hex LIFEBOAT_TEST_MAX_PARTS=8)
{
	echo
	echo "[rss] lifeboat backup -> s3rver, hex, --compression none (parts of 8 MiB, 2 in flight)"
	printf '  %-52s peak RSS %s KiB  (%s object)\n' "$(bench_db_size hex_quarter) bytes on disk" "$q_rss" "$q_objs"
	printf '  %-52s peak RSS %s KiB  (%s object)\n' "$(bench_db_size hex) bytes on disk" "$f_rss" "$f_objs"
	printf '  %-52s peak RSS %s KiB  (%s objects of 64 MiB)\n' "the same, LIFEBOAT_TEST_MAX_PARTS=8" "$s_rss" "$s_objs"
	printf '  ratios: RSS %s MB/%s MB %s, split/one object %s (target <= 1.10: flat)\n' "$MB" "$((MB / 4))" \
		"$(ratio "$f_rss" "$q_rss")" "$(ratio "$s_rss" "$f_rss")"
} | tee -a "$summary"

mkdir -p "$root/bench/results"
cat "$summary" >>"$root/bench/results/latest.txt"
echo
echo "bench s3: summary appended to bench/results/latest.txt"
