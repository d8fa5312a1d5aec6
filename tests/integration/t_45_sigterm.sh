# SIGTERM at each stage, with the grace a Job gets: Kubernetes sends SIGTERM,
# waits terminationGracePeriodSeconds (30 s by default), then SIGKILLs. Each
# case stops lifeboat where it waits (on PostgreSQL, pg_dump, a child's pipe,
# a lock) and checks that it exits within the grace (a correctness bound, not
# a performance one), reports the interruption (exit 1, LocalIOError,
# "interrupted by signal 15") and leaves nothing that looks complete.

GRACE=30
SIG="$WORK/sigterm"
rm -rf "$SIG" && mkdir -p "$SIG"

# sigterm_when PID CHECK...: once CHECK succeeds (polled for up to
# TERM_WAIT_S, 60 s unless set), SIGTERMs PID (or sends it TERM_SIG) and
# waits for it as the kubelet would: TERM_RC is its exit status, or
# "killed" when it outlived the grace and was SIGKILLed;
# TERM_REACHED says whether CHECK succeeded while PID ran.
sigterm_when() {
	local pid=$1 i
	shift
	TERM_REACHED=no
	for ((i = 0; i < ${TERM_WAIT_S:-60} * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		if "$@"; then
			TERM_REACHED=yes
			break
		fi
		sleep 0.1
	done
	kill -"${TERM_SIG:-TERM}" "$pid" 2>/dev/null || true
	for ((i = 0; i < GRACE * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	TERM_RC=killed
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	set +e
	wait "$pid"
	local rc=$?
	set -e
	[[ $TERM_RC == killed && $i -ge $((GRACE * 10)) ]] || TERM_RC=$rc
}

# interrupted LABEL OUT RESULT: exit 1 within the grace, the interruption in
# the log and in the result (phase Failed, reason LocalIOError); the signal's
# number is TERM_NUM (15 unless set).
interrupted() {
	local num=${TERM_NUM:-15}
	t_equals "$1: the signal came at that stage" yes echo "$TERM_REACHED"
	t_equals "$1: exits within the ${GRACE} s grace, status 1" 1 echo "$TERM_RC"
	t_true "$1: the log says interrupted by signal $num" grep -q "interrupted by signal $num\b" "$2"
	t_true "$1: the result says Failed, LocalIOError, interrupted" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["phase"] == "Failed" and r["reason"] == "LocalIOError", r
assert "interrupted by signal " + sys.argv[2] in r["message"], r' "$3" "$num"
}

# nothing_stored LABEL NAME: no manifest, no object, no .partial of backup NAME.
nothing_stored() {
	local left
	left=$(ls -A "$STORE/default/$2" 2>/dev/null || true)
	if [[ -z $left ]]; then t_pass "$1: nothing stored (no manifest, object or .partial)"; else t_fail "$1: nothing stored (no manifest, object or .partial)" "$left"; fi
}

# backends DB WHERE: how many server sessions on DB match WHERE.
backends() {
	pg_psql postgres -tA -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND pid <> pg_backend_pid() AND ($2)"
}
gone() { # DB WHERE: true once no session matches (waits up to 10 s)
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(backends "$1" "$2") == 0 ]] && return 0
		sleep 0.1
	done
	return 1
}
waiting_on_lock() { [[ $(backends "$1" "wait_event_type = 'Lock'") -ge 1 ]]; }

# A database whose dump (about 20 MB) is far larger than any pipe buffer.
fresh_db sigdata
pg_psql sigdata -q -c "CREATE TABLE h AS SELECT i, md5(i::text) a, md5((i*3)::text) b FROM generate_series(1, 300000) i" >/dev/null
pg_table_checksums sigdata >"$SIG/sigdata.sums"

# --- pre-flight: the schema-version query is running on the server ----------
"${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" --name sig-preflight \
	--passphrase-file "$PASS" --schema-version-query "SELECT pg_sleep(300)::text" \
	--result-path "$SIG/preflight.json" >"$SIG/preflight.out" 2>&1 &
pid=$!
sleeping() { [[ $(backends sigdata "query LIKE 'SELECT pg_sleep(300)%'") -ge 1 ]]; }
sigterm_when "$pid" sleeping
interrupted "SIGTERM in pre-flight" "$SIG/preflight.out" "$SIG/preflight.json"
nothing_stored "SIGTERM in pre-flight" sig-preflight
t_true "SIGTERM in pre-flight: the query was cancelled on the server" gone sigdata "query LIKE 'SELECT pg_sleep(300)%'"

# --- SIGHUP (the terminal of a run by hand closed): the same clean stop -----
"${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" --name sig-hup \
	--passphrase-file "$PASS" --schema-version-query "SELECT pg_sleep(300)::text" \
	--result-path "$SIG/hup.json" >"$SIG/hup.out" 2>&1 &
pid=$!
TERM_SIG=HUP sigterm_when "$pid" sleeping
TERM_NUM=1 interrupted "SIGHUP in pre-flight" "$SIG/hup.out" "$SIG/hup.json"
t_true "SIGHUP: the log names a closed terminal" grep -q 'received signal 1 (its terminal was closed): stopping' "$SIG/hup.out"
t_true "SIGHUP: ...and so does the result's message" grep -q 'interrupted by signal 1 (its terminal was closed)' "$SIG/hup.json"
nothing_stored "SIGHUP in pre-flight" sig-hup
t_true "SIGHUP in pre-flight: the query was cancelled on the server" gone sigdata "query LIKE 'SELECT pg_sleep(300)%'"

# --- mid-dump: pg_dump waits for a lock, so no byte comes down its pipe -----
pg_psql sigdata -q -c "CREATE TABLE held(i int)" >/dev/null
pg_psql "dbname=sigdata application_name=sig-lock" -q \
	-c "BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT" >/dev/null 2>&1 &
lockpid=$!
holding() { [[ $(backends sigdata "application_name = 'sig-lock' AND query LIKE '%pg_sleep%'") -ge 1 ]]; }
for _ in $(seq 100); do holding && break; sleep 0.1; done
"${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" --name sig-dump \
	--passphrase-file "$PASS" --result-path "$SIG/dump.json" >"$SIG/dump.out" 2>&1 &
pid=$!
sigterm_when "$pid" waiting_on_lock sigdata
interrupted "SIGTERM while pg_dump waits" "$SIG/dump.out" "$SIG/dump.json"
nothing_stored "SIGTERM while pg_dump waits" sig-dump
pg_psql postgres -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sig-lock'" >/dev/null
set +e
wait "$lockpid"
set -e
pg_psql sigdata -q -c "DROP TABLE held" >/dev/null

# --- the end of the dump: every byte read, pg_dump not yet exited ------------
# (the object is still a .partial: it becomes visible only after pg_dump's
# success is known)
mkdir -p "$SIG/slowbin"
cat >"$SIG/slowbin/pg_dump" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/pg_dump --version
$PGTEST_BIN/pg_dump "\$@" || exit \$?
touch "$SIG/slowbin/dumped"
exec >&- 2>&-
exec sleep 1234
SH
chmod +x "$SIG/slowbin/pg_dump"
LIFEBOAT_PG_BINDIR=$SIG/slowbin "${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" \
	--name sig-end --passphrase-file "$PASS" --result-path "$SIG/end.json" >"$SIG/end.out" 2>&1 &
pid=$!
dumped() { [[ -e $SIG/slowbin/dumped ]] && sleep 0.5; }
sigterm_when "$pid" dumped
interrupted "SIGTERM after the last byte of the dump" "$SIG/end.out" "$SIG/end.json"
nothing_stored "SIGTERM after the last byte of the dump" sig-end
t_true "SIGTERM after the last byte of the dump: pg_dump was killed" bash -c '! pgrep -x -f "sleep 1234"'

# --- the dump object stored, the files archive being written -----------------
mkdir -p "$SIG/files"
head -c 64000000 /dev/urandom >"$SIG/files/noise.bin"
"${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" --name sig-files \
	--passphrase-file "$PASS" --files "$SIG/files" --compression zstd:19 \
	--result-path "$SIG/files.json" >"$SIG/files.out" 2>&1 &
pid=$!
# (object names carry the run's attempt: db-ATTEMPT.dump.zst.pgp)
archiving() {
	compgen -G "$STORE/default/sig-files/db-*.dump.zst.pgp" >/dev/null &&
		compgen -G "$STORE/default/sig-files/files-*.partial" >/dev/null
}
# (zstd:19 over the 20 MB dump first: minutes on a loaded machine)
TERM_WAIT_S=600 sigterm_when "$pid" archiving
interrupted "SIGTERM while the files archive is written" "$SIG/files.out" "$SIG/files.json"
nothing_stored "SIGTERM while the files archive is written (the stored dump removed too)" sig-files
rm -rf "$SIG/files"

# --- verify: pg_restore --list reads nothing, so the pipe to it is full -------
t_run "sigterm: a backup to verify and restore" 0 \
	"${LB[@]}" backup --db "$(pg_uri sigdata)" --storage "file://$STORE" --name sig-data --passphrase-file "$PASS"
mkdir -p "$SIG/stallbin"
cat >"$SIG/stallbin/pg_restore" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/pg_restore --version
touch "$SIG/stallbin/listing"
exec sleep 1235
SH
chmod +x "$SIG/stallbin/pg_restore"
LIFEBOAT_PG_BINDIR=$SIG/stallbin "${LB[@]}" verify --storage "file://$STORE" --name sig-data \
	--passphrase-file "$PASS" --result-path "$SIG/verify.json" >"$SIG/verify.out" 2>&1 &
pid=$!
listing() { [[ -e $SIG/stallbin/listing ]] && sleep 0.5; }
sigterm_when "$pid" listing
interrupted "SIGTERM in verify" "$SIG/verify.out" "$SIG/verify.json"
t_true "SIGTERM in verify: no verdict recorded" test ! -e "$STORE/default/sig-data/verified.json"
t_true "SIGTERM in verify: pg_restore --list was killed" bash -c '! pgrep -x -f "sleep 1235"'

# --- restore: psql waits for a lock the --clean needs, its pipe fills up -----
fresh_db sigtarget fixture
pg_table_checksums sigtarget >"$SIG/target.sums"
pg_psql "dbname=sigtarget application_name=sig-lock" -q \
	-c "BEGIN; LOCK TABLE public.kitchen_sink IN ACCESS SHARE MODE; SELECT pg_sleep(300); COMMIT" >/dev/null 2>&1 &
lockpid=$!
for _ in $(seq 100); do [[ $(backends sigtarget "application_name = 'sig-lock' AND query LIKE '%pg_sleep%'") -ge 1 ]] && break; sleep 0.1; done
"${LB[@]}" restore --db "$(pg_uri sigtarget)" --storage "file://$STORE" --name sig-data \
	--passphrase-file "$PASS" --confirm sigtarget --clean --restore-name sig-restore \
	--result-path "$SIG/restore.json" >"$SIG/restore.out" 2>&1 &
pid=$!
sigterm_when "$pid" waiting_on_lock sigtarget
interrupted "SIGTERM in restore" "$SIG/restore.out" "$SIG/restore.json"
t_true "SIGTERM in restore: the result says targetUnchanged" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["targetUnchanged"] is True' "$SIG/restore.json"
# The lock released, the killed psql's transaction must roll back, not go on.
pg_psql postgres -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sig-lock'" >/dev/null
set +e
wait "$lockpid"
set -e
t_true "SIGTERM in restore: no session of the restore is left" gone sigtarget "true"
same_as "SIGTERM in restore: the target database is unchanged" sigtarget "$SIG/target.sums"
t_run "SIGTERM in restore: the audit record says failed, target unchanged" 0 python3 -c '
import json, glob, sys
recs = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/**/*.json", recursive=True)]
recs = [r for r in recs if r.get("kind") and r.get("restore", {}).get("name") == "sig-restore"]
assert len(recs) == 1, recs
r = recs[0]
assert r["outcome"] == "Failed" and r["targetUnchanged"] is True, r
assert r["error"]["reason"] == "LocalIOError" and "interrupted by signal 15" in r["error"]["message"], r' "$STORE"

pg_psql postgres -q -c "DROP DATABASE sigtarget WITH (FORCE)" -c "DROP DATABASE sigdata WITH (FORCE)" >/dev/null
