# DatabaseRestore's job side: the schema check before any change
# (--schema-policy), ownership and grants (--no-owner, --no-privileges,
# --role, and the MissingRole error), the audit record in storage
# (--restore-name), `lifeboat audit`, and list/delete beside _restores.
# Self-contained: its own backups, databases and roles.

Q70="SELECT max(version) FROM schema_migrations"
R70=$WORK/r70
mkdir -p "$R70"

# t_json NAME FILE EXPR: records whether the Python expression EXPR holds
# over d, the JSON in FILE (a failed assertion shows its value).
t_json() {
	local out
	if out=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); assert r, r" "$2" "$3" 2>&1); then
		t_pass "$1"
	else
		t_fail "$1" "$3 over $2: $(printf '%s' "$out" | tail -c 400); file: $(head -c 1500 "$2")"
	fi
}

# Spy wrappers: which client programs ran (psql must not, when a check refuses).
mkdir -p "$R70/spy"
for tool in pg_dump pg_restore psql; do
	cat >"$R70/spy/$tool" <<SH
#!/bin/sh
echo "RAN $tool \$*" >>"$R70/spy.log"
exec "$PGTEST_BIN/$tool" "\$@"
SH
	chmod +x "$R70/spy/$tool"
done

# --- the schema check ----------------------------------------------------------
t_run "schema: backup records the schema version" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --schema-version-query "$Q70"
t_run "schema: a backup without a recorded version" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --namespace sc --name v0 \
	--passphrase-file "$PASS"

fresh_db sc_same fixture
t_run "schema: RequireMatch with equal versions restores (exit 0)" 0 \
	"${LB[@]}" restore --db "$(pg_uri sc_same)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_same --clean --schema-policy RequireMatch \
	--schema-version-query "$Q70" --result-path "$R70/same.json"
t_json "schema: equal versions: schemaCheck Match with both versions" "$R70/same.json" \
	"d['schemaCheck']=={'policy':'RequireMatch','result':'Match','backupVersion':'20261121000000','targetVersion':'20261121000000'}"
t_json "schema: restoredBackup names the backup, its sha256, createdAt and schemaVersion" "$R70/same.json" \
	"(lambda m: d['restoredBackup']=={'namespace':'sc','name':'v1','location':'file://$STORE/sc/v1/','sha256':m['objects'][0]['sha256'],'createdAt':m['createdAt'],'schemaVersion':'20261121000000'})(json.load(open('$STORE/sc/v1/manifest.json')))"
t_json "schema: a successful restore has no targetUnchanged and no audit fields" "$R70/same.json" \
	"'targetUnchanged' not in d and 'auditRecord' not in d and 'auditError' not in d and d['restore']['ownership']=='Keep' and d['restore']['privileges']=='Keep'"
same_as "schema: equal versions: content identical" sc_same "$WORK/fixture.sums"

fresh_db sc_new fixture
pg_psql sc_new -q -c "INSERT INTO schema_migrations VALUES ('20261201000000')" >/dev/null
pg_table_checksums sc_new >"$R70/sc_new.sums"
: >"$R70/spy.log"
LIFEBOAT_PG_BINDIR=$R70/spy t_run "schema: RequireMatch refuses a different version (exit 13)" 13 \
	"${LB[@]}" restore --db "$(pg_uri sc_new)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_new --clean --schema-policy RequireMatch \
	--schema-version-query "$Q70" --result-path "$R70/mismatch.json"
t_contains "schema: the refusal names both versions" 'backup sc/v1 has schema version "20261121000000" but postgresql://lifeboat@127.0.0.1:'"$PGTEST_PORT"'/sc_new has "20261201000000"'
t_contains "schema: the refusal says nothing was changed and what to do" "nothing was changed; restore a backup of the same schema version, migrate the target first, or use --schema-policy Warn"
t_json "schema: reason SchemaMismatch, schemaCheck Mismatch, targetUnchanged true" "$R70/mismatch.json" \
	"d['reason']=='SchemaMismatch' and d['phase']=='Failed' and d['schemaCheck']['result']=='Mismatch' and d['schemaCheck']['targetVersion']=='20261201000000' and d['targetUnchanged'] is True"
