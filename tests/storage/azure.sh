#!/usr/bin/env bash
# The azure:// backend against Azurite (Microsoft's Azure Storage emulator,
# which enforces SharedKey and SAS signatures) and a real PostgreSQL: backup
# in several blocks, verify, list, restore, delete; wrong keys, SAS tokens,
# connection strings, a failed backup, retries and resumed reads through a
# fault proxy. Checks go to $LIFEBOAT_RESULTS via tests/lib/t.sh.
#   LIFEBOAT  the binary (default build/lifeboat)
#   T_SUITE   the suite's name in the results (default azure)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
T_SUITE=${T_SUITE:-azure}
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
read -r -a LB <<<"${LIFEBOAT:-$root/build/lifeboat}"
AZURITE=$root/tests/storage/node_modules/.bin/azurite-blob
TOOL=(/usr/bin/python3 "$here/azure_tool.py")
FAULT=(/usr/bin/python3 "$here/azure_fault.py")
# The emulator's well-known account and key (published by Microsoft).
ACCOUNT=devstoreaccount1
KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==

WORK=$(mktemp -d /tmp/lifeboat-azure.XXXXXX)
chmod 755 "$WORK"
AZ_PID=
FAULT_PID=
TLS_PID=
current=setup
stop_pid() { # pid (may be empty): SIGTERM, then reap it
	[[ -n ${1:-} ]] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	stop_pid "$FAULT_PID"
	stop_pid "$TLS_PID"
	stop_pid "$AZ_PID"
	pg_stop || true
	rm -rf "$WORK"
	return "$rc"
}
trap cleanup EXIT

if [[ ! -x $AZURITE ]]; then
	t_fail "azurite is installed" "$AZURITE is missing: run tests/setup-deps.sh (npm install into tests/storage)"
	exit 1
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port: until something accepts connections (10 s)
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Azurite in memory, under timeout, stopped by PID; -d logs each request's
# string-to-sign (kept for a failing run: $WORK is removed at the end).
AZ_PORT=$(free_port)
timeout -k 5 900 "$AZURITE" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence \
	--extentMemoryLimit 1024 --skipApiVersionCheck --disableTelemetry --silent \
	-d "$WORK/azurite-debug.log" >"$WORK/azurite.log" 2>&1 &
AZ_PID=$!
wait_port "$AZ_PORT" || { cat "$WORK/azurite.log"; exit 1; }
ENDPOINT=http://127.0.0.1:$AZ_PORT/$ACCOUNT
tool() { "${TOOL[@]}" "$ENDPOINT" "$ACCOUNT" "$KEY" "$@"; }
tool create-container backups
tool create-container other
URL="azure://backups/prod?account=$ACCOUNT&endpoint=$ENDPOINT"
SMALLBLOCKS="$URL&blockSize=4MiB"

pg_start >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE fixture' >/dev/null
pg_psql fixture -q -f "$root/tests/fixtures/fixture.sql" >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE big TEMPLATE fixture' >/dev/null
# md5 text compresses about 2:1: some 12 MiB stored, several 4 MiB blocks.
pg_psql big -q -c "CREATE TABLE public.bulk AS SELECT g, md5(g::text || random()::text) || md5(random()::text) AS h
	FROM generate_series(1, 330000) g" >/dev/null
pg_table_checksums fixture >"$WORK/fixture.sums"
pg_table_checksums big >"$WORK/big.sums"
PASS=$WORK/pass
echo 'correct horse battery staple' >"$PASS"
export AZURE_STORAGE_KEY=$KEY
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT

