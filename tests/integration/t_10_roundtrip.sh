# Round trips: the fixture database, per-table content identical after restore.

# Default backup: custom format, zstd, encrypted.
t_run "backup: default (custom, zstd:auto, encrypted) succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$PASS" --result-path "$WORK/rt1.result" \
	--schema-version-query "SELECT max(version) FROM schema_migrations"
t_contains "backup: result names the artifact's sha256" '"sha256":"'
t_true "backup: manifest written" test -s "$STORE/default/rt1/manifest.json"
t_true "backup: dump object named for format, compression, encryption and attempt" \
	bash -c "[[ \$(basename '$(dump_obj "$STORE/default/rt1")') =~ ^db-[0-9a-f]{8}\.dump\.zst\.pgp\$ ]] && test -s '$(dump_obj "$STORE/default/rt1")'"
t_true "backup: no partial object left" bash -c "! ls $STORE/default/rt1/*.partial 2>/dev/null"
t_true "backup: result file is valid JSON of at most 4096 bytes" \
	python3 -c "import json,sys,os; d=json.load(open('$WORK/rt1.result')); assert d['phase']=='Completed'; assert os.path.getsize('$WORK/rt1.result')<=4096"
t_true "backup: manifest records the schema version from the query" \
	python3 -c "import json; m=json.load(open('$STORE/default/rt1/manifest.json')); assert m['database']['schemaVersion']=='20261121000000', m['database']"
t_true "backup: manifest sha256 matches the stored object" \
	python3 -c "import json,hashlib; m=json.load(open('$STORE/default/rt1/manifest.json')); o=m['objects'][0]; d=open('$STORE/default/rt1/'+o['key'],'rb').read(); assert hashlib.sha256(d).hexdigest()==o['sha256'] and len(d)==o['size']"
t_true "backup: manifest records versions, table count and encryption parameters" \
	python3 -c "import json; m=json.load(open('$STORE/default/rt1/manifest.json')); assert m['postgresql']['serverVersion'].startswith('15'); assert m['database']['tableCount']>5; e=m['encryption']; assert e['enabled'] and e['cipher']=='AES256' and e['s2kCount']>=65536"

t_run "verify: a good backup verifies" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name rt1 --passphrase-file "$PASS"
t_contains "verify: method includes the MDC and pg_restore --list" 'sha256+mdc+pg_restore-list'

fresh_db target
t_run "restore: into an empty database" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$PASS" --confirm target
same_as "restore: every table, sequence, large object, view, function identical" target "$WORK/fixture.sums"

# Change the data, then restore over it with --clean.
pg_psql target -q -c "TRUNCATE inventory.order_lines CASCADE; CREATE TABLE public.stray(x int)" >/dev/null
t_run "restore --clean: over changed data" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$PASS" --confirm target --clean
pg_psql target -q -c "DROP TABLE IF EXISTS public.stray" >/dev/null
same_as "restore --clean: content identical again" target "$WORK/fixture.sums"

# Plain format, gzip; and no compression, no encryption.
t_run "backup: plain format with gzip" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name rt-plain \
	--passphrase-file "$PASS" --format plain --compression gzip:6
t_true "backup: plain object is db-<attempt>.sql.gz.pgp" \
	bash -c "[[ \$(basename '$(dump_obj "$STORE/default/rt-plain")') =~ ^db-[0-9a-f]{8}\.sql\.gz\.pgp\$ ]] && test -s '$(dump_obj "$STORE/default/rt-plain")'"
t_run "verify: plain backup verifies" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name rt-plain --passphrase-file "$PASS"
fresh_db target
t_run "restore: plain backup into an empty database" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "file://$STORE" --name rt-plain \
	--passphrase-file "$PASS" --confirm target
same_as "restore: plain backup content identical" target "$WORK/fixture.sums"

LIFEBOAT_DB="$(pg_uri fixture)" LIFEBOAT_STORAGE="file://$STORE" LIFEBOAT_NAME=rt-env \
	LIFEBOAT_NAMESPACE=team-a LIFEBOAT_COMPRESSION=none \
	t_run "backup: configured by environment only, unencrypted, no compression" 0 "${LB[@]}" backup
t_contains "backup: unencrypted backup warns" 'will NOT be encrypted'
t_true "backup: env namespace used, object is plain db-<attempt>.dump" \
	bash -c "[[ \$(basename '$(dump_obj "$STORE/team-a/rt-env")') =~ ^db-[0-9a-f]{8}\.dump\$ ]] && test -s '$(dump_obj "$STORE/team-a/rt-env")'"
t_true "backup: unencrypted, uncompressed object is a pg_dump archive" \
	bash -c "head -c 5 '$(dump_obj "$STORE/team-a/rt-env")' | grep -q PGDMP"
fresh_db target
LIFEBOAT_PASSPHRASE_FILE=/nonexistent t_run "restore: unencrypted backup via env, ignores passphrase needs" 0 \
	env -u LIFEBOAT_PASSPHRASE_FILE "${LB[@]}" restore --db "$(pg_uri target)" --storage "file://$STORE" \
	--namespace team-a --name rt-env --confirm target
same_as "restore: unencrypted backup content identical" target "$WORK/fixture.sums"

LIFEBOAT_PASSPHRASE='correct horse battery staple' t_run "verify: passphrase from LIFEBOAT_PASSPHRASE" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name rt1