same_as "schema: refused: the target is untouched" sc_new "$R70/sc_new.sums"
if grep -q "^RAN psql" "$R70/spy.log" || grep -q "^RAN pg_restore" "$R70/spy.log"; then
	t_fail "schema: refused before psql or pg_restore ever ran" "$(cat "$R70/spy.log")"
else
	t_pass "schema: refused before psql or pg_restore ever ran"
fi

LIFEBOAT_SCHEMA_POLICY=RequireMatch LIFEBOAT_SCHEMA_VERSION_QUERY="$Q70" \
	t_run "schema: LIFEBOAT_SCHEMA_POLICY and LIFEBOAT_SCHEMA_VERSION_QUERY from the environment (exit 13)" 13 \
	"${LB[@]}" restore --db "$(pg_uri sc_new)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_new --clean
same_as "schema: refused by environment: target untouched" sc_new "$R70/sc_new.sums"

t_run "schema: Warn (the default) restores over a different version" 0 \
	"${LB[@]}" restore --db "$(pg_uri sc_new)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_new --clean --schema-version-query "$Q70" \
	--result-path "$R70/warn.json"
t_matches "schema: Warn logs a warning naming both versions" 'lifeboat warning: schema check: backup sc/v1 has schema version "20261121000000" but .* has "20261201000000"; restoring anyway'
t_json "schema: Warn: schemaCheck policy Warn, Mismatch" "$R70/warn.json" \
	"d['phase']=='Completed' and d['schemaCheck']['policy']=='Warn' and d['schemaCheck']['result']=='Mismatch'"
same_as "schema: Warn: the backup's content is restored" sc_new "$WORK/fixture.sums"

fresh_db sc_empty
pg_table_checksums sc_empty >"$R70/empty.sums"
t_run "schema: RequireMatch refuses an empty database whose query fails (exit 13)" 13 \
	"${LB[@]}" restore --db "$(pg_uri sc_empty)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_empty --schema-policy RequireMatch \
	--schema-version-query "$Q70" --result-path "$R70/unknown.json"
t_contains "schema: TargetUnknown: the message quotes the query's error" 'relation "schema_migrations" does not exist'
t_json "schema: TargetUnknown with the query's error recorded" "$R70/unknown.json" \
	"d['schemaCheck']['result']=='TargetUnknown' and d['schemaCheck']['targetVersion'] is None and 'relation \"schema_migrations\" does not exist' in d['schemaCheck']['targetError'] and d['reason']=='SchemaMismatch'"
same_as "schema: TargetUnknown refused: the empty database stays empty" sc_empty "$R70/empty.sums"
t_run "schema: Warn restores into the empty database anyway" 0 \
	"${LB[@]}" restore --db "$(pg_uri sc_empty)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_empty --schema-version-query "$Q70" \
	--result-path "$R70/unknown-warn.json"
t_contains "schema: Warn on TargetUnknown logs why" 'schema check: the schema-version query gave no version on'
t_json "schema: Warn on TargetUnknown: Completed, result TargetUnknown" "$R70/unknown-warn.json" \
	"d['phase']=='Completed' and d['schemaCheck']['result']=='TargetUnknown'"
same_as "schema: Warn on TargetUnknown: content identical" sc_empty "$WORK/fixture.sums"

fresh_db sc_ignore
t_run "schema: Ignore never runs the query" 0 \
	"${LB[@]}" restore --db "$(pg_uri sc_ignore)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_ignore --schema-policy Ignore \
	--schema-version-query "SELECT 1/0" --result-path "$R70/ignore.json"
t_json "schema: Ignore: Skipped, no target version, no error" "$R70/ignore.json" \
	"d['schemaCheck']=={'policy':'Ignore','result':'Skipped','backupVersion':'20261121000000','targetVersion':None}"