fresh_db() {
	pg_psql postgres -q -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
	pg_psql postgres -q -c "CREATE DATABASE \"$1\"" >/dev/null
}
same_as() { # name db sums
	pg_table_checksums "$2" >"$WORK/now.sums"
	t_same "$1" "$3" "$WORK/now.sums"
}
# blob_listed NAME PATTERN: whether the independent client lists a blob matching PATTERN.
blob_listed() { tool list backups "$1" | grep -q -- "$2"; }
# dump_blob FOLDER: the dump's blob name in FOLDER ("prod/default/nightly/"),
# as its manifest names it (each attempt writes db-<attempt>.dump...).
dump_blob() {
	tool get backups "$1manifest.json" "$WORK/dump_blob.manifest" &&
		/usr/bin/python3 -c "import json,sys; print(sys.argv[2] + json.load(open(sys.argv[1]))['objects'][0]['key'])" "$WORK/dump_blob.manifest" "$1"
}
no_secret() { # name: the key and SAS signature never appear in $T_OUT
	if [[ $T_OUT != *"$KEY"* && $T_OUT != *"${KEY:0:20}"* && $T_OUT != *"sig="* ]]; then
		t_pass "$1"
	else
		t_fail "$1" "a credential appears in the output"
	fi
}

current="backup in blocks"
echo "-- backup, verify, list, restore (shared key, 4 MiB blocks)"
t_run "backup: a database of several blocks succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "$SMALLBLOCKS" --name nightly \
	--passphrase-file "$PASS" --compression zstd:1 --result-path "$WORK/nightly.result" --log-level debug
no_secret "backup: neither the key nor a signature appears in the log"
t_true "backup: result location is the azure:// URL without credentials" \
	/usr/bin/python3 -c "import json; d=json.load(open('$WORK/nightly.result')); l=d['artifact']['location']; assert l=='azure://backups/prod/default/nightly/', l"
tool list backups prod/default/nightly/ >"$WORK/nightly.list"
NIGHTLY=$(dump_blob prod/default/nightly/)
t_true "backup: the dump (db-<attempt>.dump.zst.pgp) and the manifest are blobs under the prefix" \
	bash -c "[[ '$NIGHTLY' =~ ^prod/default/nightly/db-[0-9a-f]{8}\.dump\.zst\.pgp\$ ]] && grep -q '^$NIGHTLY	' '$WORK/nightly.list' && grep -q '^prod/default/nightly/manifest.json	' '$WORK/nightly.list'"
BLOCKS=$(tool blocks backups "$NIGHTLY")
if [[ $BLOCKS =~ ^committed\ ([0-9]+)\ uncommitted\ 0 ]] && ((BASH_REMATCH[1] >= 3)); then
	t_pass "backup: the dump was committed as a block list of 3 or more blocks ($BLOCKS)"
else
	t_fail "backup: the dump was committed as a block list of 3 or more blocks" "$BLOCKS"
fi
tool get backups prod/default/nightly/manifest.json "$WORK/manifest.json"
tool get backups "$NIGHTLY" "$WORK/nightly.dump"
t_true "backup: an independent client reads the blob; size and sha256 match the manifest" \
	/usr/bin/python3 -c "import json,hashlib; m=json.load(open('$WORK/manifest.json')); o=m['objects'][0]; d=open('$WORK/nightly.dump','rb').read(); assert len(d)==o['size'] and hashlib.sha256(d).hexdigest()==o['sha256']; assert len(d) > 8*1024*1024, len(d)"
t_true "backup: the blob opens with gpg" bash -c \
	"gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' -d '$WORK/nightly.dump' | zstd -dq | head -c 5 | grep -q PGDMP"

t_run "verify: the Azure backup verifies" 0 \
	"${LB[@]}" verify --storage "$SMALLBLOCKS" --name nightly --passphrase-file "$PASS"
t_contains "verify: method includes the MDC and pg_restore --list" 'sha256+mdc+pg_restore-list'

t_run "download: decrypted from Azure" 0 \
	"${LB[@]}" download --storage "$SMALLBLOCKS" --name nightly --passphrase-file "$PASS" --out "$WORK/nightly.pgdump"
t_true "download: equals gpg -d | zstd -d of the blob" bash -c \
	"gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' -d '$WORK/nightly.dump' | zstd -dq | cmp -s - '$WORK/nightly.pgdump'"
t_run "download: --raw from Azure" 0 \
	"${LB[@]}" download --storage "$SMALLBLOCKS" --name nightly --raw --out "$WORK/nightly.raw"
