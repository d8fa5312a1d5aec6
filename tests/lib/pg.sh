# shellcheck shell=bash
# tests/lib/pg.sh: throwaway PostgreSQL 15 clusters for tests and benches (start, stop, psql, checksums).
#
# Source it, then:
#   trap pg_stop EXIT        # always: pg_stop is a no-op when nothing runs
#   pg_start                 # or: pg_start DIR; PGTEST_WANT_PORT=N tries N first
#   pg_psql postgres -c 'CREATE DATABASE x'
#   pg_uri x                 # postgresql://lifeboat@127.0.0.1:PORT/x (PGPASSWORD)
#   pg_uri_pw x              # postgresql://lifeboat:lifeboat-pw@127.0.0.1:PORT/x
#   pg_table_checksums x     # stable text fingerprint of a database's content
#   pg_tool pg_dump -Fc x    # any client program in PGTEST_BIN, as superuser
#   pg_stop
#
# pg_start exports PGTEST_DIR, PGTEST_PORT, PGTEST_PID (postmaster),
# PGTEST_PGID (its `timeout` wrapper's process group); always exported:
# PGTEST_HOST=127.0.0.1, PGTEST_BIN, PGTEST_SUPERUSER=postgres,
# PGTEST_ROLE=lifeboat, PGTEST_PASSWORD=lifeboat-pw, and PGPASSWORD (the same
# password, so a pg_uri needs none: lifeboat refuses a --db that carries one,
# since it would show in the process list).
#
# One cluster per shell at a time (its state lives in the PGTEST_* variables).
# Authentication: the unix socket in PGTEST_DIR trusts everyone (superuser
# `postgres`); TCP on 127.0.0.1 wants scram-sha-256, e.g. role `lifeboat`
# (password `lifeboat-pw`, LOGIN SUPERUSER). When run as root the cluster runs
# as the `postgres` OS user, because initdb and postgres refuse root.
#
# The functions return non-zero on failure, so with `set -e` a failing call
# ends the caller, whose EXIT trap then runs pg_stop.
set -euo pipefail

PGTEST_BIN=${PGTEST_BIN:-/usr/lib/postgresql/15/bin}
PGTEST_HOST=127.0.0.1
PGTEST_SUPERUSER=postgres
PGTEST_ROLE=lifeboat
PGTEST_PASSWORD=lifeboat-pw
PGPASSWORD=$PGTEST_PASSWORD
export PGTEST_BIN PGTEST_HOST PGTEST_SUPERUSER PGTEST_ROLE PGTEST_PASSWORD PGPASSWORD

# Marker file: pg_start only ever wipes a directory that carries it.
_PGTEST_MARKER=.lifeboat-pgtest

_pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }

# Run a command as the cluster's OS user: `postgres` when we are root
# (setpriv execs in place, so a PID taken of it is the program's own PID).
_pg_as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

# Print a TCP port on 127.0.0.1 that nobody listens on right now. Racy by
# nature (someone may take it before postgres does); pg_start retries.
_pg_free_port() {
	local py
	for py in /usr/bin/python3 python3; do
		if command -v "$py" >/dev/null 2>&1; then
			"$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return 0
		fi
	done
	# Fallback: a random port in 20000..59999 absent from ss's listening list.
	local port used
	used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' || true)
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		grep -qx "$port" <<<"$used" || { echo "$port"; return 0; }
	done
	return 1
}

# Start postgres on PGTEST_PORT in the background under `timeout 3600` (a
# forgotten cluster gets SIGTERM within the hour, SIGKILL 10 s later).
# Returns 0 once it accepts connections, 2 if the port was taken (the caller
# retries with another), 1 on other failures.
_pg_launch() {
	local dir=$PGTEST_DIR log=$PGTEST_DIR/postgres.log
	local -a owner=()
	[[ $(id -u) -ne 0 ]] || owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	: >"$log"
	# PGTEST_PGID is timeout's PID, which leads its own process group holding
	# the postmaster (setpriv execs in place); backends setsid() on their own.
	(cd "$dir" && exec timeout -k 10 3600 "${owner[@]}" "$PGTEST_BIN/postgres" -D "$dir/data" \
		-c port="$PGTEST_PORT" -c listen_addresses="$PGTEST_HOST" \
		-c unix_socket_directories="$dir" -c fsync=off -c synchronous_commit=off \
		-c full_page_writes=off -c logging_collector=off) >>"$log" 2>&1 &
	PGTEST_PGID=$!
	export PGTEST_PGID
	local i
	for ((i = 0; i < 600; i++)); do
		if "$PGTEST_BIN/pg_isready" -q -h "$PGTEST_HOST" -p "$PGTEST_PORT" -t 1 &&
			[[ -S $dir/.s.PGSQL.$PGTEST_PORT ]]; then
			# The postmaster's own PID is the first line of postmaster.pid.
			PGTEST_PID=$(head -n1 "$dir/data/postmaster.pid")
			export PGTEST_PID
			return 0
		fi
		if ! kill -0 "$PGTEST_PGID" 2>/dev/null; then
			wait "$PGTEST_PGID" 2>/dev/null || true
			PGTEST_PGID=
			if grep -q 'could not bind\|Address already in use' "$log"; then
				return 2
			fi
			_pg_log "postgres exited during start-up; log follows"
			cat "$log" >&2
			return 1
		fi
		sleep 0.1
	done
	_pg_log "postgres did not become ready within 60 s; log follows"
	cat "$log" >&2
	return 1
}

