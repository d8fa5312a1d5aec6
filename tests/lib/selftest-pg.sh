#!/usr/bin/env bash
# tests/lib/selftest-pg.sh: checks tests/lib/pg.sh and tests/fixtures/fixture.sql against each other and pg_dump/pg_restore.
#
# Starts a throwaway cluster, loads the fixture, shows that pg_table_checksums
# is stable, that a pg_dump -Fc | pg_restore round trip reproduces it exactly,
# and that it does notice lost rows, functions, views and large objects.
# Stops the cluster on every exit path. Usage: tests/lib/selftest-pg.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib/pg.sh
source "$here/pg.sh"

work=$(mktemp -d /tmp/lifeboat-selftest.XXXXXX)
cleanup() {
	pg_stop
	rm -rf -- "$work"
}
trap cleanup EXIT

say() { printf 'selftest-pg: %s\n' "$*"; }
fail() {
	printf 'selftest-pg: FAIL: %s\n' "$*" >&2
	exit 1
}

# shellcheck disable=SC2119 # no DIR: pg_start makes one under /tmp
pg_start
say "cluster up: dir=$PGTEST_DIR port=$PGTEST_PORT pid=$PGTEST_PID"

# Password auth over TCP works, and a wrong password is refused.
[[ $("$PGTEST_BIN/psql" -X -At "$(pg_uri postgres)" -c 'SELECT current_user') == lifeboat ]] ||
	fail "cannot log in as lifeboat over TCP"
if "$PGTEST_BIN/psql" -X -At "postgresql://lifeboat:wrong@$PGTEST_HOST:$PGTEST_PORT/postgres" \
	-c 'SELECT 1' >/dev/null 2>&1; then
	fail "a wrong password was accepted"
fi

pg_psql postgres -c 'CREATE DATABASE fixture'
t0=$(date +%s.%N)
pg_psql fixture -f "$root/tests/fixtures/fixture.sql"
t1=$(date +%s.%N)
rows=$(pg_psql fixture -At -c 'SELECT sum(n_live_tup) FROM pg_stat_user_tables')
say "fixture loaded in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s, $rows rows"
((rows > 100000)) || fail "fixture has only $rows rows"

pg_table_checksums fixture >"$work/a1"
pg_table_checksums fixture >"$work/a2"
diff -u "$work/a1" "$work/a2" || fail "checksums of the same database differ between runs"
say "checksums stable ($(wc -l <"$work/a1") lines)"

# Sanity: the lines that matter are there.
for want in '^table public\.kitchen_sink 60003 ' '^table "smörgåsbord"\."表" 3000 ' \
	'^largeobjects 4 ' '^sequence public\.ticket_seq 57084 ' '^view public\."Mixed View" ' \
	'^function "smörgåsbord"\."hälsa"(name text) ' '^matview-rows inventory\.daily_orders ' \
	'^table public\.events_2024_h0 ' '^trigger inventory\.orders "Orders Upper" '; do
	grep -q -- "$want" "$work/a1" || fail "checksums lack a line matching $want"
done

# Round trip: dump over TCP with the password role, restore over the socket.
pg_psql postgres -c 'CREATE DATABASE restored TEMPLATE template0'
"$PGTEST_BIN/pg_dump" -Fc -d "$(pg_uri fixture)" |
	tee "$work/fixture.dump" |
	pg_tool pg_restore --exit-on-error -d restored
say "pg_dump -Fc: $(stat -c %s "$work/fixture.dump") bytes"
pg_table_checksums restored >"$work/b"
diff -u "$work/a1" "$work/b" || fail "restored database differs from the original"
say "pg_dump -Fc | pg_restore: checksums identical"

# The checksums must notice what a broken restore would lose.
must_differ() {
	local what=$1 sql=$2
	pg_psql restored -c "$sql" >/dev/null
	pg_table_checksums restored >"$work/c"
	if cmp -s "$work/a1" "$work/c"; then
		fail "checksums did not notice: $what"
	fi
	say "noticed: $what ($(diff "$work/a1" "$work/c" | grep -c '^[<>]') changed lines)"
	cp "$work/c" "$work/a1"
}
must_differ "one byte of one bytea" \
	"UPDATE kitchen_sink SET raw = set_byte(raw, 0, get_byte(raw, 0) # 1) WHERE n = 4242"
must_differ "a row of a partition" "DELETE FROM events WHERE id = 12345"
must_differ "a large object" "SELECT lo_unlink(424202)"
must_differ "a function body" \
	"CREATE OR REPLACE FUNCTION fib(n integer) RETURNS numeric LANGUAGE sql IMMUTABLE STRICT AS 'SELECT 0::numeric'"
must_differ "a view" 'DROP VIEW "smörgåsbord".vy'
must_differ "a sequence position" "SELECT setval('never_used_seq', 1)"
must_differ "a comment" "COMMENT ON TABLE kitchen_sink IS NULL"

pid=$PGTEST_PID dir=$PGTEST_DIR
pg_stop
if kill -0 "$pid" 2>/dev/null || [[ -e $dir ]]; then
	fail "pg_stop left postgres $pid or $dir behind"
fi
say "PASS"