t_true "download: --raw output is the blob (the manifest's sha256)" cmp -s "$WORK/nightly.dump" "$WORK/nightly.raw"
rm -f "$WORK/nightly.pgdump" "$WORK/nightly.raw"
t_run "list: finds the backup from storage alone" 0 "${LB[@]}" list --storage "$URL"
if grep -E '^default +nightly +[0-9-]+T[0-9:]+Z +[0-9.]+ MiB +yes +[0-9-]+T[0-9:]+Z +Complete$' <<<"$T_OUT" >/dev/null; then
	t_pass "list: the backup is Complete, encrypted, sized in MiB, with its verification time"
else
	t_fail "list: the backup is Complete, encrypted, sized in MiB, with its verification time" "$T_OUT"
fi
t_run "list --output json" 0 "${LB[@]}" list --storage "$URL" --output json
t_true "list --output json: one Complete item" /usr/bin/python3 -c "
import json,sys; items=json.loads(sys.argv[1]); assert [i['status'] for i in items if i['name']=='nightly']==['Complete'], items" "$T_OUT"

fresh_db target
t_run "restore: from Azure into an empty database" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$SMALLBLOCKS" --name nightly \
	--passphrase-file "$PASS" --confirm target
same_as "restore: every table identical (per-table checksums)" target "$WORK/big.sums"
fresh_db target
t_run "audit: a restore with --restore-name writes its record to Azure" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$URL" --name nightly \
	--passphrase-file "$PASS" --confirm target --restore-name az-restore --requested-by carol \
	--result-path "$WORK/audit.result"
ym=$(/usr/bin/python3 -c "import json; print(json.load(open('$WORK/audit.result'))['startTime'][:7].replace('-', '/'))")
t_true "audit: auditRecord is azure://backups/prod/default/_restores/YYYY/MM/az-restore.json" \
	/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['auditRecord']==sys.argv[2], r.get('auditRecord')" \
	"$WORK/audit.result" "azure://backups/prod/default/_restores/$ym/az-restore.json"
tool get backups "prod/default/_restores/$ym/az-restore.json" "$WORK/audit.json" || true
t_true "audit: the record read back with the Azure client: Completed, the backup's sha256, no key" \
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); t=open(sys.argv[1]).read()
assert d['kind']=='RestoreAudit' and d['outcome']=='Completed' and d['requestedBy']=='carol' and d['source']['sha256']==r['restoredBackup']['sha256'], d
assert sys.argv[3] not in t and 'sig=' not in t" "$WORK/audit.json" "$WORK/audit.result" "$KEY"
t_run "audit: lifeboat audit lists it from Azure" 0 "${LB[@]}" audit --storage "$URL"
t_matches "audit: ... its row" ' default +az-restore +Completed +default/nightly +target +carol$'
t_run "show: the audit record from Azure" 0 "${LB[@]}" show --storage "$URL" --restore-name az-restore
t_matches "show: ... requestedBy line" '^requestedBy: +carol$'
t_true "show -o json: the record, plus its azure:// location" bash -c '"$@" >"$0"' "$WORK/show-rec.json" \
	"${LB[@]}" show --storage "$URL" --restore-name az-restore -o json
t_true "show -o json: ... equal to what the Azure client read" \
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); assert d.pop('location')==sys.argv[3] and d==r, d" \
	"$WORK/show-rec.json" "$WORK/audit.json" "azure://backups/prod/default/_restores/$ym/az-restore.json"
t_run "show: the backup's manifest from Azure" 0 "${LB[@]}" show --storage "$URL" --name nightly
t_matches "show: ... verified, encrypted" '^verification\.verified: +true$'
t_matches "show: ... its location has no key" '^location: +azure://backups/prod/default/nightly/$'
t_run "show: a missing backup on Azure is NotFound (exit 8)" 8 "${LB[@]}" show --storage "$URL" --name no-such

t_run "backup: the same name again is refused (exit 9)" 9 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$URL" --name nightly --passphrase-file "$PASS"
t_contains "backup: the refusal names the existing manifest" "azure://backups/prod/default/nightly/manifest.json"

current="small objects"
echo "-- a backup smaller than one block (one Put Blob), plain format, another namespace"
t_run "backup: a small backup (one Put Blob) succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$URL" --namespace team-a --name small \
	--format plain --compression gzip