fresh_db sc_nover fixture
t_run "schema: a backup that recorded no version is Skipped even with RequireMatch" 0 \
	"${LB[@]}" restore --db "$(pg_uri sc_nover)" --storage "file://$STORE" --namespace sc --name v0 \
	--passphrase-file "$PASS" --confirm sc_nover --clean --schema-policy RequireMatch \
	--schema-version-query "$Q70" --result-path "$R70/nover.json"
t_contains "schema: ... with a warning that there is nothing to compare" "recorded no schema version"
t_json "schema: no recorded version: Skipped, the target's version still shown" "$R70/nover.json" \
	"d['schemaCheck']['result']=='Skipped' and d['schemaCheck']['backupVersion'] is None and d['schemaCheck']['targetVersion']=='20261121000000'"

t_run "schema: RequireMatch without a query is refused (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri sc_nover)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_nover --schema-policy RequireMatch
t_contains "schema: ... naming the flag to add" "--schema-policy RequireMatch needs --schema-version-query"
t_run "schema: an unknown policy is refused (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri sc_nover)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_nover --schema-policy requirematch
t_contains "schema: ... listing the policies" 'use Ignore, Warn or RequireMatch'
t_run "schema: --schema-policy does not apply to backup (exit 2)" 2 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name x --schema-policy Warn

# --- ownership and grants --------------------------------------------------------
pg_psql postgres -q -c "DROP DATABASE IF EXISTS owned_src" -c "DROP ROLE IF EXISTS app_owner" \
	-c "DROP ROLE IF EXISTS app_reader" -c "DROP ROLE IF EXISTS app_admin" >/dev/null
pg_psql postgres -q -c "CREATE ROLE app_owner NOLOGIN" -c "CREATE ROLE app_reader NOLOGIN" \
	-c "CREATE DATABASE owned_src" >/dev/null
pg_psql owned_src -q -c "CREATE TABLE public.accounts(id int PRIMARY KEY, v text);
	INSERT INTO public.accounts SELECT g, 'account ' || g FROM generate_series(1, 500) g;
	ALTER TABLE public.accounts OWNER TO app_owner;
	GRANT SELECT ON public.accounts TO app_reader" >/dev/null
pg_table_checksums owned_src >"$R70/owned.sums"
t_run "roles: backup of a table owned by one role and granted to another" 0 \
	"${LB[@]}" backup --db "$(pg_uri owned_src)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS"
t_run "roles: the same as a plain-format backup" 0 \
	"${LB[@]}" backup --db "$(pg_uri owned_src)" --storage "file://$STORE" --namespace roles --name r1-plain \
	--passphrase-file "$PASS" --format plain
# The roles go away (as on a new server that never had them).
pg_psql postgres -q -c "DROP DATABASE owned_src" -c "DROP ROLE app_owner" -c "DROP ROLE app_reader" >/dev/null

fresh_db rtarget
pg_psql rtarget -q -c "CREATE TABLE keep(x int); INSERT INTO keep SELECT generate_series(1, 10)" >/dev/null
pg_table_checksums rtarget >"$R70/rtarget.sums"
t_run "roles: a missing owner role fails the restore (exit 14)" 14 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rtarget --clean --result-path "$R70/role1.json"
t_contains "roles: the error names the role and both fixes" 'role "app_owner" does not exist on the target server: create it (CREATE ROLE "app_owner";) or restore without ownership (--no-owner; DatabaseRestore spec.ownership.mode NoOwner) and without grants (--no-privileges; spec.privileges Skip)'
t_contains "roles: ... and says the restore was rolled back" "failed and was rolled back"
t_json "roles: reason MissingRole, targetUnchanged true" "$R70/role1.json" \
	"d['reason']=='MissingRole' and d['targetUnchanged'] is True and 'app_owner' in d['message']"
same_as "roles: the target is unchanged (the --clean drops rolled back too)" rtarget "$R70/rtarget.sums"

