# Failure paths: each gives a clear error and leaves nothing that looks complete.

no_manifest() { # name: records that no manifest and no partial object exist
	if [[ ! -e "$STORE/default/$1/manifest.json" ]] && ! ls "$STORE/default/$1/"*.partial >/dev/null 2>&1; then
		t_pass "$2"
	else
		t_fail "$2" "found: $(ls "$STORE/default/$1" 2>&1)"
	fi
}

LIFEBOAT_DB="postgresql://lifeboat:lifeboat-pw@127.0.0.1:1/fixture" t_run "server unreachable: exit 3" 3 \
	"${LB[@]}" backup --storage "file://$STORE" --name unreachable --passphrase-file "$PASS"
t_contains "server unreachable: message says cannot connect and what to check" "cannot connect to postgresql://lifeboat@127.0.0.1:1/fixture"
no_manifest unreachable "server unreachable: nothing stored"

LIFEBOAT_DB="postgresql://lifeboat:hunter2-wrong@127.0.0.1:$PGTEST_PORT/fixture" t_run "wrong password: exit 3" 3 \
	"${LB[@]}" backup --storage "file://$STORE" --name wrongpw --passphrase-file "$PASS"
t_contains "wrong password: the server's reason is given" "password authentication failed"
if [[ $T_OUT != *hunter2-wrong* ]]; then t_pass "wrong password: the password never appears in output"; else t_fail "wrong password: the password never appears in output" "leaked"; fi

t_run "database missing: exit 3" 3 \
	"${LB[@]}" backup --db "$(pg_uri nosuchdb)" --storage "file://$STORE" --name nodb
t_contains "database missing: message names it" 'database "nosuchdb" does not exist'

LIFEBOAT_PG_BINDIR=$WORK/nobin t_run "pg_dump missing: exit 8" 8 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name nopgdump
t_contains "pg_dump missing: message says to install the client" "install the PostgreSQL client"
no_manifest nopgdump "pg_dump missing: nothing stored"

mkdir -p "$WORK/oldbin"
cat >"$WORK/oldbin/pg_dump" <<'SH'
#!/bin/sh
[ "$1" = --version ] && { echo "pg_dump (PostgreSQL) 13.16"; exit 0; }
exit 1
SH
chmod +x "$WORK/oldbin/pg_dump"
LIFEBOAT_PG_BINDIR=$WORK/oldbin t_run "pg_dump older than the server: exit 7" 7 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name oldpgdump
t_contains "pg_dump older than the server: message says which pg_dump is needed" "use pg_dump 15 or newer"

# pg_dump failing mid-way (a table it may not read): no manifest, no object.
pg_psql fixture -q -c "CREATE ROLE weak LOGIN PASSWORD 'weak-pw'; CREATE TABLE public.secret_t(x int); REVOKE ALL ON public.secret_t FROM PUBLIC" >/dev/null
PGPASSWORD=weak-pw t_run "pg_dump fails (permission denied on a table): exit 3" 3 \
	"${LB[@]}" backup --db "postgresql://weak@127.0.0.1:$PGTEST_PORT/fixture" \
	--storage "file://$STORE" --name dumpfails --passphrase-file "$PASS"
t_contains "pg_dump fails: pg_dump's own error is in the message" "permission denied"
no_manifest dumpfails "pg_dump fails: nothing that looks complete is left"
pg_psql fixture -q -c "DROP TABLE public.secret_t; DROP ROLE weak" >/dev/null

t_run "storage folder missing: exit 4" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$WORK/no/such/dir" --name nostore
t_contains "storage folder missing: message says create or mount it" "create it or mount the volume"