tool list backups prod/team-a/small/ >"$WORK/small.list"
t_true "backup: the small dump is a single blob" grep -q 'db-[0-9a-f]\{8\}\.sql\.gz	' "$WORK/small.list"
fresh_db target
t_run "restore: the small plain backup" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$URL" --namespace team-a --name small --confirm target
same_as "restore: small backup content identical" target "$WORK/fixture.sums"
t_run "list --namespace team-a: only that namespace" 0 "${LB[@]}" list --storage "$URL" --namespace team-a
if [[ $T_OUT == *small* && $T_OUT != *nightly* ]]; then t_pass "list --namespace: filters"; else t_fail "list --namespace: filters" "$T_OUT"; fi

current="credentials"
echo "-- credentials: wrong key, SAS tokens, connection strings"
WRONGKEY=$(/usr/bin/python3 -c 'import base64,os; print(base64.b64encode(os.urandom(64)).decode())')
AZURE_STORAGE_KEY=$WRONGKEY t_run "wrong account key: backup fails with exit 4" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$URL" --name wrongkey --passphrase-file "$PASS"
t_contains "wrong account key: HTTP 403 is named" "HTTP 403"
if [[ $T_OUT == *AuthenticationFailed* || $T_OUT == *AuthorizationFailure* ]]; then
	t_pass "wrong account key: Azure's error code is named (Azurite says AuthorizationFailure)"
else
	t_fail "wrong account key: Azure's error code is named" "$T_OUT"
fi
t_contains "wrong account key: the message says what to check" "check that AZURE_STORAGE_KEY"
if [[ $T_OUT != *"$WRONGKEY"* && $T_OUT != *"${WRONGKEY:0:16}"* ]]; then t_pass "wrong account key: the key is not shown"; else t_fail "wrong account key: the key is not shown" "leaked"; fi
AZURE_STORAGE_KEY=$WRONGKEY t_run "wrong account key: list fails with exit 4" 4 "${LB[@]}" list --storage "$URL"
AZURE_STORAGE_KEY='not base64!' t_run "malformed account key: exit 2" 2 "${LB[@]}" list --storage "$URL"
t_contains "malformed account key: says it is not base64" "not valid base64"

SAS=$(tool sas rwdlac)
AZURE_STORAGE_SAS_TOKEN=$SAS t_run "SAS token: backup succeeds" 0 env -u AZURE_STORAGE_KEY \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$URL" --name sas1 --passphrase-file "$PASS" --log-level debug
no_secret "SAS token: the signature never appears in the log"
AZURE_STORAGE_SAS_TOKEN="?$SAS" t_run "SAS token (with a leading ?): verify succeeds" 0 env -u AZURE_STORAGE_KEY \
	"${LB[@]}" verify --storage "$URL" --name sas1 --passphrase-file "$PASS"
echo "$SAS" >"$WORK/sas.txt"
AZURE_STORAGE_SAS_TOKEN_FILE=$WORK/sas.txt t_run "SAS token from a file: list succeeds" 0 env -u AZURE_STORAGE_KEY \
	"${LB[@]}" list --storage "$URL"
t_contains "SAS token from a file: list shows the SAS backup" "sas1"
ROSAS=$(tool sas rl)
AZURE_STORAGE_SAS_TOKEN=$ROSAS t_run "read-only SAS token: backup fails with exit 4" 4 env -u AZURE_STORAGE_KEY \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$URL" --name rosas --passphrase-file "$PASS"
t_contains "read-only SAS token: HTTP 403 and what to check" "HTTP 403"
t_contains "read-only SAS token: the message says what to check" "SAS token is valid"
no_secret "read-only SAS token: the signature is not shown"
BADSAS=$(sed 's/sig=[^&]*/sig=AAAA/' <<<"$SAS")
AZURE_STORAGE_SAS_TOKEN=$BADSAS t_run "forged SAS token: list fails with exit 4" 4 env -u AZURE_STORAGE_KEY \
	"${LB[@]}" list --storage "$URL"
t_contains "forged SAS token: HTTP 403" "HTTP 403"