t_run "roles: --no-owner alone still fails on the grant (exit 14)" 14 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rtarget --clean --no-owner
t_contains "roles: ... naming the grantee and --no-privileges" 'role "app_reader" does not exist on the target server: create it (CREATE ROLE "app_reader";) or restore without grants too (--no-privileges'
same_as "roles: --no-owner alone: target unchanged" rtarget "$R70/rtarget.sums"

t_run "roles: --no-owner --no-privileges restores" 0 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rtarget --clean --no-owner --no-privileges \
	--result-path "$R70/noowner.json"
t_equals "roles: the table belongs to the restoring user and has no grants" "lifeboat|" \
	pg_psql rtarget -A -t -c "SELECT tableowner || '|' || coalesce((SELECT relacl::text FROM pg_class WHERE relname = 'accounts'), '') FROM pg_tables WHERE tablename = 'accounts'"
t_equals "roles: every row restored" "500" pg_psql rtarget -A -t -c "SELECT count(*) FROM accounts"
t_json "roles: the result says NoOwner and Skip" "$R70/noowner.json" \
	"d['restore']['ownership']=='NoOwner' and d['restore']['privileges']=='Skip' and 'role' not in d['restore']"

pg_psql postgres -q -c "CREATE ROLE app_admin NOLOGIN" -c "DROP DATABASE IF EXISTS rrole" \
	-c "CREATE DATABASE rrole OWNER app_admin" >/dev/null
LIFEBOAT_NO_OWNER=true LIFEBOAT_NO_PRIVILEGES=true LIFEBOAT_ROLE=app_admin \
	t_run "roles: --role (from LIFEBOAT_ROLE, with LIFEBOAT_NO_OWNER/NO_PRIVILEGES) restores as that role" 0 \
	"${LB[@]}" restore --db "$(pg_uri rrole)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rrole --clean --result-path "$R70/role.json"
t_equals "roles: --role: the table is owned by the role" "app_admin" \
	pg_psql rrole -A -t -c "SELECT tableowner FROM pg_tables WHERE tablename = 'accounts'"
t_json "roles: --role is in the result" "$R70/role.json" "d['restore']['role']=='app_admin' and d['restore']['ownership']=='NoOwner'"
pg_table_checksums rrole >"$R70/rrole.sums"
t_run "roles: --role naming a missing role fails (exit 14)" 14 \
	"${LB[@]}" restore --db "$(pg_uri rrole)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rrole --clean --no-owner --no-privileges --role nosuch_role
t_contains "roles: ... naming --role" '--role "nosuch_role": role "nosuch_role" does not exist on the target server'
same_as "roles: missing --role: target unchanged" rrole "$R70/rrole.sums"

t_run "roles: --no-owner with a plain-format backup is Unsupported (exit 10)" 10 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1-plain \
	--passphrase-file "$PASS" --confirm rtarget --clean --no-owner
t_contains "roles: ... saying why" "is a plain-format SQL script, whose owners and grants cannot be left out"
t_run "roles: --role with a plain-format backup is applied (SET ROLE after BEGIN): a missing one fails (exit 14)" 14 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1-plain \
	--passphrase-file "$PASS" --confirm rtarget --clean --role nosuch_role
t_contains "roles: plain --role: names the role" '--role "nosuch_role": role "nosuch_role" does not exist'
t_run "roles: a plain backup's missing owner is MissingRole too (exit 14)" 14 \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1-plain \
	--passphrase-file "$PASS" --confirm rtarget --clean
t_contains "roles: plain: names app_owner" 'role "app_owner" does not exist on the target server'

# --- the audit record ----------------------------------------------------------------
SAFETY_SHA=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
fresh_db audit_t fixture
fresh_db sc_mis fixture
pg_psql sc_mis -q -c "INSERT INTO schema_migrations VALUES ('20261201000000')" >/dev/null
t_run "audit: a restore with --restore-name writes its record" 0 \
	"${LB[@]}" restore --db "$(pg_uri audit_t)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_t --clean --schema-version-query "$Q70" \
	--restore-name dr-1 --restore-namespace app --requested-by 'alice@example.com (groups: ops, system:authenticated)' \
	--safety-backup-name audit-t-safety --safety-backup-location "file://$STORE/app/audit-t-safety/" \
	--safety-backup-sha256 "$SAFETY_SHA" --result-path "$R70/audit1.json"