if [[ $(id -u) -eq 0 ]]; then
	mkdir -p "$WORK/ro"
	chmod 755 "$WORK/ro"
	t_run "storage not writable: exit 4 (encrypted)" 4 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		env LIFEBOAT_PASSPHRASE=x "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$WORK/ro" --name ro
	t_contains "storage not writable: message says fix permissions" "not writable"

	mkdir -p "$WORK/full"
	mount -t tmpfs -o size=1m tmpfs "$WORK/full"
	t_run "storage full: exit 4" 4 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$WORK/full" --name full --passphrase-file "$PASS"
	t_contains "storage full: message says the volume is full" "storage volume is full"
	if [[ -z $(find "$WORK/full" -type f) ]]; then t_pass "storage full: no partial object or manifest left"; else t_fail "storage full: no partial object or manifest left" "$(find "$WORK/full" -type f)"; fi
	umount "$WORK/full"
else
	chmod 555 "$WORK/ro" 2>/dev/null || { mkdir -p "$WORK/ro"; chmod 555 "$WORK/ro"; }
	LIFEBOAT_PASSPHRASE=x t_run "storage not writable: exit 4 (encrypted)" 4 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$WORK/ro" --name ro
	t_contains "storage not writable: message says fix permissions" "not writable"
fi

# Killed mid-backup: a database big enough that the dump takes a while.
fresh_db big
pg_psql big -q -c "CREATE TABLE h AS SELECT i, md5(i::text) a, md5((i*7)::text) b FROM generate_series(1, 1500000) i" >/dev/null
"${LB[@]}" backup --db "$(pg_uri big)" --storage "file://$STORE" --name killed --compression zstd:19 \
	--passphrase-file "$PASS" >/dev/null 2>&1 &
victim_pid=$!
for _ in $(seq 100); do
	compgen -G "$STORE/default/killed/db-*.dump.zst.pgp.*.partial" >/dev/null && break
	sleep 0.1
done
sleep 0.5
kill -9 "$victim_pid" 2>/dev/null || true
wait "$victim_pid" 2>/dev/null || true
sleep 0.5
if [[ ! -e "$STORE/default/killed/manifest.json" ]] && ! compgen -G "$STORE/default/killed/db-*.dump.zst.pgp" >/dev/null; then
	t_pass "killed mid-backup: no manifest and no complete-looking object"
else
	t_fail "killed mid-backup: no manifest and no complete-looking object" "$(ls -la "$STORE/default/killed")"
fi
t_run "killed mid-backup: list shows it as incomplete" 0 "${LB[@]}" list --storage "file://$STORE" --namespace default
t_contains "killed mid-backup: list says Incomplete" "Incomplete"
t_run "killed mid-backup: verify refuses it (no manifest, exit 8)" 8 \
	"${LB[@]}" verify --storage "file://$STORE" --name killed --passphrase-file "$PASS"
t_run "killed mid-backup: the same name backs up cleanly afterwards" 0 \
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "file://$STORE" --name killed --passphrase-file "$PASS"
t_true "killed mid-backup: no partial left after the retry" bash -c "! ls $STORE/default/killed/*.partial 2>/dev/null"
# SIGTERM (what Kubernetes sends at a Job's deadline or deletion): the
# backup stops cleanly, removing its partial object, and says why.
"${LB[@]}" backup --db "$(pg_uri big)" --storage "file://$STORE" --name termed --compression zstd:19 \
	--passphrase-file "$PASS" >"$WORK/termed.out" 2>&1 &
term_pid=$!
for _ in $(seq 100); do
	compgen -G "$STORE/default/termed/db-*.dump.zst.pgp.*.partial" >/dev/null && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$term_pid" 2>/dev/null || true
set +e
wait "$term_pid"
term_rc=$?
set -e
if [[ $term_rc -ne 0 && ! -e "$STORE/default/termed/manifest.json" ]] && ! ls "$STORE/default/termed/"*.partial >/dev/null 2>&1; then
	t_pass "SIGTERM mid-backup: fails, no manifest, partial object removed"
else
	t_fail "SIGTERM mid-backup: fails, no manifest, partial object removed" "exit $term_rc; $(ls -la "$STORE/default/termed" 2>&1)"