# pg_start [DIR]: initdb and start a throwaway cluster. DIR (default: a fresh
# mktemp directory under /tmp) must not exist, be empty, or be a leftover of
# an earlier pg_start; it holds data/, the unix socket and postgres.log.
pg_start() {
	local dir=${1:-}
	if [[ -n ${PGTEST_PGID:-} ]] && kill -0 "$PGTEST_PGID" 2>/dev/null; then
		_pg_log "a cluster is already running in ${PGTEST_DIR:-?}; pg_stop it first"
		return 1
	fi
	if [[ -z $dir ]]; then
		dir=$(mktemp -d /tmp/lifeboat-pg.XXXXXX) || return 1
	elif [[ -e $dir/$_PGTEST_MARKER ]]; then
		_pg_reap_leftover "$dir"
		rm -rf -- "$dir" || return 1
	elif [[ -d $dir && -n $(ls -A -- "$dir") ]]; then
		_pg_log "$dir exists, is not empty and was not made by pg_start; refusing"
		return 1
	fi
	# Steps end in `|| return 1` (or are checked) so that a failure stops
	# pg_start even where the caller's set -e is off (`if pg_start; ...`).
	mkdir -p -- "$dir" && dir=$(cd "$dir" && pwd -P) && touch "$dir/$_PGTEST_MARKER" || return 1
	PGTEST_DIR=$dir
	export PGTEST_DIR
	chmod 755 "$dir" || { pg_stop; return 1; }
	if [[ $(id -u) -eq 0 ]]; then
		if ! chown postgres: "$dir" || ! setpriv --reuid=postgres --regid=postgres --init-groups -- test -w "$dir"; then
			_pg_log "user postgres cannot reach $dir (a parent directory is not traversable); use a directory under /tmp"
			pg_stop
			return 1
		fi
	fi
	local pwfile=$dir/initdb.pw
	# (the superuser gets the same password, for TCP logins as postgres)
	if ! { printf '%s\n' "$PGTEST_PASSWORD" >"$pwfile" && chmod 644 "$pwfile"; }; then
		pg_stop
		return 1
	fi
	# Superuser `postgres` (whatever the OS user), UTF8 with C collation so
	# sort orders do not depend on the machine's locales.
	if ! (cd "$dir" && _pg_as_owner "$PGTEST_BIN/initdb" -D "$dir/data" -U "$PGTEST_SUPERUSER" \
		-E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
		--pwfile="$pwfile" --no-sync) >"$dir/initdb.log" 2>&1; then
		_pg_log "initdb failed; log follows"
		cat "$dir/initdb.log" >&2
		pg_stop
		return 1
	fi
	rm -f "$pwfile"

	local attempt rc
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		# PGTEST_WANT_PORT: try that port first (make demo wants 5432).
		if [[ $attempt -eq 1 && -n ${PGTEST_WANT_PORT:-} ]]; then
			PGTEST_PORT=$PGTEST_WANT_PORT
		else
			PGTEST_PORT=$(_pg_free_port) || { _pg_log "no free port"; pg_stop; return 1; }
		fi
		export PGTEST_PORT
		rc=0
		_pg_launch || rc=$?
		[[ $rc -eq 2 ]] || break
		_pg_log "port $PGTEST_PORT was taken; retrying (attempt $attempt)"
	done
	if [[ $rc -ne 0 ]]; then
		pg_stop
		return 1
	fi

	if ! pg_psql postgres -q -c "CREATE ROLE $PGTEST_ROLE LOGIN SUPERUSER PASSWORD '$PGTEST_PASSWORD'" >/dev/null; then
		_pg_log "could not create role $PGTEST_ROLE"
		pg_stop
		return 1
	fi
}