ym=$(python3 -c "import json; print(json.load(open('$R70/audit1.json'))['startTime'][:7].replace('-', '/'))")
REC1="$STORE/app/_restores/$ym/dr-1.json"
t_true "audit: the record is at <ns>/_restores/<yyyy>/<mm>/<name>.json (UTC month of the start)" test -s "$REC1"
t_json "audit: the result's auditRecord is the record's storage URL" "$R70/audit1.json" \
	"d['auditRecord']=='file://$REC1' and 'auditError' not in d"
t_true "audit: plain cat reads it as JSON" bash -c "cat '$REC1' | python3 -m json.tool >/dev/null"
t_true "audit: no partial file left" bash -c "! ls '$STORE/app/_restores/$ym/'*.partial 2>/dev/null"
version=$("${LB[@]}" --version | awk '{print $2}')
t_json "audit: apiVersion, kind, restore, requestedBy, outcome, times" "$REC1" \
	"d['apiVersion']=='lifeboat.dev/v1alpha1' and d['kind']=='RestoreAudit' and d['restore']=={'namespace':'app','name':'dr-1'} and d['requestedBy']=='alice@example.com (groups: ops, system:authenticated)' and d['outcome']=='Completed' and 'error' not in d and 'targetUnchanged' not in d and d['startTime']<=d['completionTime'] and d['startTime']==json.load(open('$R70/audit1.json'))['startTime']"
t_json "audit: source is the manifest's backup (location, sha256, createdAt, schemaVersion)" "$REC1" \
	"(lambda m: d['source']=={'namespace':'sc','name':'v1','location':'file://$STORE/sc/v1/','sha256':m['objects'][0]['sha256'],'createdAt':m['createdAt'],'schemaVersion':'20261121000000'})(json.load(open('$STORE/sc/v1/manifest.json')))"
t_json "audit: target host, port, database, user (no password)" "$REC1" \
	"d['target']=={'host':'127.0.0.1','port':$PGTEST_PORT,'database':'audit_t','user':'lifeboat'}"
t_json "audit: the safety backup" "$REC1" \
	"d['safetyBackup']=={'enabled':True,'name':'audit-t-safety','location':'file://$STORE/app/audit-t-safety/','sha256':'$SAFETY_SHA'}"
t_json "audit: schemaCheck, clean, ownership, privileges, lifeboat version" "$REC1" \
	"d['schemaCheck']=={'policy':'Warn','result':'Match','backupVersion':'20261121000000','targetVersion':'20261121000000'} and d['clean'] is True and d['ownership']=={'mode':'Keep','role':None} and d['privileges']=='Keep' and d['lifeboatVersion']=='$version'"
if grep -q -e "$PGTEST_PASSWORD" -e 'correct horse' "$REC1"; then
	t_fail "audit: no password and no passphrase in the record" "$(grep -e "$PGTEST_PASSWORD" -e 'correct horse' "$REC1")"
else
	t_pass "audit: no password and no passphrase in the record"
fi

# A failed restore writes its record too.
t_run "audit: a refused restore (schema mismatch) still writes its record" 13 \
	"${LB[@]}" restore --db "$(pg_uri sc_mis)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_mis --clean --schema-policy RequireMatch \
	--schema-version-query "$Q70" --restore-name dr-2 --restore-namespace app --no-safety-backup \
	--result-path "$R70/audit2.json"