fi
T_OUT=$(cat "$WORK/termed.out")
t_contains "SIGTERM mid-backup: the result says it was interrupted" "interrupted by signal 15"

# Three runs of one backup at once (a lost pod still running beside its
# replacement): exactly one may succeed, and what it reports must verify.
for i in 1 2 3; do
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "file://$STORE" --name race \
		--passphrase-file "$PASS" --result-path "$WORK/race$i.json" >"$WORK/race$i.out" 2>&1 &
	eval "race_pid$i=\$!"
done
race_ok=0 race_exists=0 race_lost=0
for i in 1 2 3; do
	eval "pid=\$race_pid$i"
	set +e
	wait "$pid"
	rc=$?
	set -e
	[[ $rc -eq 0 ]] && race_ok=$((race_ok + 1)) && race_winner=$i
	[[ $rc -eq 9 ]] && race_exists=$((race_exists + 1))
	grep -q "completed first" "$WORK/race$i.out" && race_lost=$((race_lost + 1))
done
t_equals "three backups of one name at once: one succeeds, two exit 9 (AlreadyExists)" "1 2" echo "$race_ok $race_exists"
t_true "three backups at once: the losers lost the race for the manifest, not the first check" test "$race_lost" -ge 1
t_run "three backups at once: what the winner reported verifies" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name race --passphrase-file "$PASS"
t_equals "three backups at once: the winner's result names the stored manifest's object" \
	"$(python3 -c "import json; print(json.load(open('$STORE/default/race/manifest.json'))['objects'][0]['sha256'])")" \
	python3 -c "import json; print(json.load(open('$WORK/race${race_winner:-1}.json'))['artifact']['objects'][0]['sha256'])"
t_equals "three backups at once: the losers removed their objects (manifest, its dump, verified.json)" \
	"$(basename "$(dump_obj "$STORE/default/race")") manifest.json verified.json" \
	bash -c "ls '$STORE/default/race' | sort | tr '\n' ' ' | sed 's/ \$//'"
pg_psql postgres -q -c "DROP DATABASE big" >/dev/null

t_run "existing backup is never overwritten: exit 9" 9 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name rt1 --passphrase-file "$PASS"
t_contains "existing backup: message says choose another name" "choose another --name"

fresh_db victim fixture
pg_table_checksums victim >"$WORK/victim.sums"
t_run "restore --confirm mismatch: exit 2" 2 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$PASS" --confirm fixture --clean
t_contains "restore --confirm mismatch: message names the expected name" '--confirm must equal the target database name "victim"'
t_run "restore without --confirm: exit 2" 2 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name rt1 --passphrase-file "$PASS"

# A restore whose SQL fails half-way (objects already exist, no --clean):
# psql stops, the transaction rolls back, the target is as it was.
t_run "restore failing mid-way (objects exist, no --clean): exit 11" 11 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$PASS" --confirm victim
t_contains "restore failing mid-way: message says rolled back and unchanged" "rolled back"
t_contains "restore failing mid-way: psql's error is in the message" "already exists"
same_as "restore failing mid-way: target untouched" victim "$WORK/victim.sums"

