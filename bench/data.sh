# shellcheck shell=bash
# bench/data.sh: makes benchmark databases (pgbench, incompressible hex) in the tests/lib/pg.sh cluster.
#
# Source it after pg_start (it sources tests/lib/pg.sh itself if needed):
#   bench_make_pgbench DB SCALE   pgbench -i -s SCALE: ~15 MB a scale unit on
#                                 disk, and highly compressible (blank filler)
#   bench_make_hex DB ROWS        table hex of md5 hex text: ~134 bytes a row
#                                 on disk (8M rows ~ 1.07 GB = 1.0 GiB), ~98
#                                 bytes a row of pg_dump text, which zstd -3
#                                 only halves (pgbench data shrinks ~100x)
#   bench_db_size DB              prints pg_database_size(DB) in bytes
# Each make function creates DB if it does not exist and replaces its own
# tables, so it can be re-run. Steps end in `|| return`, so a failure stops
# the function even where the caller's set -e is off (`if`, `||`). Tables are logged (no --unlogged-tables):
# a backup of unlogged data would not be representative.
set -euo pipefail

if ! declare -F pg_psql >/dev/null; then
	# shellcheck source=tests/lib/pg.sh
	source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/lib/pg.sh"
fi

_bench_need_int() { # NAME VALUE
	[[ $2 =~ ^[1-9][0-9]*$ ]] || {
		printf 'bench/data.sh: %s must be a positive integer, got %q\n' "$1" "$2" >&2
		return 1
	}
}

# Create database DB unless it exists.
_bench_ensure_db() {
	local db=$1
	local exists
	# psql interpolates :'db' / :"db" (safe quoting) only in SQL read from stdin.
	exists=$(pg_psql postgres -At -v db="$db" <<<"SELECT count(*) FROM pg_database WHERE datname = :'db'") || return
	if [[ $exists == 0 ]]; then
		pg_psql postgres -v db="$db" <<<'CREATE DATABASE :"db"'
	fi
}

# bench_make_pgbench DB SCALE: the standard pgbench tables at SCALE
# (SCALE x 100,000 pgbench_accounts rows), logged, vacuumed.
bench_make_pgbench() {
	local db=$1 scale=$2
	_bench_need_int SCALE "$scale" || return
	_bench_ensure_db "$db" || return
	# -q: progress every 5 s instead of every 100k rows; pgbench logs to stderr.
	pg_tool pgbench -i -q -s "$scale" "$db" >&2
}

# bench_make_hex DB ROWS: table hex(id bigint, a text, b text, c text) with
# a = md5(id), b = md5(7 id), c = first 24 chars of md5(13 id). Loaded in
# batches of a million rows, then vacuumed so the first dump does not pay
# for setting hint bits.
bench_make_hex() {
	local db=$1 rows=$2 from to batch=1000000
	_bench_need_int ROWS "$rows" || return
	_bench_ensure_db "$db" || return
	pg_psql "$db" -c 'DROP TABLE IF EXISTS hex' -c 'CREATE TABLE hex (id bigint, a text, b text, c text)' || return
	for ((from = 1; from <= rows; from += batch)); do
		to=$((from + batch - 1 < rows ? from + batch - 1 : rows))
		pg_psql "$db" -c "INSERT INTO hex SELECT i, md5(i::text), md5((i * 7)::text), left(md5((i * 13)::text), 24)
		                   FROM generate_series($from::bigint, $to) AS s(i)" || return
	done
	pg_psql "$db" -c 'VACUUM (ANALYZE) hex'
}

# bench_db_size DB: size of DB on disk in bytes.
bench_db_size() {
	pg_psql postgres -At -v db="$1" <<<"SELECT pg_database_size(:'db')"
}