REC2="$STORE/app/_restores/$(python3 -c "import json; print(json.load(open('$R70/audit2.json'))['startTime'][:7].replace('-', '/'))")/dr-2.json"
t_json "audit: failed: outcome Failed, error reason and message, targetUnchanged" "$REC2" \
	"d['outcome']=='Failed' and d['error']['reason']=='SchemaMismatch' and d['error']['message']==json.load(open('$R70/audit2.json'))['message'] and d['targetUnchanged'] is True and d['schemaCheck']['result']=='Mismatch'"
t_json "audit: --no-safety-backup is {enabled: false}; requestedBy absent is null" "$REC2" \
	"d['safetyBackup']=={'enabled':False} and d['requestedBy'] is None"
t_json "audit: failed: the result keeps its reason and points at the record" "$R70/audit2.json" \
	"d['reason']=='SchemaMismatch' and d['auditRecord'].endswith('/app/_restores/' + d['startTime'][:7].replace('-', '/') + '/dr-2.json')"

t_run "audit: a MissingRole failure's record" 14 \
	env LIFEBOAT_RESTORE_NAME=dr-3 LIFEBOAT_REQUESTED_BY=bob LIFEBOAT_RESTORE_NAMESPACE=app \
	"${LB[@]}" restore --db "$(pg_uri rtarget)" --storage "file://$STORE" --namespace roles --name r1 \
	--passphrase-file "$PASS" --confirm rtarget --clean --result-path "$R70/audit3.json"
REC3=$(python3 -c "import json; print(json.load(open('$R70/audit3.json'))['auditRecord'][len('file://'):])")
t_json "audit: from LIFEBOAT_RESTORE_NAME etc.: MissingRole, rolled back, requestedBy bob" "$REC3" \
	"d['restore']['name']=='dr-3' and d['error']['reason']=='MissingRole' and 'app_owner' in d['error']['message'] and d['targetUnchanged'] is True and d['requestedBy']=='bob' and d['safetyBackup'] is None and d['source']['name']=='r1'"

# The restore namespace defaults to --namespace.
fresh_db audit_d
t_run "audit: without --restore-namespace the record goes under --namespace" 0 \
	"${LB[@]}" restore --db "$(pg_uri audit_d)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_d --restore-name dr-4 --result-path "$R70/audit4.json"
t_json "audit: ... sc/_restores/.../dr-4.json" "$R70/audit4.json" "'/sc/_restores/' in d['auditRecord'] and d['auditRecord'].endswith('/dr-4.json')"

# The record cannot be written: the restore's outcome stands.
mkdir -p "$STORE/blocked"
: >"$STORE/blocked/_restores" # a file where the folder must go
fresh_db audit_b
t_run "audit: an unwritable record does not fail a good restore (exit 0)" 0 \
	"${LB[@]}" restore --db "$(pg_uri audit_b)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_b --restore-name dr-5 --restore-namespace blocked \
	--result-path "$R70/audit5.json"
t_contains "audit: ... the log warns" "lifeboat warning: the audit record of restore blocked/dr-5 could not be written"
t_json "audit: ... the result says why in auditError, no auditRecord" "$R70/audit5.json" \
	"d['phase']=='Completed' and 'auditRecord' not in d and 'cannot create folder' in d['auditError'] and '_restores' in d['auditError']"
same_as "audit: ... and the database was restored" audit_b "$WORK/fixture.sums"
t_run "audit: an unwritable record keeps a failed restore's own reason (exit 13)" 13 \
	"${LB[@]}" restore --db "$(pg_uri sc_mis)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm sc_mis --schema-policy RequireMatch --schema-version-query "$Q70" \
	--restore-name dr-6 --restore-namespace blocked --result-path "$R70/audit6.json"
t_json "audit: ... SchemaMismatch and its message, plus auditError" "$R70/audit6.json" \
	"d['reason']=='SchemaMismatch' and d['message'].startswith('schema check refused the restore') and 'auditError' in d"