t_run "unknown flag: exit 2" 2 "${LB[@]}" backup --storage "file://$STORE" --nme x
t_contains "unknown flag: message names it" "unknown flag --nme"
t_run "passphrase as a flag is refused: exit 2" 2 "${LB[@]}" backup --storage "file://$STORE" --passphrase=x
# A password in --db would show in ps: refused in every form, without
# echoing it, before anything runs; LIFEBOAT_DB may carry one.
for form in "postgresql://lifeboat:db-flag-secret@127.0.0.1:$PGTEST_PORT/fixture" \
	"postgresql://lifeboat@127.0.0.1:$PGTEST_PORT/fixture?password=db-flag-secret" \
	"host=127.0.0.1 port=$PGTEST_PORT user=lifeboat password=db-flag-secret dbname=fixture"; do
	t_run "--db with a password is refused: exit 2 ($form)" 2 \
		"${LB[@]}" backup --db "$form" --storage "file://$STORE" --name dbflagpw --passphrase-file "$PASS"
	t_contains "--db with a password: the message names --db" "--db carries a password"
	t_contains "--db with a password: the message says to use LIFEBOAT_DB" "as LIFEBOAT_DB instead"
	t_contains "--db with a password: the message names PGPASSWORD and PGPASSFILE" "set PGPASSWORD, or PGPASSFILE to a .pgpass file"
	if [[ $T_OUT != *db-flag-secret* ]]; then t_pass "--db with a password: the password never appears in output"; else t_fail "--db with a password: the password never appears in output" "leaked"; fi
done
t_run "--db=URI with a password is refused too: exit 2" 2 \
	"${LB[@]}" restore "--db=postgresql://lifeboat:db-flag-secret@127.0.0.1:$PGTEST_PORT/x" --storage "file://$STORE" --name rt1 --confirm x
t_contains "--db=URI with a password: the message names --db" "--db carries a password"
no_manifest dbflagpw "--db with a password: nothing stored"
LIFEBOAT_DB="$(pg_uri_pw fixture)" t_run "LIFEBOAT_DB with a password is accepted: backup exit 0" 0 \
	env -u PGPASSWORD "${LB[@]}" backup --storage "file://$STORE" --name dbenvpw --passphrase-file "$PASS"
t_run "flag of another command: exit 2" 2 "${LB[@]}" verify --storage "file://$STORE" --name rt1 --confirm x
t_run "bad name: exit 2" 2 "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name Bad_Name
t_contains "bad name: message explains the rule" "lowercase letters"
t_run "bad compression level: exit 2" 2 "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name x --compression zstd:42
t_contains "bad compression level: message names the flag and range" "--compression: zstd level must be auto, auto:LOW-HIGH or a number from 1 to 19"
t_run "unsupported storage scheme: exit 2" 2 "${LB[@]}" list --storage "ftp://x/y"
t_run "--version prints the version" 0 "${LB[@]}" --version
t_contains "--version: names lifeboat" "lifeboat "

# A parent that ignores SIGCHLD passes that on through exec; the kernel would
# then discard the children's statuses and every wait fail (lifeboat fails
# closed on that). lifeboat resets SIGCHLD at start, so the backup works.
t_run "SIGCHLD ignored by the parent: backup still succeeds" 0 \
	python3 -c 'import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execvp(sys.argv[1], sys.argv[1:])' \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name sigchld-ignored --passphrase-file "$PASS"
t_run "SIGCHLD ignored by the parent: the backup verifies" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name sigchld-ignored --passphrase-file "$PASS"

# Secrets never reach a child's argv, and the passphrase not even its
# environment: spy wrappers record what pg_dump, pg_restore and psql receive.
mkdir -p "$WORK/spy"
for tool in pg_dump pg_restore psql; do
	cat >"$WORK/spy/$tool" <<SH
#!/bin/sh
{ echo "ARGV $tool: \$*"; env | sed "s/^/ENV $tool: /"; } >>"$WORK/spy.log"
exec "$PGTEST_BIN/$tool" "\$@"
SH
	chmod +x "$WORK/spy/$tool"
done
fresh_db spytarget
# The password only in the URI (LIFEBOAT_DB, no PGPASSWORD): the job hands
# it on as PGPASSWORD, never in argv, and LIFEBOAT_DB itself not at all.
LIFEBOAT_PG_BINDIR=$WORK/spy LIFEBOAT_PASSPHRASE='spy-passphrase-123' LIFEBOAT_DB="$(pg_uri_pw fixture)" \
	t_run "secrets: backup through spy wrappers" 0 \
	env -u PGPASSWORD "${LB[@]}" backup --storage "file://$STORE" --name spied
