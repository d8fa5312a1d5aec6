#!/usr/bin/env bash
# The gs:// backend's JSON API with a service-account key, against real
# peers: fake-gcs-server (tests/peers/build.sh fakegcs: GCS's JSON API,
# resumable uploads, ifGenerationMatch), behind tests/storage/gcs_auth.py,
# which is Google's side of the login (an OAuth 2.0 token endpoint that
# verifies the RS256 JWT with the account's public key, and a bearer check on
# every request) and injects faults; curl on fake-gcs-server's own JSON API
# is the independent client; a throwaway PostgreSQL.
#   LIFEBOAT   the binary (or a wrapper command)
#   T_SUITE    the name results are recorded under (gcs, gcs-asan)
# Peers run under `timeout` on free loopback ports and are stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
T_SUITE=${T_SUITE:-gcs}
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
read -r -a LB <<<"${LIFEBOAT:?set LIFEBOAT to the lifeboat binary}"
PY=/usr/bin/python3
BUCKET=lifeboat-gcs
PREFIX='prefix/with space+plus&=$ü'

WORK=$(mktemp -d /tmp/lifeboat-gcs.XXXXXX)
chmod 755 "$WORK"
PIDS=()
current=setup
cleanup() {
	local rc=$?
	[[ $rc -ne 0 ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	pg_stop || true
	rm -rf "$WORK"
	return "$rc"
}
trap cleanup EXIT

FAKEGCS=$(timeout 1800 "$root/tests/peers/build.sh" fakegcs) || { t_fail "setup" "fake-gcs-server did not build (tests/peers/build.sh fakegcs)"; exit 1; }
$PY -c 'import cryptography' 2>/dev/null || { t_fail "setup" "python3-cryptography is missing: run make deps"; exit 1; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the service account -------------------------------------------------
# A key made here, as IAM makes one: RSA 2048, PKCS#8 PEM, in Google's key
# file format; only its public half goes to the token endpoint.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/sa.pem" 2>/dev/null
openssl pkey -in "$WORK/sa.pem" -pubout -out "$WORK/sa.pub"
EMAIL=lifeboat-backup@acme-test.iam.gserviceaccount.com
KID=$(openssl rand -hex 20)
GCSPORT=$(free_port)
AUTHPORT=$(free_port)
make_key() { # FILE PEM [TYPE]
	$PY - "$1" "$2" "${3:-service_account}" "$KID" "$EMAIL" "http://127.0.0.1:$AUTHPORT/token" <<'PYEOF'
import json, sys
out, pem, typ, kid, email, uri = sys.argv[1:]
json.dump({"type": typ, "project_id": "acme-test", "private_key_id": kid,
           "private_key": open(pem).read(), "client_email": email,
           "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
           "token_uri": uri}, open(out, "w"), indent=2)
PYEOF
}
make_key "$WORK/key.json" "$WORK/sa.pem"
chmod 600 "$WORK/key.json"

# --- peers ---------------------------------------------------------------
# Upload sessions point at the proxy, so every chunk passes the bearer check.
timeout 900 "$FAKEGCS" -scheme http -host 127.0.0.1 -port "$GCSPORT" -backend memory \
	-public-host "127.0.0.1:$GCSPORT" -external-url "http://127.0.0.1:$AUTHPORT" -log-level warn \
	>"$WORK/fakegcs.log" 2>&1 &
PIDS+=($!)
timeout 900 $PY "$here/gcs_auth.py" --upstream "http://127.0.0.1:$GCSPORT" --port "$AUTHPORT" \
	--public-key "$WORK/sa.pub" --client-email "$EMAIL" --key-id "$KID" \
	--port-file "$WORK/auth.port" 2>"$WORK/auth.log" &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	[[ -s $WORK/auth.port ]] && curl -s -o /dev/null "http://127.0.0.1:$GCSPORT/storage/v1/b" && break
	sleep 0.1
done
G="http://127.0.0.1:$GCSPORT" # fake-gcs-server itself: the independent client's way in
curl -s -f -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$BUCKET\"}" \
	"$G/storage/v1/b?project=acme-test" || { t_fail "setup" "fake-gcs-server did not start: $(tail -5 "$WORK/fakegcs.log")"; exit 1; }

export GOOGLE_APPLICATION_CREDENTIALS="$WORK/key.json"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SHARED_CREDENTIALS_FILE AWS_PROFILE
GSURL="gs://$BUCKET/$PREFIX?endpoint=http://127.0.0.1:$AUTHPORT&partSize=5MiB&maxKeys=2&stallTimeout=3"

stats() { # EXPR over the proxy's counters (d); prints the value
	curl -s "http://127.0.0.1:$AUTHPORT/__gcs/stats" >"$WORK/auth.json"
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); o=d["ops"]; print(eval(sys.argv[2]))' "$WORK/auth.json" "$1"
}
t_stat() {
	local v
	v=$(stats "$2" 2>&1)
	if [[ $v == True ]]; then t_pass "$1"; else t_fail "$1" "$2 is $v; proxy: $(head -c 1500 "$WORK/auth.json")"; fi
}
rules() { curl -s -X POST --data-binary "$1" "http://127.0.0.1:$AUTHPORT/__gcs/rules" >/dev/null; }
fault_reset() { curl -s -X POST "http://127.0.0.1:$AUTHPORT/__gcs/reset" >/dev/null; }
urlenc() { $PY -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# objects PREFIX: "name size" lines, as fake-gcs-server lists them (every page).
objects() {
	$PY - "$G" "$BUCKET" "$1" <<'PYEOF'
import json, sys, urllib.parse, urllib.request
g, bucket, prefix = sys.argv[1:]
token = None
while True:
    q = {"prefix": prefix, "maxResults": "1000"}
    if token:
        q["pageToken"] = token
    d = json.load(urllib.request.urlopen(f"{g}/storage/v1/b/{bucket}/o?" + urllib.parse.urlencode(q)))
    for it in d.get("items", []):
        print(it["name"], it["size"])
    token = d.get("nextPageToken")
    if not token:
        break
PYEOF
}
fetch() { curl -s -f -o "$2" "$G/storage/v1/b/$BUCKET/o/$(urlenc "$1")?alt=media"; }
no_backup() { # NAME LABEL: no object under the backup's folder
	local n
	n=$(objects "$PREFIX/default/$1/" | wc -l)
	if [[ $n == 0 ]]; then t_pass "$2"; else t_fail "$2" "$n objects under $PREFIX/default/$1/: $(objects "$PREFIX/default/$1/")"; fi
}

# --- database ------------------------------------------------------------
pg_start >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE fixture' >/dev/null
pg_psql fixture -q -f "$root/tests/fixtures/fixture.sql" >/dev/null
# Incompressible rows so a backup spans several 5 MiB chunks.
pg_psql fixture -q -c "CREATE TABLE public.noise AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t
	FROM generate_series(1, 150000) g" >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE small' >/dev/null
pg_psql small -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g" >/dev/null
pg_table_checksums fixture >"$WORK/fixture.sums"
PASS="$WORK/pass"
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo 'correct horse battery staple' >"$PASS"
fresh_db() { pg_psql postgres -q -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\"" >/dev/null; }
same_as() { # label db sums
	pg_table_checksums "$2" >"$WORK/now.sums"
	t_same "$1" "$3" "$WORK/now.sums"
}
# A pg_dump that writes its output slowly (seconds), for the runs that need
# time to pass mid-upload: token expiry and two runs of one backup at once.
mkdir -p "$WORK/slowbin"
cat >"$WORK/slowbin/pg_dump" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/pg_dump --version
$PGTEST_BIN/pg_dump "\$@" | $PY -c '
import os, sys, time
pause = float(os.environ.get("SLOW_SECONDS", "0.5"))
while True:
    b = sys.stdin.buffer.read(1 << 20)
    if not b:
        break
    sys.stdout.buffer.write(b); sys.stdout.buffer.flush(); time.sleep(pause)
'
SH
chmod +x "$WORK/slowbin/pg_dump"

# --- the full cycle, several chunks ----------------------------------------
current="full cycle"
t_run "backup: a resumable upload in several chunks, as the service account" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name big \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/big.result"
t_stat "backup: one token for the whole run (cached), the JWT accepted" 'd["grants"] == 1 and not d["badAssertions"]'
t_stat "backup: one session per object, chunks then the last one with the size" 'o.get("initiate",0) >= 2 and o.get("chunk",0) >= 2 and o.get("finalize",0) >= 2'
t_stat "backup: every request had a live bearer token" 'd["unauthorized"] == 0'
t_true "backup: peak RSS under 64 MiB" $PY -c "import json; r=json.load(open('$WORK/big.result')); assert r['peakRssKiB'] <= 65536, r['peakRssKiB']"
t_true "backup: the dump spans several chunks" $PY -c "import json; r=json.load(open('$WORK/big.result')); assert r['artifact']['size'] > 15*1024*1024, r['artifact']"
fetch "$PREFIX/default/big/manifest.json" "$WORK/big.manifest" || true
BIG_KEY=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['objects'][0]['key'])" "$WORK/big.manifest" 2>/dev/null || echo missing)
t_true "backup: the dump object is db-<attempt>.dump.pgp" bash -c "[[ '$BIG_KEY' =~ ^db-[0-9a-f]{8}\.dump\.pgp\$ ]]"
fetch "$PREFIX/default/big/$BIG_KEY" "$WORK/big.dump.pgp" || true
t_true "fake-gcs-server's own API serves the object: byte-identical to the manifest's sha256" \
	$PY -c "import json,hashlib; m=json.load(open('$WORK/big.manifest')); o=m['objects'][0]; d=open('$WORK/big.dump.pgp','rb').read(); assert len(d)==o['size'] and hashlib.sha256(d).hexdigest()==o['sha256']"
t_true "the object read outside lifeboat opens with gpg" bash -c "gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' --decrypt '$WORK/big.dump.pgp' | head -c 5 | grep -q PGDMP"
rm -f "$WORK/big.dump.pgp"
t_run "verify: the chunked backup verifies" 0 "${LB[@]}" verify --storage "$GSURL" --name big --passphrase-file "$PASS"
t_run "download: --raw from gs" 0 "${LB[@]}" download --storage "$GSURL" --name big --raw --out "$WORK/big.raw"
t_true "download: --raw output's sha256 is the manifest's" \
	$PY -c "import json,hashlib; m=json.load(open('$WORK/big.manifest')); o=m['objects'][0]; d=open('$WORK/big.raw','rb').read(); assert hashlib.sha256(d).hexdigest()==o['sha256']"
rm -f "$WORK/big.raw"
t_run "list: shows the backup (pages of 2: page tokens)" 0 "${LB[@]}" list --storage "$GSURL"
t_contains "list: backup big" "big"
t_stat "list: objects.list continued with a page token" 'o.get("listPage2",0) >= 1'
fresh_db target
t_run "restore: from gs into an empty database" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$GSURL" --name big --passphrase-file "$PASS" --confirm target
same_as "restore: every table identical" target "$WORK/fixture.sums"

# A dump of several objects: the test lowers the parts an object may have.
LIFEBOAT_TEST_MAX_PARTS=2 t_run "split: a backup in objects of 2 chunks of 5 MiB succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name split \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/split.result"
fetch "$PREFIX/default/split/manifest.json" "$WORK/split.manifest" || true
t_true "split: the manifest lists 2 or more objects of 10 MiB (the last shorter)" \
	$PY -c "import json,sys; m=json.load(open(sys.argv[1])); o=m['objects']; k=[x['key'] for x in o]
assert len(o) >= 2 and all(x == k[0] + ('' if i == 0 else '.%04d' % (i + 1)) for i, x in enumerate(k)), k
assert all(x['size'] == int(sys.argv[2]) for x in o[:-1]) and o[-1]['size'] <= int(sys.argv[2]), o" "$WORK/split.manifest" $((10 << 20))
rm -f "$WORK/split.stream"
for key in $($PY -c "import json,sys; print(' '.join(x['key'] for x in json.load(open(sys.argv[1]))['objects']))" "$WORK/split.manifest" 2>/dev/null); do
	fetch "$PREFIX/default/split/$key" "$WORK/split.piece" && cat "$WORK/split.piece" >>"$WORK/split.stream"
done
t_true "split: the objects as fake-gcs-server serves them, concatenated, are the stream the manifest and result name" \
	$PY -c "import json,hashlib,sys; m=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); d=hashlib.sha256(open(sys.argv[3],'rb').read()).hexdigest(); assert d==m['stream']['sha256']==r['artifact']['sha256'], (d, m.get('stream'), r['artifact'])" \
	"$WORK/split.manifest" "$WORK/split.result" "$WORK/split.stream"
rm -f "$WORK/split.stream" "$WORK/split.piece"
t_run "split: verify reads the objects in order" 0 "${LB[@]}" verify --storage "$GSURL" --name split --passphrase-file "$PASS"
fresh_db target
t_run "split: restore from several objects" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$GSURL" --name split --passphrase-file "$PASS" --confirm target
same_as "split: every table identical" target "$WORK/fixture.sums"
t_run "split: delete removes every object" 0 "${LB[@]}" delete --storage "$GSURL" --name split

t_run "backup: a small backup (one session, one request with its bytes)" 0 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$GSURL" --name small --passphrase-file "$PASS"
t_run "backup: the same name again is refused (exit 9)" 9 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$GSURL" --name small --passphrase-file "$PASS"
t_run "verify: a missing backup is NotFound (exit 8)" 8 "${LB[@]}" verify --storage "$GSURL" --name nosuch --passphrase-file "$PASS"
t_run "show: a backup's manifest from gs" 0 "${LB[@]}" show --storage "$GSURL" --name big
t_matches "show: ... verified (verify ran above)" '^verification\.verified: +true$'

# --- the restore's audit record ---------------------------------------------
current="audit record"
fresh_db target
t_run "audit: a restore with --restore-name writes its record to gs" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$GSURL" --name small --passphrase-file "$PASS" \
	--confirm target --restore-name gs-restore --restore-namespace app --requested-by alice --no-safety-backup \
	--result-path "$WORK/audit.result"
AREC=$($PY -c "import json; print(json.load(open('$WORK/audit.result'))['auditRecord'])")
t_true "audit: auditRecord is gs://BUCKET/PREFIX/app/_restores/YYYY/MM/gs-restore.json" \
	bash -c "[[ '$AREC' == 'gs://$BUCKET/$PREFIX/app/_restores/'????/??/gs-restore.json ]]"
fetch "${AREC#gs://"$BUCKET"/}" "$WORK/audit.json" || true
t_true "audit: fake-gcs-server serves the record: Completed, no secret in it" \
	$PY -c "import json,sys; t=open(sys.argv[1]).read(); d=json.loads(t); assert d['outcome']=='Completed' and d['requestedBy']=='alice', d
assert 'PRIVATE KEY' not in t and 'ya29' not in t and 'correct horse' not in t" "$WORK/audit.json"
t_run "audit: lifeboat audit lists it from gs" 0 "${LB[@]}" audit --storage "$GSURL" --namespace app
t_contains "audit: ... the restore's row" "gs-restore"

# --- tokens: expiry, refresh, revocation -----------------------------------
current="tokens"
fault_reset
curl -s -X POST -d '{"expiresIn": 3}' "http://127.0.0.1:$AUTHPORT/__gcs/config" >/dev/null
SLOW_SECONDS=0.4 LIFEBOAT_PG_BINDIR=$WORK/slowbin t_run "tokens: a backup outliving three-second tokens completes" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name slow --passphrase-file "$PASS" --compression none
t_stat "tokens: refreshed before expiry (several grants), never sent expired" 'd["grants"] >= 3 and d["expiredRefused"] == 0 and d["unauthorized"] == 0'
t_run "tokens: ... and what it stored verifies" 0 "${LB[@]}" verify --storage "$GSURL" --name slow --passphrase-file "$PASS"
curl -s -X POST -d '{"expiresIn": 3600}' "http://127.0.0.1:$AUTHPORT/__gcs/config" >/dev/null
fault_reset
SLOW_SECONDS=0.4 LIFEBOAT_PG_BINDIR=$WORK/slowbin "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" \
	--name revoked --passphrase-file "$PASS" --compression none >"$WORK/revoked.out" 2>&1 &
bg=$!
sleep 3
curl -s -X POST "http://127.0.0.1:$AUTHPORT/__gcs/revoke" >/dev/null
rc=0
wait "$bg" || rc=$?
T_OUT=$(cat "$WORK/revoked.out")
if [[ $rc == 0 ]]; then t_pass "tokens: a token revoked mid-backup: 401, a new token, the backup completes"; else t_fail "tokens: a token revoked mid-backup: 401, a new token, the backup completes" "exit $rc: $(tail -c 800 "$WORK/revoked.out")"; fi
t_contains "tokens: ... the 401 is logged" "the access token was refused (HTTP 401); fetching a new one"
t_stat "tokens: ... a refused request, then a second grant" 'd["unauthorized"] >= 1 and d["grants"] == 2'
t_run "tokens: ... and it verifies" 0 "${LB[@]}" verify --storage "$GSURL" --name revoked --passphrase-file "$PASS"

# --- writing with faults -----------------------------------------------------
current="write faults"
fault_reset
rules '[{"name":"c503","op":"chunk","status":503,"times":2},{"name":"tok503","op":"token","status":503,"times":1}]'
t_run "backup: a 503 from the token endpoint and two 503s on a chunk: retried, completed" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name retried --passphrase-file "$PASS" --compression none
t_stat "backup: both faults fired; the upload's status was asked before resending" 'd["fired"].get("c503")==2 and d["fired"].get("tok503")==1 and d["statusQueries"] >= 2'
t_run "verify: the retried backup verifies" 0 "${LB[@]}" verify --storage "$GSURL" --name retried --passphrase-file "$PASS"
fault_reset
rules '[{"name":"half","op":"chunk","keep":1500000,"times":1}]'
t_run "backup: a chunk cut after 1.5 MB: resumed from the 256 KiB the server kept" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name resumed --passphrase-file "$PASS" --compression none
t_stat "backup: the cut fired and the status query found the partial chunk" 'd["fired"].get("half")==1 and d["statusQueries"] >= 1'
t_run "verify: the resumed upload is byte-exact (its sha256 verifies)" 0 "${LB[@]}" verify --storage "$GSURL" --name resumed --passphrase-file "$PASS"
fresh_db target
t_run "restore: ... and restores" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$GSURL" --name resumed --passphrase-file "$PASS" --confirm target
same_as "restore: the resumed backup's tables are identical" target "$WORK/fixture.sums"
fault_reset
rules '[{"name":"storm","op":"chunk","status":503,"times":-1}]'
t_run "backup: a fault storm beyond the retries fails (exit 4)" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL&maxAttempts=3" --name storm --passphrase-file "$PASS" --compression none
t_contains "backup: the error names the chunk and the status" "PUT chunk 1: HTTP 503 backendError"
t_stat "backup: the upload was cancelled" 'o.get("cancel",0) >= 1'
no_backup storm "backup: the failed backup left no manifest and no object"
fault_reset
mkdir -p "$WORK/failbin"
cat >"$WORK/failbin/pg_dump" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/pg_dump --version
head -c 13000000 /dev/urandom
echo "pg_dump: error: simulated failure" >&2
exit 1
SH
chmod +x "$WORK/failbin/pg_dump"
LIFEBOAT_PG_BINDIR=$WORK/failbin t_run "backup: pg_dump failing mid-stream fails the backup (exit 3)" 3 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" --name dumpfail --compression none
t_stat "backup: the chunks already sent were cancelled" 'o.get("cancel",0) >= 1'
no_backup dumpfail "backup: the pg_dump failure left no manifest and no object"

# --- reading with faults -----------------------------------------------------
current="read faults"
fault_reset
rules '[{"name":"cut-get","op":"get","path":".dump","reset":true,"afterBytes":3000000,"times":1}]'
t_run "verify: a download cut mid-object resumes with a Range request" 0 \
	"${LB[@]}" verify --storage "$GSURL" --name big --passphrase-file "$PASS"
t_contains "verify: the resume is logged" "resuming with a Range request"
t_stat "verify: the cut fired and a ranged GET followed" 'd["fired"].get("cut-get")==1 and o.get("getRange",0) >= 1'
fault_reset

# --- two runs of one backup at once -------------------------------------------
current="create only"
SLOW_SECONDS=0.3 LIFEBOAT_PG_BINDIR=$WORK/slowbin "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$GSURL" \
	--name twice --passphrase-file "$PASS" --compression none --result-path "$WORK/slow.result" >"$WORK/slow.out" 2>&1 &
bg=$!
sleep 1
t_run "two at once: the fast run completes while the slow one still dumps" 0 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$GSURL" --name twice --passphrase-file "$PASS" \
	--compression none --result-path "$WORK/fast.result"
rc=0
wait "$bg" || rc=$?
T_OUT=$(cat "$WORK/slow.out")
if [[ $rc == 9 ]]; then t_pass "two at once: the slow run is refused when it creates the manifest (exit 9)"; else t_fail "two at once: the slow run is refused when it creates the manifest (exit 9)" "exit $rc: $(tail -c 800 "$WORK/slow.out")"; fi
t_contains "two at once: ... it says another run completed first" "another run of backup default/twice completed first"
t_contains "two at once: ... HTTP 412 conditionNotMet for the manifest, another writer first" "HTTP 412 conditionNotMet: another writer created the object first"
t_equals "two at once: ... it removed its own objects: the folder holds the manifest and the winner's dump" "2" \
	bash -c "curl -s '$G/storage/v1/b/$BUCKET/o?prefix=$(urlenc "$PREFIX/default/twice/")' | $PY -c 'import json,sys; print(len(json.load(sys.stdin).get(\"items\", [])))'"
t_run "two at once: the backup that completed verifies" 0 "${LB[@]}" verify --storage "$GSURL" --name twice --passphrase-file "$PASS"
t_true "two at once: ... and is the fast run's (its sha256)" $PY -c "import json,sys; f=json.load(open(sys.argv[1])); m=json.loads(sys.stdin.read()); assert m['objects'][0]['sha256']==f['artifact']['sha256'], (m, f)" \
	"$WORK/fast.result" < <(curl -s "$G/storage/v1/b/$BUCKET/o/$(urlenc "$PREFIX/default/twice/manifest.json")?alt=media")

# --- credentials ---------------------------------------------------------
current="credentials"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.pem" 2>/dev/null
make_key "$WORK/other.json" "$WORK/other.pem"
GOOGLE_APPLICATION_CREDENTIALS=$WORK/other.json t_run "credentials: a key the account does not have is refused (exit 4)" 4 \
	"${LB[@]}" list --storage "$GSURL"
t_contains "credentials: ... by the token endpoint, naming it, the account and the fix" "refused the service account $EMAIL: HTTP 400 invalid_grant: Invalid JWT Signature"
if [[ $T_OUT != *PRIVATE* ]]; then t_pass "credentials: ... and no key material in the output"; else t_fail "credentials: ... and no key material in the output" "leaked"; fi
make_key "$WORK/user.json" "$WORK/sa.pem" authorized_user
GOOGLE_APPLICATION_CREDENTIALS=$WORK/user.json t_run "credentials: user credentials instead of a service-account key: exit 2" 2 \
	"${LB[@]}" list --storage "$GSURL"
t_contains "credentials: ... says what type it needs" '"type" is "authorized_user", not "service_account"'
echo 'not json' >"$WORK/bad.json"
GOOGLE_APPLICATION_CREDENTIALS=$WORK/bad.json t_run "credentials: a key file that is not JSON: exit 2" 2 "${LB[@]}" list --storage "$GSURL"
t_contains "credentials: ... names the file" "$WORK/bad.json is not a service-account key file"
AWS_ACCESS_KEY_ID=GOOG1EXAMPLE AWS_SECRET_ACCESS_KEY=x t_run "credentials: a key file and an HMAC key at once: exit 2" 2 \
	"${LB[@]}" list --storage "$GSURL"
t_contains "credentials: ... says to set one" "set one"
t_run "credentials: partSize not a multiple of 256 KiB: exit 2" 2 "${LB[@]}" list --storage "gs://$BUCKET/p?endpoint=http://127.0.0.1:$AUTHPORT&partSize=6000000"
t_contains "credentials: ... says why" "not a multiple of 256KiB"

# --- interop: objects written by another client ------------------------------
current="interop"
mkdir -p "$WORK/other"
pg_tool pg_dump -Fc fixture >"$WORK/other.plain"
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS" --symmetric --cipher-algo AES256 \
	-o "$WORK/other/db.dump.pgp" "$WORK/other.plain"
$PY "$root/tests/lib/make_manifest.py" "$WORK/other" default other db.dump.pgp "$WORK/other.plain" custom none true
for leaf in db.dump.pgp manifest.json; do
	curl -s -f -o /dev/null -X POST --data-binary "@$WORK/other/$leaf" \
		"$G/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$(urlenc "$PREFIX/default/other/$leaf")"
done
t_run "interop: lifeboat verifies a backup uploaded by another client" 0 \
	"${LB[@]}" verify --storage "$GSURL" --name other --passphrase-file "$PASS"
fresh_db target
t_run "interop: ... and restores it" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$GSURL" --name other --passphrase-file "$PASS" --confirm target
same_as "interop: tables identical" target "$WORK/fixture.sums"

# --- delete --------------------------------------------------------------
current="delete"
objects "$PREFIX/default/big/" >"$WORK/big.objects"
t_run "delete: removes a backup" 0 "${LB[@]}" delete --storage "$GSURL" --name big --result-path "$WORK/delete.result"
t_true "delete: freedBytes and deletedObjects equal fake-gcs-server's listing" \
	$PY -c "import json,sys; r=json.load(open(sys.argv[1])); rows=[l.rsplit(' ',1) for l in open(sys.argv[2]).read().splitlines()]; assert (r['freedBytes'], r['deletedObjects'])==(sum(int(s) for _,s in rows), len(rows)) and rows, (r, rows)" \
	"$WORK/delete.result" "$WORK/big.objects"
no_backup big "delete: no object left under the backup's folder"
t_run "delete: a missing backup is NotFound (exit 8)" 8 "${LB[@]}" delete --storage "$GSURL" --name big

# --- every request shape seen ------------------------------------------------
current="shapes"
for op in token initiate chunk finalize status cancel get getRange meta list listPage2 delete; do
	t_stat "request shape $op was sent" "d['allOps'].get('$op',0) >= 1"
done
current=done