t_run "audit: --requested-by without --restore-name is refused (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri audit_d)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_d --requested-by alice
t_contains "audit: ... saying to give --restore-name" "--requested-by goes into the restore's audit record: give --restore-name"
long_who=$(printf 'x%.0s' $(seq 5000))
fresh_db audit_l
t_run "audit: an over-long --requested-by is cut, not refused" 0 \
	"${LB[@]}" restore --db "$(pg_uri audit_l)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_l --restore-name dr-long --requested-by "$long_who" \
	--result-path "$R70/audit-long.json"
t_contains "audit: ... with a warning" "--requested-by: 5000 bytes, cut to 4096 in the audit record"
t_true "audit: ... the record's requestedBy is 4096 bytes ending in ..." python3 -c "import json; r=json.load(open('$R70/audit-long.json')); d=json.load(open(r['auditRecord'][len('file://'):])); v=d['requestedBy']; assert len(v)==4096 and v.endswith('x...'), len(v)"
t_run "audit: a bad --safety-backup-sha256 is refused (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri audit_d)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_d --restore-name dr-7 --safety-backup-name s --safety-backup-sha256 XYZ
t_run "audit: a bad --restore-name is refused (exit 2) and writes nothing" 2 \
	"${LB[@]}" restore --db "$(pg_uri audit_d)" --storage "file://$STORE" --namespace sc --name v1 \
	--passphrase-file "$PASS" --confirm audit_d --restore-name Bad_Name
t_true "audit: ... no Bad_Name record anywhere" bash -c "! find '$STORE' -name 'Bad_Name*' | grep -q ."

# --- lifeboat audit ------------------------------------------------------------------
mkdir -p "$STORE/app/_restores/2025/01" "$STORE/app/_restores/2024/06" "$STORE/app/_restores/2025/02" "$STORE/other/_restores/2025/03"
cat >"$STORE/app/_restores/2025/01/aa-old.json" <<'JSON'
{"apiVersion": "lifeboat.dev/v1alpha1", "kind": "RestoreAudit", "restore": {"namespace": "app", "name": "aa-old"},
 "requestedBy": "carol", "startTime": "2025-01-15T00:00:00Z", "completionTime": "2025-01-15T00:01:00Z",
 "outcome": "Completed", "source": {"namespace": "app", "name": "nightly-1"}, "target": {"database": "appdb"}}
JSON
cat >"$STORE/app/_restores/2024/06/zz-older.json" <<'JSON'
{"apiVersion": "lifeboat.dev/v1alpha1", "kind": "RestoreAudit", "restore": {"namespace": "app", "name": "zz-older"},
 "startTime": "2024-06-01T00:00:00Z", "outcome": "Failed", "source": {"namespace": "app", "name": "nightly-0"}, "target": {"database": "appdb"}}
JSON
echo 'not json {' >"$STORE/app/_restores/2025/02/broken.json"
cat >"$STORE/other/_restores/2025/03/o1.json" <<'JSON'
{"apiVersion": "lifeboat.dev/v1alpha1", "kind": "RestoreAudit", "restore": {"namespace": "other", "name": "o1"},
 "startTime": "2025-03-01T00:00:00Z", "outcome": "Completed", "source": {"namespace": "other", "name": "b"}, "target": {"database": "o"}}
JSON
t_run "audit verb: lists every namespace's records" 0 "${LB[@]}" audit --storage "file://$STORE" --result-path "$R70/auditcmd.json"
printf '%s\n' "$T_OUT" >"$R70/audit.table"
t_true "audit verb: a header with time, namespace, restore, outcome, backup, target, requested by" \
	grep -qE '^TIME +NAMESPACE +RESTORE +OUTCOME +BACKUP +TARGET +REQUESTED BY$' "$R70/audit.table"
t_true "audit verb: dr-1's row shows its backup, database and who asked" \
	grep -qE ' app +dr-1 +Completed +sc/v1 +audit_t +alice@example.com \(groups: ops, system:authenticated\)$' "$R70/audit.table"