CONN="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=$ENDPOINT;"
AZURE_STORAGE_CONNECTION_STRING=$CONN t_run "connection string (account key): backup with a bare azure:// URL" 0 \
	env -u AZURE_STORAGE_KEY "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "azure://backups/prod" \
	--name conn1 --passphrase-file "$PASS" --log-level debug
no_secret "connection string: the key never appears in the log"
AZURE_STORAGE_CONNECTION_STRING="BlobEndpoint=$ENDPOINT;SharedAccessSignature=$SAS" t_run "connection string (SAS): verify" 0 \
	env -u AZURE_STORAGE_KEY "${LB[@]}" verify --storage "azure://backups/prod?account=$ACCOUNT" --name conn1 --passphrase-file "$PASS"
printf '%s\n' "$CONN" >"$WORK/conn.txt"
AZURE_STORAGE_CONNECTION_STRING_FILE=$WORK/conn.txt t_run "connection string from a file: list" 0 \
	env -u AZURE_STORAGE_KEY "${LB[@]}" list --storage "azure://backups/prod"
t_contains "connection string from a file: list shows conn1" "conn1"
AZURE_STORAGE_CONNECTION_STRING="AccountName=otheraccount;AccountKey=$KEY" t_run "connection string for another account than the URL: exit 2" 2 \
	env -u AZURE_STORAGE_KEY "${LB[@]}" list --storage "$URL"
t_run "no credentials at all: exit 2" 2 env -u AZURE_STORAGE_KEY "${LB[@]}" list --storage "$URL"
t_contains "no credentials: says which variables to set" "AZURE_STORAGE_SAS_TOKEN"
t_run "a credential in the URL is refused: exit 2" 2 "${LB[@]}" list --storage "$URL&sig=abc"
t_contains "a credential in the URL: says credentials never go in the URL" "never go in the URL"
t_run "bad container name: exit 2" 2 "${LB[@]}" list --storage "azure://Bad_Name/p?account=$ACCOUNT&endpoint=$ENDPOINT"
t_run "missing container: exit 4" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "azure://nosuch/p?account=$ACCOUNT&endpoint=$ENDPOINT" --name x
t_contains "missing container: ContainerNotFound and what to do" 'ContainerNotFound'
t_contains "missing container: says to create it" 'create container "nosuch"'
DEAD=$(free_port)
t_run "unreachable endpoint: exit 4 after bounded retries" 4 \
	"${LB[@]}" list --storage "azure://backups/p?account=$ACCOUNT&endpoint=http://127.0.0.1:$DEAD/$ACCOUNT&retries=2"
t_contains "unreachable endpoint: the message names the endpoint" "127.0.0.1:$DEAD"

current="tls"
echo "-- https: the certificate is verified; caFile adds a CA"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.pem" -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
TLS_PORT=$(free_port)
timeout -k 5 900 "$AZURITE" --blobHost 127.0.0.1 --blobPort "$TLS_PORT" --inMemoryPersistence \
	--extentMemoryLimit 256 --skipApiVersionCheck --disableTelemetry --silent \
	--cert "$WORK/tls.pem" --key "$WORK/tls.key" >"$WORK/azurite-tls.log" 2>&1 &
TLS_PID=$!
wait_port "$TLS_PORT" || { cat "$WORK/azurite-tls.log"; exit 1; }
TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT/$ACCOUNT
SSL_CERT_FILE=$WORK/tls.pem "${TOOL[@]}" "$TLS_ENDPOINT" "$ACCOUNT" "$KEY" create-container backups
TURL="azure://backups/tls?account=$ACCOUNT&endpoint=$TLS_ENDPOINT"
t_run "https: a certificate from an unknown CA is refused (exit 4)" 4 \
	"${LB[@]}" list --storage "$TURL&retries=1" --result-path "$WORK/tls-refused.json"
t_contains "https: the message names the certificate problem" "certificate"
t_contains "https: ... and how to give the CA (the same error form as S3 and GCS)" "give the CA that signed it with caFile="
t_true "https: the result's reason is TLSError, not StorageError" \
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['reason']=='TLSError', d" "$WORK/tls-refused.json"
t_run "https: with caFile, a backup succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$TURL&caFile=$WORK/tls.pem" --name tls1 --passphrase-file "$PASS"
t_run "https: with caFile, verify succeeds" 0 \
	"${LB[@]}" verify --storage "$TURL&caFile=$WORK/tls.pem" --name tls1 --passphrase-file "$PASS"