# If DIR holds a cluster from an earlier run that is still up, kill it (only
# if the PID really is a postgres serving DIR/data).
_pg_reap_leftover() {
	local dir=$1 pid
	[[ -f $dir/data/postmaster.pid ]] || return 0
	pid=$(head -n1 "$dir/data/postmaster.pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-D $dir/data"; then
		_pg_log "stopping leftover postgres $pid in $dir"
		local kids
		kids=$(pgrep -P "$pid" || true)
		# shellcheck disable=SC2086 # one PID per word
		kill -KILL "$pid" $kids 2>/dev/null || true
		sleep 0.5
	fi
}

# pg_stop: fast shutdown (SIGINT to the postmaster); after 30 s SIGKILL to
# it, its children and the `timeout` group; then remove PGTEST_DIR. Safe to call repeatedly
# and when nothing was started.
pg_stop() {
	local pid=${PGTEST_PID:-} pgid=${PGTEST_PGID:-} i
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		# Backends setsid() themselves, so the group kill below misses them:
		# kill the postmaster's children by PID first.
		_pg_log "postgres $pid ignored SIGINT for 30 s; killing it"
		local kids
		kids=$(pgrep -P "$pid" || true)
		# shellcheck disable=SC2086 # one PID per word
		kill -KILL "$pid" $kids 2>/dev/null || true
	fi
	# timeout exits by itself once postgres is gone; give it a moment, then
	# make sure (this also covers a postgres that never wrote its PID).
	for ((i = 0; i < 20; i++)); do
		[[ -n $pgid ]] || break
		kill -0 -- "-$pgid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -n $pgid ]] && kill -0 -- "-$pgid" 2>/dev/null; then
		kill -KILL -- "-$pgid" 2>/dev/null || true
	fi
	# Reap the background job if it is ours (harmless otherwise).
	[[ -z $pgid ]] || wait "$pgid" 2>/dev/null || true
	if [[ -n ${PGTEST_DIR:-} && -e $PGTEST_DIR/$_PGTEST_MARKER ]]; then
		rm -rf -- "$PGTEST_DIR"
	fi
	unset PGTEST_PID PGTEST_PGID PGTEST_PORT PGTEST_DIR
	return 0
}

# pg_uri DBNAME: a TCP URI without the password (PGPASSWORD, exported above,
# authenticates it): what `lifeboat --db` takes.
pg_uri() {
	printf 'postgresql://%s@%s:%s/%s\n' "$PGTEST_ROLE" "$PGTEST_HOST" "$PGTEST_PORT" "$1"
}

# pg_uri_pw DBNAME: the same URI with the password in it, for where no
# PGPASSWORD reaches (a Secret, LIFEBOAT_DB under `env -u PGPASSWORD`).
pg_uri_pw() {
	printf 'postgresql://%s:%s@%s:%s/%s\n' "$PGTEST_ROLE" "$PGTEST_PASSWORD" \
		"$PGTEST_HOST" "$PGTEST_PORT" "$1"
}

# Environment for client tools: stable output settings, no NOTICEs, no stray
# PG* from the caller. Use as `_pg_env pg_dump ...` or via pg_tool.
_pg_env() {
	env -u PGSERVICE -u PGSERVICEFILE -u PGPASSWORD -u PGPASSFILE \
		-u PGDATABASE -u PGSSLMODE \
		PGHOST="$PGTEST_DIR" PGPORT="$PGTEST_PORT" PGUSER="$PGTEST_SUPERUSER" \
		PGOPTIONS='-c client_min_messages=warning' \
		PGCLIENTENCODING=UTF8 PGTZ=UTC PGDATESTYLE='ISO, YMD' "$@"
}

# pg_tool PROGRAM ARGS...: run a PostgreSQL client program from PGTEST_BIN
# (pg_dump, pg_restore, pgbench, createdb, ...) against the cluster, over the
# unix socket as the superuser, e.g. `pg_tool pg_dump -Fc fixture`.
pg_tool() {
	local prog=$1
	shift
	_pg_env timeout 3600 "$PGTEST_BIN/$prog" "$@"
}

# pg_psql DB ARGS...: psql as the superuser over the socket, stopping at the
# first error. Reads SQL from ARGS (-c/-f) or stdin.
pg_psql() {
	local db=$1
	shift
	_pg_env timeout 3600 "$PGTEST_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# pg_table_checksums DB: one line per object, sorted bytewise, so two
# databases with the same content print the same text (diff them):
#   table S.T ROWS MD5         rows of S.T (ONLY, i.e. no inheritance children)
#   tabledef S.T MD5           columns: names, types, defaults, NOT NULL, generated
#   partitioned S.T BOUND...   partitioned tables and each partition's bound
#   sequence S.Q LAST_VALUE    (`unset` before the first nextval)
#   largeobjects COUNT MD5     over "oid:md5(contents)" in oid order
#   view S.V MD5 / matview     of pg_get_viewdef
#   function S.F(ARGS) MD5     of pg_get_functiondef (aggregates: signature)
#   constraint / index / trigger / type / comment lines likewise
# Row MD5s hash each row's text form, sorted, so storage order is irrelevant
# and the aggregate stays 32 bytes a row (fine for bench-sized tables).
pg_table_checksums() {
	local db=$1
	pg_psql "$db" -A -t -F ' ' <<'SQL' | LC_ALL=C sort
-- Objects that belong to the user: not system schemas, not extension members.
CREATE TEMP VIEW _ck_rel AS
SELECT c.oid, c.relkind, c.relispopulated, c.relispartition, n.nspname, c.relname,
       format('%I.%I', n.nspname, c.relname) AS qname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e');

-- Per-table row checksums: generate one query per table, run each (\gexec).
SELECT format($q$SELECT %L, count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '-')
                 FROM (SELECT md5(t::text) COLLATE "C" AS h FROM ONLY %s t) s$q$,
              CASE relkind WHEN 'm' THEN 'matview-rows ' ELSE 'table ' END || qname, qname)
FROM _ck_rel WHERE relkind IN ('r', 'm') AND relispopulated
ORDER BY qname
\gexec

SELECT 'matview-rows', qname, 'unpopulated' FROM _ck_rel WHERE relkind = 'm' AND NOT relispopulated;

SELECT 'tabledef', r.qname, md5(string_agg(
         format('%I %s %s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
                a.attnotnull, a.attgenerated, a.attidentity,
                coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')), E'\n' ORDER BY a.attnum))
FROM _ck_rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'm', 'v', 'f', 'c')
GROUP BY r.qname;

SELECT 'partitioned', qname, pg_get_partkeydef(oid) FROM _ck_rel WHERE relkind = 'p';
SELECT 'partition', r.qname, 'of', format('%I.%I', pn.nspname, p.relname), coalesce(pg_get_expr(c.relpartbound, c.oid), '-')
FROM _ck_rel r JOIN pg_class c ON c.oid = r.oid
JOIN pg_inherits i ON i.inhrelid = r.oid JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE r.relispartition;

SELECT 'sequence', format('%I.%I', schemaname, sequencename), coalesce(last_value::text, 'unset'),
       increment_by, min_value, max_value, start_value, cycle
FROM pg_sequences
WHERE schemaname NOT IN ('pg_catalog', 'information_schema');

SELECT 'largeobjects', count(*),
       coalesce(md5(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid)), '-')
FROM pg_largeobject_metadata;

SELECT CASE relkind WHEN 'v' THEN 'view' ELSE 'matview' END, qname, md5(pg_get_viewdef(oid, true))
FROM _ck_rel WHERE relkind IN ('v', 'm');

SELECT 'index', r.qname, format('%I', i.relname), md5(pg_get_indexdef(i.oid))
FROM _ck_rel r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid;

SELECT 'constraint', coalesce(r.qname, format('%I.%I', n.nspname, t.typname)), format('%I', co.conname),
       md5(pg_get_constraintdef(co.oid))
FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
LEFT JOIN _ck_rel r ON r.oid = co.conrelid
LEFT JOIN pg_type t ON t.oid = co.contypid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND (r.oid IS NOT NULL OR t.oid IS NOT NULL);

SELECT 'trigger', r.qname, format('%I', tg.tgname), md5(pg_get_triggerdef(tg.oid))
FROM _ck_rel r JOIN pg_trigger tg ON tg.tgrelid = r.oid WHERE NOT tg.tgisinternal;

-- Functions and procedures; aggregates have no pg_get_functiondef.
SELECT 'function', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE md5(pg_get_functiondef(p.oid)) END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e');

-- Types: enums (labels in order), domains (base type), composites, ranges.
SELECT 'type', format('%I.%I', n.nspname, t.typname), t.typtype,
       CASE t.typtype
         WHEN 'e' THEN (SELECT md5(string_agg(enumlabel, E'\n' ORDER BY enumsortorder)) FROM pg_enum WHERE enumtypid = t.oid)
         WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) || ' notnull=' || t.typnotnull
         ELSE '-' END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND t.typtype IN ('e', 'd', 'r', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e');

-- Comments on anything in the database (object identity is name-based).
SELECT 'comment', (pg_identify_object(d.classoid, d.objoid, d.objsubid)).identity, md5(d.description)
FROM pg_description d
WHERE d.objoid >= 16384 -- FirstNormalObjectId: skip initdb's own comments
  AND d.classoid <> 'pg_namespace'::regclass; -- schema comments: the 'schema' lines

SELECT 'schema', format('%I', nspname), md5(coalesce(obj_description(oid, 'pg_namespace'), ''))
FROM pg_namespace
WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname !~ '^pg_(temp_|toast_temp_)';
SQL
}