LIFEBOAT_PG_BINDIR=$WORK/spy LIFEBOAT_PASSPHRASE='spy-passphrase-123' LIFEBOAT_DB="$(pg_uri_pw spytarget)" \
	t_run "secrets: restore through spy wrappers" 0 \
	env -u PGPASSWORD "${LB[@]}" restore --storage "file://$STORE" --name spied --confirm spytarget
if grep -q "ARGV pg_dump" "$WORK/spy.log" && grep -q "ARGV psql" "$WORK/spy.log" && ! grep '^ARGV' "$WORK/spy.log" | grep -q "$PGTEST_PASSWORD"; then
	t_pass "secrets: the database password is in no child's argv"
else
	t_fail "secrets: the database password is in no child's argv" "$(grep '^ARGV' "$WORK/spy.log" | head -5)"
fi
if ! grep -q 'LIFEBOAT_DB' "$WORK/spy.log"; then
	t_pass "secrets: LIFEBOAT_DB is in no child's environment"
else
	t_fail "secrets: LIFEBOAT_DB is in no child's environment" "$(grep LIFEBOAT_DB "$WORK/spy.log" | sed 's/:[^@]*@/:***@/' | head -3)"
fi
if grep -q "^ENV pg_dump: PGPASSWORD=$PGTEST_PASSWORD\$" "$WORK/spy.log"; then
	t_pass "secrets: pg_dump gets the URI's password as PGPASSWORD"
else
	t_fail "secrets: pg_dump gets the URI's password as PGPASSWORD" "no PGPASSWORD line for pg_dump"
fi
if ! grep -q -e 'spy-passphrase-123' -e 'LIFEBOAT_PASSPHRASE' "$WORK/spy.log"; then
	t_pass "secrets: the passphrase is in no child's argv or environment"
else
	t_fail "secrets: the passphrase is in no child's argv or environment" "$(grep -e spy-passphrase -e LIFEBOAT_PASSPHRASE "$WORK/spy.log" | head -3)"
fi
if ! grep -rq 'spy-passphrase-123' "$STORE/default/spied"; then t_pass "secrets: the passphrase is not in the manifest"; else t_fail "secrets: the passphrase is not in the manifest" "found"; fi

# The result fits a termination message (4096 bytes) as valid JSON whatever
# went wrong: an over-long --name lands in the result and in the message,
# here once as plain text and once with control characters and bytes that
# are not UTF-8.
result_fits() { # file name: the result parses as UTF-8 JSON, <= 4096 bytes, reason kept
	if python3 - "$1" <<'PY'; then t_pass "$2"; else t_fail "$2" "$(head -c 300 "$1" | cat -v)"; fi
import json, os, sys
raw = open(sys.argv[1], "rb").read()
assert len(raw) <= 4096, len(raw)
d = json.loads(raw.decode("utf-8"))
assert d["command"] == "backup" and d["phase"] == "Failed", d
assert d["reason"] == "InvalidInput", d["reason"]
assert d["message"].startswith("--name"), d["message"][:80]
assert "completionTime" in d
PY
}
long_name=$(printf 'x%.0s' $(seq 5000))
t_run "result bound: a 5000-byte --name: exit 2" 2 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name "$long_name" \
	--result-path "$WORK/long-name.json"
result_fits "$WORK/long-name.json" "result bound: a 5000-byte --name gives valid JSON of at most 4096 bytes"
nasty_name=$(for _ in $(seq 1500); do printf '\001\377"\\'; done)
t_run "result bound: a --name of control bytes and bad UTF-8: exit 2" 2 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name "$nasty_name" \
	--result-path "$WORK/nasty-name.json"
result_fits "$WORK/nasty-name.json" "result bound: control bytes and bad UTF-8 give valid JSON of at most 4096 bytes"