t_run "https: a caFile without a certificate is refused (exit 2)" 2 \
	"${LB[@]}" list --storage "$TURL&caFile=$WORK/tls.key"
stop_pid "$TLS_PID"
TLS_PID=

current="failed backup"
echo "-- a backup whose pg_dump fails after several blocks went up"
# A pg_dump that writes 14 MB of a real dump, then fails: lifeboat has
# uploaded blocks by then, and must commit none of them.
mkdir -p "$WORK/failbin"
cat >"$WORK/failbin/pg_dump" <<SH
#!/bin/bash
[[ \$1 == --version ]] && exec "$PGTEST_BIN/pg_dump" --version
"$PGTEST_BIN/pg_dump" "\$@" | head -c 14000000
exit 1
SH
chmod +x "$WORK/failbin/pg_dump"
ln -s "$PGTEST_BIN/pg_restore" "$PGTEST_BIN/psql" "$WORK/failbin/"
LIFEBOAT_PG_BINDIR=$WORK/failbin t_run "failed backup: pg_dump failing mid-stream gives exit 3" 3 \
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "$SMALLBLOCKS" --name failed --compression none
# No manifest names it: the job's log does ("attempt ...: writing db-....dump").
FAILED_BLOB=prod/default/failed/$(grep -o 'writing db-[0-9a-f]*\.dump' <<<"$T_OUT" | head -1 | cut -d' ' -f2)
BLOCKS=$(tool blocks backups "$FAILED_BLOB")
if [[ $BLOCKS =~ ^committed\ 0\ uncommitted\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 2)); then
	t_pass "failed backup: blocks were uploaded but no block list was committed ($BLOCKS)"
else
	t_fail "failed backup: blocks were uploaded but no block list was committed" "$BLOCKS"
fi
if ! blob_listed prod/default/failed/ .; then t_pass "failed backup: no blob and no manifest are visible"; else t_fail "failed backup: no blob and no manifest are visible" "$(tool list backups prod/default/failed/)"; fi
t_run "failed backup: list does not show it" 0 "${LB[@]}" list --storage "$URL"
if [[ $T_OUT != *failed* ]]; then t_pass "failed backup: absent from list"; else t_fail "failed backup: absent from list" "$T_OUT"; fi

current="split"
echo "-- a dump of several blobs: the blocks a blob may have, lowered for the test"
LIFEBOAT_TEST_MAX_PARTS=2 t_run "split: a backup in blobs of 2 blocks of 4 MiB succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$SMALLBLOCKS" --name split \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/split.result"
tool get backups prod/default/split/manifest.json "$WORK/split.manifest"
PY=/usr/bin/python3
t_true "split: the manifest lists 2 or more blobs of 8 MiB (the last shorter)" \
	$PY -c "import json,sys; m=json.load(open(sys.argv[1])); o=m['objects']; k=[x['key'] for x in o]
assert len(o) >= 2 and all(x == k[0] + ('' if i == 0 else '.%04d' % (i + 1)) for i, x in enumerate(k)), k
assert all(x['size'] == int(sys.argv[2]) for x in o[:-1]) and o[-1]['size'] <= int(sys.argv[2]), o" "$WORK/split.manifest" $((8 << 20))
rm -f "$WORK/split.stream"
for key in $($PY -c "import json,sys; print(' '.join(x['key'] for x in json.load(open(sys.argv[1]))['objects']))" "$WORK/split.manifest" 2>/dev/null); do
	tool get backups "prod/default/split/$key" "$WORK/split.piece" && cat "$WORK/split.piece" >>"$WORK/split.stream"
done
t_true "split: the blobs as the Azure client reads them, concatenated, are the stream the manifest and result name" \
	$PY -c "import json,hashlib,sys; m=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); d=hashlib.sha256(open(sys.argv[3],'rb').read()).hexdigest(); assert d==m['stream']['sha256']==r['artifact']['sha256'], (d, m.get('stream'), r['artifact'])" \
	"$WORK/split.manifest" "$WORK/split.result" "$WORK/split.stream"