t_true "audit verb: the failed restore shows as Failed" grep -qE ' app +dr-2 +Failed +sc/v1 +sc_mis +-$' "$R70/audit.table"
order=$(grep -oE ' (dr-1|aa-old|zz-older|o1) ' "$R70/audit.table" | tr -d ' ' | tr '\n' ' ')
if [[ $order == "dr-1 o1 aa-old zz-older " ]]; then t_pass "audit verb: newest first (not in key order)"; else t_fail "audit verb: newest first (not in key order)" "order: $order"; fi
t_true "audit verb: an unreadable record is shown, not fatal" grep -qE 'Unreadable +file://.*/app/_restores/2025/02/broken.json: audit record: not a JSON object' "$R70/audit.table"
t_json "audit verb: the result file counts the records" "$R70/auditcmd.json" \
	"d['command']=='audit' and d['phase']=='Completed' and d['count']==$(find "$STORE" -path '*/_restores/*/*/*.json' | wc -l)"
t_run "audit verb: --namespace other" 0 "${LB[@]}" audit --storage "file://$STORE" --namespace other
if [[ $T_OUT == *" o1 "* && $T_OUT != *dr-1* ]]; then t_pass "audit verb: --namespace shows only that namespace"; else t_fail "audit verb: --namespace shows only that namespace" "$T_OUT"; fi
t_true "audit verb: --output json (LIFEBOAT_OUTPUT)" \
	bash -c "LIFEBOAT_OUTPUT=json ${LB[*]} audit --storage 'file://$STORE' --namespace app >'$R70/audit.out.json' 2>/dev/null"
t_json "audit verb: json: the records themselves, newest first, the broken one last with its error" "$R70/audit.out.json" \
	"(lambda n: n.index('dr-1') < n.index('aa-old') < n.index('zz-older') and n.index('dr-3') < n.index('aa-old') and len(d)==6)([r['restore']['name'] for r in d if 'restore' in r]) and 'broken.json' in d[-1]['location'] and 'not a JSON object' in d[-1]['error'] and any(r.get('requestedBy')=='alice@example.com (groups: ops, system:authenticated)' and r['schemaCheck']['result']=='Match' for r in d[:-1])"
t_run "audit verb: --output yaml is refused (exit 2)" 2 "${LB[@]}" audit --storage "file://$STORE" --output yaml
t_run "audit verb: --name does not apply (exit 2)" 2 "${LB[@]}" audit --storage "file://$STORE" --name x

# --- list and delete beside _restores -------------------------------------------------------
echo '{}' >"$STORE/app/_restores/stray.json" # not a record's path, but in the folder
t_true "list: backups beside _restores" \
	bash -c "${LB[*]} list --storage 'file://$STORE' --output json >'$R70/list.json' 2>/dev/null"
t_json "list: no _restores (or other _ folder) listed as a backup" "$R70/list.json" \
	"not any(i['name'].startswith('_') for i in d) and any(i['namespace']=='sc' and i['name']=='v1' for i in d)"
t_run "list --namespace app: table" 0 "${LB[@]}" list --storage "file://$STORE" --namespace app
if [[ $T_OUT != *_restores* ]]; then t_pass "list --namespace app: no _restores row"; else t_fail "list --namespace app: no _restores row" "$T_OUT"; fi
t_run "delete: _restores is not a backup name (exit 2)" 2 \
	"${LB[@]}" delete --storage "file://$STORE" --namespace app --name _restores
t_true "delete: ... and the records are still there" test -s "$REC1"
t_run "delete: a backup in a namespace with records" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --namespace app --name bk1 --passphrase-file "$PASS"
nrec=$(find "$STORE/app/_restores" -type f | wc -l)
t_run "delete: removes the backup" 0 "${LB[@]}" delete --storage "file://$STORE" --namespace app --name bk1
t_equals "delete: ... and the audit records are untouched" "$nrec" bash -c "find '$STORE/app/_restores' -type f | wc -l"
t_true "delete: bk1 is gone" test ! -e "$STORE/app/bk1/manifest.json"

pg_psql postgres -q -c "DROP DATABASE IF EXISTS rrole" -c "DROP ROLE IF EXISTS app_admin" >/dev/null
