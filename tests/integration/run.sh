#!/usr/bin/env bash
# Integration suite: the real lifeboat binary against a real PostgreSQL
# cluster (started here, stopped by PID), real gpg, real pg_restore. Each
# tests/integration/t_*.sh is sourced in order and records its checks.
#   LIFEBOAT        the binary, or a wrapper command ("valgrind ... lifeboat")
#   LIFEBOAT_TESTS  a glob of test files to run (default: t_*.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
read -r -a LB <<<"${LIFEBOAT:?set LIFEBOAT to the lifeboat binary}"
export LB

WORK=$(mktemp -d /tmp/lifeboat-it.XXXXXX)
chmod 755 "$WORK"
current=setup
cleanup() {
	local rc=$?
	# A suite that stops early must not look green.
	[[ $rc -ne 0 ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	mountpoint -q "$WORK/full" 2>/dev/null && umount "$WORK/full"
	pg_stop || true
	rm -rf "$WORK"
	return "$rc"
}
trap cleanup EXIT

pg_start >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE fixture' >/dev/null
pg_psql fixture -q -f "$root/tests/fixtures/fixture.sql" >/dev/null
pg_psql fixture -q -c "CREATE TABLE schema_migrations(version text PRIMARY KEY);
	INSERT INTO schema_migrations VALUES ('20261101000000'), ('20261121000000')" >/dev/null
pg_table_checksums fixture >"$WORK/fixture.sums"
PASS="$WORK/pass"
echo 'correct horse battery staple' >"$PASS"
echo 'not the passphrase' >"$WORK/wrongpass"
STORE="$WORK/store"
mkdir -p "$STORE"
export WORK PASS STORE

# fresh_db NAME [TEMPLATE]: (re)creates database NAME, a copy of TEMPLATE.
fresh_db() {
	pg_psql postgres -q -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
	if [[ -n ${2:-} ]]; then
		pg_psql postgres -q -c "CREATE DATABASE \"$1\" TEMPLATE \"$2\"" >/dev/null
	else
		pg_psql postgres -q -c "CREATE DATABASE \"$1\"" >/dev/null
	fi
}

# dump_obj DIR / files_obj DIR: the path of the dump object / files archive
# of the backup in folder DIR, as its manifest names it (each attempt writes
# objects of its own name, db-<attempt>.dump.zst.pgp).
dump_obj() {
	printf '%s/%s\n' "$1" "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['objects'][0]['key'])" "$1/manifest.json")"
}
files_obj() {
	printf '%s/%s\n' "$1" "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['files']['object'])" "$1/manifest.json")"
}

# same_as NAME DB SUMS: records whether DB's checksums equal the file SUMS.
same_as() {
	pg_table_checksums "$2" >"$WORK/now.sums"
	t_same "$1" "$3" "$WORK/now.sums"
}

for f in "$here"/${LIFEBOAT_TESTS:-t_*.sh}; do
	current=$(basename "$f")
	echo "-- $current"
	# shellcheck source=/dev/null
	source "$f"
done