rm -f "$WORK/split.stream" "$WORK/split.piece"
t_run "split: verify reads the blobs in order" 0 "${LB[@]}" verify --storage "$SMALLBLOCKS" --name split --passphrase-file "$PASS"
fresh_db target
t_run "split: restore from several blobs" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$SMALLBLOCKS" --name split --passphrase-file "$PASS" --confirm target
same_as "split: every table identical" target "$WORK/fixture.sums"
t_run "split: delete removes every blob" 0 "${LB[@]}" delete --storage "$SMALLBLOCKS" --name split

current="two at once"
echo "-- two runs of one backup at once: the manifest created only if absent"
# A pg_dump slowed to 1 MiB per 0.3 s: the slow run still dumps when the
# fast one has finished.
mkdir -p "$WORK/slowbin"
cat >"$WORK/slowbin/pg_dump" <<SH
#!/bin/bash
[[ \$1 == --version ]] && exec "$PGTEST_BIN/pg_dump" --version
"$PGTEST_BIN/pg_dump" "\$@" | /usr/bin/python3 -c '
import sys, time
while True:
    b = sys.stdin.buffer.read(1 << 20)
    if not b:
        break
    sys.stdout.buffer.write(b); sys.stdout.buffer.flush(); time.sleep(0.3)
'
SH
chmod +x "$WORK/slowbin/pg_dump"
ln -sf "$PGTEST_BIN/pg_restore" "$PGTEST_BIN/psql" "$WORK/slowbin/"
LIFEBOAT_PG_BINDIR=$WORK/slowbin "${LB[@]}" backup --db "$(pg_uri big)" --storage "$SMALLBLOCKS" \
	--name twice --passphrase-file "$PASS" --compression none >"$WORK/slow.out" 2>&1 &
bg=$!
sleep 1
t_run "two at once: the fast run completes while the slow one still dumps" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$SMALLBLOCKS" --name twice --passphrase-file "$PASS" \
	--compression none --result-path "$WORK/fast.result"
rc=0
wait "$bg" || rc=$?
T_OUT=$(cat "$WORK/slow.out")
if [[ $rc == 9 ]]; then t_pass "two at once: the slow run is refused at the manifest (exit 9)"; else t_fail "two at once: the slow run is refused at the manifest (exit 9)" "exit $rc: $(tail -c 800 "$WORK/slow.out")"; fi
t_contains "two at once: ... it says another run completed first" "another run of backup default/twice completed first"
t_contains "two at once: ... Azure refused the manifest (If-None-Match: *)" "manifest.json: Put Blob: HTTP 409: another writer created the blob first"
n=$(tool list backups prod/default/twice/ | wc -l)
t_equals "two at once: ... it removed its own blob: the manifest and the winner's dump remain" "2" echo "$n"
t_run "two at once: the backup that completed verifies" 0 \
	"${LB[@]}" verify --storage "$SMALLBLOCKS" --name twice --passphrase-file "$PASS"
tool get backups prod/default/twice/manifest.json "$WORK/twice.manifest"
t_true "two at once: ... and is the fast run's (its sha256)" /usr/bin/python3 -c "import json,sys; f=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); assert m['objects'][0]['sha256']==f['artifact']['sha256'], (m, f)" \
	"$WORK/fast.result" "$WORK/twice.manifest"

current="faults"
echo "-- retries and resumed reads through a fault proxy"
FAULT_PORT=$(free_port)
"${FAULT[@]}" --listen "$FAULT_PORT" --target "$AZ_PORT" --log "$WORK/fault.log" &
FAULT_PID=$!
wait_port "$FAULT_PORT" || { t_fail "fault proxy starts" "no listener"; exit 1; }
FURL="azure://backups/prod?account=$ACCOUNT&endpoint=http://127.0.0.1:$FAULT_PORT/$ACCOUNT&blockSize=4MiB"
fault() { curl -fsS -X POST "http://127.0.0.1:$FAULT_PORT/_fault/$1" >/dev/null; }
fault "503?match=comp%3Dblock%26&count=2"
fault "429?match=comp%3Dblocklist&count=1"
t_run "faults: a backup through 503s and a 429 (Retry-After) succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "$FURL" --name faulty \
	--passphrase-file "$PASS" --compression zstd:1 --log-level debug
t_contains "faults: the retries are logged" "retrying in"
t_true "faults: the proxy served the 503s and the 429" bash -c "[[ \$(grep -c 'injected 503' '$WORK/fault.log') -eq 2 && \$(grep -c 'injected 429' '$WORK/fault.log') -eq 1 ]]"
fault "cut?match=.dump&after=3000000&count=2"
t_run "faults: verify through two broken downloads succeeds (resumed with Range)" 0 \
	"${LB[@]}" verify --storage "$FURL" --name faulty --passphrase-file "$PASS"
t_contains "faults: the resumes are logged" "resuming there"
t_true "faults: the proxy cut two downloads" bash -c "[[ \$(grep -c 'cut after' '$WORK/fault.log') -eq 2 ]]"
t_true "faults: the resumed requests asked for a Range" grep -q 'Range: bytes=' "$WORK/fault.log"
fault "500?match=comp%3Dblock%26&count=100"
t_run "faults: a service failing every retry gives exit 4" 4 \
	"${LB[@]}" backup --db "$(pg_uri big)" --storage "$FURL&retries=2" --name faulty2 --compression none
t_contains "faults: the error names the operation and the status" "Put Block"
t_contains "faults: ... and HTTP 500" "HTTP 500"
fault "reset"
if ! blob_listed prod/default/faulty2/ .; then t_pass "faults: the failed upload left nothing visible"; else t_fail "faults: the failed upload left nothing visible" "$(tool list backups prod/default/faulty2/)"; fi
stop_pid "$FAULT_PID"
FAULT_PID=

current="delete"
echo "-- delete"
t_true "list -o json before delete" bash -c '"$@" >"$0"' "$WORK/list.json" "${LB[@]}" list --storage "$URL" --namespace default -o json
tool list backups prod/default/nightly/ >"$WORK/nightly-blobs.txt" || true
t_true "list -o json: storedBytes and storedObjects of nightly equal the Azure client's listing" \
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); c=[int(l.split()[-1]) for l in open(sys.argv[2]) if l.strip()]; b=[x for x in d if x['name']=='nightly'][0]
assert (b['storedBytes'], b['storedObjects'])==(sum(c), len(c)) and len(c)==3, (b, c)" "$WORK/list.json" "$WORK/nightly-blobs.txt"
t_run "delete: removes a backup" 0 "${LB[@]}" delete --storage "$URL" --name nightly --result-path "$WORK/delete.result"
t_true "delete: freedBytes equals the blobs' sizes" \
	/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); c=[int(l.split()[-1]) for l in open(sys.argv[2]) if l.strip()]; assert r['freedBytes']==sum(c) and r['deletedObjects']==len(c), r" \
	"$WORK/delete.result" "$WORK/nightly-blobs.txt"
t_contains "delete: counts the objects (dump, manifest, verified.json)" '"deletedObjects":3'
if ! blob_listed prod/default/nightly/ .; then t_pass "delete: no blob is left"; else t_fail "delete: no blob is left" "$(tool list backups prod/default/nightly/)"; fi
t_run "delete: again gives exit 8" 8 "${LB[@]}" delete --storage "$URL" --name nightly
t_run "verify: a deleted backup gives exit 8" 8 "${LB[@]}" verify --storage "$URL" --name nightly --passphrase-file "$PASS"
for n in sas1 conn1 faulty twice; do
	t_run "delete: $n" 0 "${LB[@]}" delete --storage "$URL" --name "$n"
done
t_run "delete: team-a/small" 0 "${LB[@]}" delete --storage "$URL" --namespace team-a --name small
t_run "list: empty after the deletes" 0 "${LB[@]}" list --storage "$URL" --output json
t_true "list: nothing left" /usr/bin/python3 -c "import json,sys; assert json.loads(sys.argv[1])==[]" "$T_OUT"
current=done
