#!/usr/bin/env bash
# The s3:// backend against real peers, with /usr/bin/aws as the independent
# client and a throwaway PostgreSQL. S3_PEER picks the server:
#   s3rver     (default) S3 object and multipart semantics; it checks no
#              signature, so a SigV4-verifying proxy (botocore recomputes
#              every signature, Content-MD5 and x-amz-content-sha256) sits in
#              front and performs AbortMultipartUpload and
#              ListMultipartUploads, which s3rver lacks, on its folder;
#   seaweedfs  SeaweedFS's S3 gateway (tests/peers/build.sh seaweedfs), which
#              checks SigV4, Content-MD5 and x-amz-content-sha256 itself with
#              its own identity and implements the whole multipart API,
#              If-None-Match, virtual-hosted style and https; the botocore
#              proxy stays in the chain as a second check and the counter.
# Lifeboat -> fault injector -> SigV4 proxy -> server, every request with its
# Host unchanged (so a server that checks signatures checks lifeboat's).
#   LIFEBOAT   the binary (or a wrapper command)
#   T_SUITE    the name results are recorded under (s3, s3-asan, s3-seaweedfs)
# Peers run under `timeout` on free loopback ports and are stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
T_SUITE=${T_SUITE:-s3}
S3_PEER=${S3_PEER:-s3rver}
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
read -r -a LB <<<"${LIFEBOAT:?set LIFEBOAT to the lifeboat binary}"
PY=/usr/bin/python3
AWS=/usr/bin/aws
S3RVER=$here/node_modules/.bin/s3rver
BUCKET=lifeboat-test
PREFIX='prefix/with space+plus&=$ü'

WORK=$(mktemp -d /tmp/lifeboat-s3.XXXXXX)
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

case $S3_PEER in
s3rver) [[ -x $S3RVER ]] || { t_fail "setup" "$S3RVER is missing: run make deps (tests/setup-deps.sh)"; exit 1; } ;;
seaweedfs)
	WEED=$(timeout 3000 "$root/tests/peers/build.sh" seaweedfs) || { t_fail "setup" "SeaweedFS did not build (tests/peers/build.sh seaweedfs)"; exit 1; }
	;;
*) t_fail "setup" "S3_PEER=$S3_PEER: use s3rver or seaweedfs"; exit 1 ;;
esac
[[ -x $AWS ]] || { t_fail "setup" "$AWS is missing: run make deps (tests/setup-deps.sh)"; exit 1; }
$PY -c 'import botocore' 2>/dev/null || { t_fail "setup" "python3-botocore is missing: run make deps"; exit 1; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# free_weed_ports N: N ports P on 127.0.0.1, each with P+10000 free too
# (SeaweedFS puts each server's gRPC port there).
free_weed_ports() {
	$PY - "$1" <<'PYEOF'
import random, socket, sys
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
got = []
while len(got) < int(sys.argv[1]):
    p = random.randint(20000, 29999)
    if p not in got and p + 10000 not in got and free(p) and free(p + 10000):
        got.append(p)
print(" ".join(map(str, got)))
PYEOF
}
# wait_port_file FILE: the port a proxy wrote once it listens.
wait_port_file() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $1 ]] && { cat "$1"; return 0; }
		sleep 0.1
	done
	return 1
}

# --- peers ---------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" -days 1 \
	-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_CA_BUNDLE AWS_SHARED_CREDENTIALS_FILE
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=''
proxy_args=()
if [[ $S3_PEER == s3rver ]]; then
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	mkdir -p "$WORK/s3data"
	S3PORT=$(free_port)
	# s3rver makes continuation tokens with DES: Node 20's OpenSSL needs its legacy provider.
	NODE_OPTIONS=--openssl-legacy-provider timeout 900 "$S3RVER" -d "$WORK/s3data" -a 127.0.0.1 -p "$S3PORT" \
		--silent --configure-bucket "$BUCKET" >"$WORK/s3rver.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$S3PORT/" && break
		sleep 0.1
	done
	proxy_args=(--s3rver-dir "$WORK/s3data")
	# A second s3rver, over https, for the TLS checks.
	mkdir -p "$WORK/s3tls"
	TLSPORT=$(free_port)
	NODE_OPTIONS=--openssl-legacy-provider timeout 900 "$S3RVER" -d "$WORK/s3tls" -a 127.0.0.1 -p "$TLSPORT" \
		--key "$WORK/tls.key" --cert "$WORK/tls.crt" --silent --configure-bucket "$BUCKET" >"$WORK/s3rver-tls.log" 2>&1 &
	PIDS+=($!)
else
	# SeaweedFS's own identity: a key only this run knows, with every S3 action.
	export AWS_ACCESS_KEY_ID=LBWEED$RANDOM$RANDOM AWS_SECRET_ACCESS_KEY=weed-secret-$RANDOM-$RANDOM-$RANDOM
	printf '{"identities":[{"name":"lifeboat","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$WORK/weed-s3.json"
	read -r MPORT VPORT FPORT S3PORT < <(free_weed_ports 4)
	TLSPORT=$(free_port)
	mkdir -p "$WORK/weed"
	# One process: master, volume server, filer and the S3 gateway (plain
	# http and https on the same data), virtual-hosted style under localhost.
	# WEED_S3_SSE_KEY turns SSE-S3 on (the key encrypting the data keys).
	WEED_S3_SSE_KEY="lifeboat-test-sse-$RANDOM$RANDOM" timeout 900 "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$WORK/weed" \
		-master.port="$MPORT" -volume.port="$VPORT" -filer -filer.port="$FPORT" \
		-s3 -s3.port="$S3PORT" -s3.port.https="$TLSPORT" -s3.cert.file="$WORK/tls.crt" -s3.key.file="$WORK/tls.key" \
		-s3.port.iceberg="$(free_port)" -s3.port.lance="$(free_port)" -s3.domainName=localhost \
		-s3.config="$WORK/weed-s3.json" -master.volumeSizeLimitMB=64 -volume.max=30 -metricsPort=0 \
		>"$WORK/weed.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 300; i++)); do
		# Up when the gateway answers a signed request for the buckets.
		timeout 10 "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3api list-buckets >/dev/null 2>&1 && break
		sleep 0.2
	done
	timeout 60 "$AWS" --endpoint-url "http://127.0.0.1:$S3PORT" s3 mb "s3://$BUCKET" >/dev/null ||
		{ t_fail "setup" "SeaweedFS did not start: $(tail -5 "$WORK/weed.log")"; exit 1; }
	proxy_args=(--vhost-passthrough)
fi
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null --cacert "$WORK/tls.crt" "https://127.0.0.1:$TLSPORT/" && break
	sleep 0.1
done
timeout 900 $PY "$here/sigv4_proxy.py" --upstream "http://127.0.0.1:$S3PORT" --vhost-suffix localhost \
	--access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "${proxy_args[@]}" \
	--port-file "$WORK/sigv4.port" 2>"$WORK/sigv4.log" &
PIDS+=($!)
SIGPORT=$(wait_port_file "$WORK/sigv4.port")
timeout 900 $PY "$here/fault_proxy.py" --upstream "http://127.0.0.1:$SIGPORT" \
	--port-file "$WORK/fault.port" 2>"$WORK/fault.log" &
PIDS+=($!)
FAULTPORT=$(wait_port_file "$WORK/fault.port")

# Lifeboat goes through the fault injector; aws through the SigV4 proxy
# (which so checks the checker against AWS's own client).
EP="http://127.0.0.1:$FAULTPORT"
S3URL="s3://$BUCKET/$PREFIX?endpoint=$EP&partSize=5MiB&maxKeys=2&stallTimeout=3"
awsc() { timeout 120 "$AWS" --endpoint-url "http://127.0.0.1:$SIGPORT" "$@"; }

# stat EXPR: evaluates a Python expression over the SigV4 proxy's counters
# (d) and the fault proxy's (f); prints the value.
stats() {
	curl -s "http://127.0.0.1:$SIGPORT/__proxy/stats" >"$WORK/sig.json"
	curl -s "http://127.0.0.1:$FAULTPORT/__fault/stats" >"$WORK/fault.json"
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); f=json.load(open(sys.argv[2])); o=d["ops"]; print(eval(sys.argv[3]))' \
		"$WORK/sig.json" "$WORK/fault.json" "$1"
}
# t_stat NAME EXPR: records whether EXPR over the counters is true.
t_stat() {
	local v
	v=$(stats "$2" 2>&1)
	if [[ $v == True ]]; then t_pass "$1"; else t_fail "$1" "$2 is $v; proxy: $(cat "$WORK/sig.json" | head -c 1500); faults: $(head -c 600 "$WORK/fault.json")"; fi
}
rules() { curl -s -X POST --data-binary "$1" "http://127.0.0.1:$FAULTPORT/__fault/rules" >/dev/null; }
fault_reset() { curl -s -X POST "http://127.0.0.1:$FAULTPORT/__fault/reset" >/dev/null; }
open_uploads() { # number of multipart uploads the server holds open
	awsc s3api list-multipart-uploads --bucket "$BUCKET" --output json |
		$PY -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Uploads", [])) if t else 0)'
}
# no_backup NAME LABEL: no manifest, no dump object under the backup's folder.
no_backup() {
	local n
	n=$(awsc s3api list-objects-v2 --bucket "$BUCKET" --prefix "$PREFIX/default/$1/" --output json |
		$PY -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Contents", [])) if t else 0)')
	if [[ $n == 0 ]]; then t_pass "$2"; else t_fail "$2" "$n objects under $PREFIX/default/$1/"; fi
}

# --- database --------------------------------------------------------------
pg_start >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE fixture' >/dev/null
pg_psql fixture -q -f "$root/tests/fixtures/fixture.sql" >/dev/null
# Incompressible rows so a backup spans several 5 MiB parts.
pg_psql fixture -q -c "CREATE TABLE public.noise AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t
	FROM generate_series(1, 150000) g" >/dev/null
pg_psql postgres -q -c 'CREATE DATABASE small' >/dev/null
pg_psql small -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g" >/dev/null
pg_table_checksums fixture >"$WORK/fixture.sums"
pg_table_checksums small >"$WORK/small.sums"
PASS="$WORK/pass"
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo 'correct horse battery staple' >"$PASS"
fresh_db() {
	pg_psql postgres -q -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\"" >/dev/null
}
same_as() { # label db sums
	pg_table_checksums "$2" >"$WORK/now.sums"
	t_same "$1" "$3" "$WORK/now.sums"
}

# --- the full cycle, multipart -------------------------------------------
current="full cycle"
t_run "backup: multipart upload through the SigV4 proxy" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL" --name big \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/big.result"
t_stat "backup: several parts, one upload, one complete" 'o.get("UploadPart",0) >= 3 and o.get("CreateMultipartUpload")==1 and o.get("CompleteMultipartUpload")==1'
t_stat "backup: every request verified by botocore, none rejected" 'd["verified"] > 0 and d["rejected"] == 0'
t_stat "backup: Content-MD5 sent and right on every upload" 'd["md5Checked"] >= o.get("UploadPart",0) + o.get("PutObject",0)'
t_true "backup: peak RSS under 64 MiB" $PY -c "import json; r=json.load(open('$WORK/big.result')); assert r['peakRssKiB'] <= 65536, r['peakRssKiB']"
t_true "backup: the manifest names the multipart object" $PY -c "import json; r=json.load(open('$WORK/big.result')); assert r['artifact']['size'] > 15*1024*1024, r['artifact']"

awsc s3 cp "s3://$BUCKET/$PREFIX/default/big/manifest.json" "$WORK/big.manifest" >/dev/null 2>&1 || true
BIG_KEY=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['objects'][0]['key'])" "$WORK/big.manifest" 2>/dev/null || echo missing)
t_true "backup: the dump object is db-<attempt>.dump.pgp" bash -c "[[ '$BIG_KEY' =~ ^db-[0-9a-f]{8}\.dump\.pgp\$ ]]"
awsc s3 cp "s3://$BUCKET/$PREFIX/default/big/$BIG_KEY" "$WORK/big.dump.pgp" >/dev/null 2>&1 || true
t_true "aws s3 cp reads what lifeboat wrote: byte-identical to the manifest's sha256" \
	$PY -c "import json,hashlib; m=json.load(open('$WORK/big.manifest')); o=m['objects'][0]; d=open('$WORK/big.dump.pgp','rb').read(); assert len(d)==o['size'] and hashlib.sha256(d).hexdigest()==o['sha256']"
t_true "aws-read object opens with gpg" bash -c "gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' --decrypt '$WORK/big.dump.pgp' | head -c 5 | grep -q PGDMP"
rm -f "$WORK/big.dump.pgp"

t_run "verify: the multipart backup verifies" 0 \
	"${LB[@]}" verify --storage "$S3URL" --name big --passphrase-file "$PASS"
t_run "download: --raw of the multipart object from s3" 0 \
	"${LB[@]}" download --storage "$S3URL" --name big --raw --out "$WORK/big.raw"
t_true "download: --raw output's sha256 is the manifest's" \
	$PY -c "import json,hashlib; m=json.load(open('$WORK/big.manifest')); o=m['objects'][0]; d=open('$WORK/big.raw','rb').read(); assert len(d)==o['size'] and hashlib.sha256(d).hexdigest()==o['sha256']"
t_run "download: decrypted from s3" 0 \
	"${LB[@]}" download --storage "$S3URL" --name big --passphrase-file "$PASS" --out "$WORK/big.dump"
t_true "download: equals gpg -d of the stored object" bash -c "gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' --decrypt '$WORK/big.raw' | cmp -s - '$WORK/big.dump'"
t_true "download: pg_restore --list reads it" bash -c "pg_restore --list '$WORK/big.dump' | grep -q 'TABLE DATA'"
rm -f "$WORK/big.raw" "$WORK/big.dump"
t_run "list: shows the backup (pages of 2 keys: continuation tokens)" 0 \
	"${LB[@]}" list --storage "$S3URL"
t_contains "list: backup big is complete and verified" "big"
t_stat "list: ListObjectsV2 continued with a token" 'o.get("ListObjectsV2Continuation",0) >= 1'
fresh_db target
t_run "restore: from s3 into an empty database" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$S3URL" --name big \
	--passphrase-file "$PASS" --confirm target
same_as "restore: every table identical" target "$WORK/fixture.sums"

# --- the restore's audit record, on S3 ----------------------------------------
current="audit record"
fresh_db target
t_run "audit: a restore with --restore-name writes its record to s3" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$S3URL" --name big \
	--passphrase-file "$PASS" --confirm target --restore-name s3-restore --restore-namespace app \
	--requested-by alice --no-safety-backup --result-path "$WORK/audit.result"
ym=$($PY -c "import json; print(json.load(open('$WORK/audit.result'))['startTime'][:7].replace('-', '/'))")
AKEY="$PREFIX/app/_restores/$ym/s3-restore.json"
t_true "audit: auditRecord is s3://BUCKET/PREFIX/app/_restores/YYYY/MM/s3-restore.json" \
	$PY -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['auditRecord']==sys.argv[2], r.get('auditRecord')" \
	"$WORK/audit.result" "s3://$BUCKET/$AKEY"
awsc s3 cp "s3://$BUCKET/$AKEY" "$WORK/audit.json" >/dev/null 2>&1 || true
t_true "audit: aws s3 cp reads the record: Completed, the backup's sha256, the target, no secret" \
	$PY -c "import json,sys; d=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); t=open(sys.argv[1]).read()
assert d['kind']=='RestoreAudit' and d['outcome']=='Completed' and d['restore']=={'namespace':'app','name':'s3-restore'}, d
assert d['source']['sha256']==r['restoredBackup']['sha256'] and d['source']['location']==r['restoredBackup']['location'], d['source']
assert d['target']['database']=='target' and d['requestedBy']=='alice' and d['safetyBackup']=={'enabled': False}, d
assert sys.argv[4] not in t and sys.argv[3] not in t and 'correct horse' not in t" \
	"$WORK/audit.json" "$WORK/audit.result" "$PGTEST_PASSWORD" "$AWS_SECRET_ACCESS_KEY"
t_run "audit: a refused restore writes its record to s3 too (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$S3URL" --name big \
	--passphrase-file "$PASS" --confirm not-target --restore-name s3-refused --restore-namespace app
awsc s3 cp "s3://$BUCKET/$PREFIX/app/_restores/$ym/s3-refused.json" "$WORK/refused.json" >/dev/null 2>&1 || true
t_true "audit: the refused restore's record: Failed, InvalidInput, target unchanged" \
	$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['outcome']=='Failed' and d['error']['reason']=='InvalidInput' and '--confirm' in d['error']['message'] and d['targetUnchanged'] is True, d" \
	"$WORK/refused.json"
t_run "audit: lifeboat audit lists the records from s3" 0 "${LB[@]}" audit --storage "$S3URL" --namespace app
t_matches "audit: ... each row with its outcome, backup and target" ' app +s3-re(store|fused) +(Completed|Failed) +default/big +target '
t_contains "audit: ... the refused one too" "s3-refused"
t_run "list: the _restores folder is not a backup on s3" 0 "${LB[@]}" list --storage "$S3URL"
if [[ $T_OUT != *_restores* ]]; then t_pass "list: no _restores row"; else t_fail "list: no _restores row" "$T_OUT"; fi
t_run "show: an audit record from s3" 0 "${LB[@]}" show --storage "$S3URL" --namespace app --restore-name s3-restore
t_matches "show: ... its outcome line" '^outcome: +Completed$'
t_true "show -o json: the record aws reads, plus its s3:// location" bash -c '"$@" >"$0"' "$WORK/show-rec.json" \
	"${LB[@]}" show --storage "$S3URL" --namespace app --restore-name s3-restore -o json
t_true "show -o json: ... equal to the record, location s3://BUCKET/KEY" \
	$PY -c "import json,sys; d=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); assert d.pop('location')==sys.argv[3] and d==r, d" \
	"$WORK/show-rec.json" "$WORK/audit.json" "s3://$BUCKET/$AKEY"
t_run "show: a backup's manifest from s3" 0 "${LB[@]}" show --storage "$S3URL" --name big
t_matches "show: ... verified (verify ran above)" '^verification\.verified: +true$'
t_run "show: a missing backup on s3 is NotFound (exit 8)" 8 "${LB[@]}" show --storage "$S3URL" --name no-such
t_contains "show: ... as restore says it" "no complete backup default/no-such: "

t_run "backup: a small object is one PutObject" 0 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL" --name small --passphrase-file "$PASS"
t_stat "backup: small backup made no new multipart upload" 'o.get("CreateMultipartUpload")==1 and o.get("PutObject",0) >= 3'
t_run "backup: the same name again is refused (exit 9)" 9 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL" --name small --passphrase-file "$PASS"
t_run "verify: a missing backup is NotFound (exit 8)" 8 \
	"${LB[@]}" verify --storage "$S3URL" --name nosuch --passphrase-file "$PASS"

AWS_SESSION_TOKEN='FQoGZXIvYXdzE/token+with=chars' t_run "backup: a session token is sent and signed" 0 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL" --name with-token --passphrase-file "$PASS"
t_stat "all good runs: nothing rejected" 'd["rejected"] == 0'

# Virtual-hosted style: Host lifeboat-test.localhost (curl resolves *.localhost to loopback).
VHURL="s3://$BUCKET/vhost?endpoint=http://localhost:$FAULTPORT&style=virtual"
t_run "backup: virtual-hosted style (bucket in the Host header)" 0 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$VHURL" --name vhost --passphrase-file "$PASS"
t_run "verify: virtual-hosted style" 0 "${LB[@]}" verify --storage "$VHURL" --name vhost --passphrase-file "$PASS"
t_stat "virtual-hosted requests were verified as sent" 'd["vhost"] >= 4 and d["rejected"] == 0'
t_true "virtual-hosted backup is where path style finds it" awsc s3 ls "s3://$BUCKET/vhost/default/vhost/manifest.json"

# --- reading with faults ---------------------------------------------------
current="read faults"
rules '[{"name":"cut-get","op":"GetObject","path":".dump","reset":true,"afterBytes":3000000,"times":1}]'
t_run "verify: a connection reset mid-object resumes with a Range request" 0 \
	"${LB[@]}" verify --storage "$S3URL" --name big --passphrase-file "$PASS"
t_contains "verify: the resume is logged" "resuming with a Range request"
t_stat "verify: the cut fired and a Range GET followed" 'f["fired"].get("cut-get")==1 and o.get("GetObjectRange",0) >= 1'
rules '[{"name":"stall-get","op":"GetObject","path":".dump","stall":6,"afterBytes":1000000,"times":1}]'
t_run "verify: a stalled download is dropped and resumed" 0 \
	"${LB[@]}" verify --storage "$S3URL" --name big --passphrase-file "$PASS"
t_stat "verify: the stall fired" 'f["fired"].get("stall-get")==1'
fault_reset

# --- writing with faults -----------------------------------------------------
current="write faults"
rules '[{"name":"p2-503","op":"UploadPart","part":2,"status":503,"times":2},
	{"name":"p3-429","op":"UploadPart","part":3,"status":429,"retryAfter":1,"times":1},
	{"name":"p1-reset","op":"UploadPart","part":1,"reset":true,"afterBytes":1000000,"times":1},
	{"name":"p4-stall","op":"UploadPart","part":4,"stall":8,"afterBytes":500000,"times":1},
	{"name":"complete-500","op":"CompleteMultipartUpload","status":500,"times":1}]'
t_run "backup: 503s, a 429 with Retry-After, a reset, a stall: retried and completed" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL" --name faulty \
	--passphrase-file "$PASS" --compression none
t_stat "backup: every fault fired" 'all(f["fired"].get(k)==v for k,v in {"p2-503":2,"p3-429":1,"p1-reset":1,"p4-stall":1,"complete-500":1}.items())'
t_stat "backup: no retry storm (each part at most 1 + its faults)" 'all(n <= 1 + {"1":1,"2":2,"3":1,"4":1}.get(p,0) for p,n in f["partRequests"].items())'
t_run "verify: the backup that survived the faults verifies" 0 \
	"${LB[@]}" verify --storage "$S3URL" --name faulty --passphrase-file "$PASS"
fault_reset

rules '[{"name":"storm","op":"UploadPart","status":500,"times":-1}]'
t_run "backup: a fault storm beyond the retries fails (exit 4)" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL&maxAttempts=3" --name storm \
	--passphrase-file "$PASS" --compression none
t_contains "backup: the error names the part, the status and the provider's code" "PUT part"
t_contains "backup: ... HTTP 500 InternalError" "HTTP 500 InternalError"
t_stat "backup: bounded attempts (3 a part, at most in-flight+1 parts)" 'f["ops"].get("UploadPart",0) <= 9'
no_backup storm "backup: the failed backup left no manifest and no object"
t_stat "backup: AbortMultipartUpload was sent" 'd["aborted"] >= 1'
t_true "backup: no multipart upload left open" test "$(open_uploads)" = 0
fault_reset

rules '[{"name":"flip","op":"UploadPart","part":2,"corrupt":true,"times":1}]'
t_run "backup: a part damaged on the way is refused by the server (exit 4)" 4 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL" --name damaged \
	--passphrase-file "$PASS" --compression none
t_contains "backup: ... because its Content-MD5 does not match (BadDigest)" "PUT part 2: HTTP 400 BadDigest"
no_backup damaged "backup: the damaged backup left no manifest and no object"
t_true "backup: no multipart upload left open after the damaged part" test "$(open_uploads)" = 0
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
before=$(stats 'd["aborted"]')
LIFEBOAT_PG_BINDIR=$WORK/failbin t_run "backup: pg_dump failing mid-stream fails the backup (exit 3)" 3 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL" --name dumpfail --compression none
t_stat "backup: the parts already sent were aborted" "d['aborted'] == $before + 1"
t_true "backup: no multipart upload left open after the pg_dump failure" test "$(open_uploads)" = 0
no_backup dumpfail "backup: the pg_dump failure left no manifest and no object"

# SIGTERM mid-multipart upload (a Job's deadline or deletion): every part is
# held on the way, so uploads are under way when the signal comes; lifeboat
# must abandon them, abort the multipart upload and exit within the 30 s a
# Job's terminationGracePeriodSeconds gives by default (a correctness bound).
rules '[{"name":"hold-parts","op":"UploadPart","stall":120,"times":-1}]'
before=$(stats 'd["aborted"]')
"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "${S3URL/stallTimeout=3/stallTimeout=300}" \
	--name termed --passphrase-file "$PASS" --compression none --result-path "$WORK/termed.json" \
	>"$WORK/termed.out" 2>&1 &
termpid=$!
for ((i = 0; i < 300; i++)); do
	[[ $(stats 'f["fired"].get("hold-parts", 0)') -ge 2 ]] && break
	sleep 0.1
done
sleep 0.5
kill -TERM "$termpid"
for ((i = 0; i < 300; i++)); do
	kill -0 "$termpid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$termpid" 2>/dev/null && kill -KILL "$termpid"
set +e
wait "$termpid"
term_rc=$?
set -e
t_equals "backup: SIGTERM mid-multipart: exits within the 30 s grace, status 1" 1 echo "$term_rc"
T_OUT=$(cat "$WORK/termed.out")
t_contains "backup: SIGTERM mid-multipart: the log says interrupted" "interrupted by signal 15"
t_true "backup: SIGTERM mid-multipart: the result says LocalIOError" \
	$PY -c "import json; r=json.load(open('$WORK/termed.json')); assert r['reason']=='LocalIOError' and 'interrupted by signal 15' in r['message'], r"
t_stat "backup: SIGTERM mid-multipart: AbortMultipartUpload was sent" "d['aborted'] == $before + 1"
t_true "backup: SIGTERM mid-multipart: no multipart upload left open" test "$(open_uploads)" = 0
no_backup termed "backup: SIGTERM mid-multipart left no manifest and no object"
fault_reset

# --- credentials -------------------------------------------------------------
current="credentials"
AWS_SECRET_ACCESS_KEY=not-the-secret t_run "backup: a wrong secret is refused (exit 4)" 4 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL" --name wrongkey --passphrase-file "$PASS"
t_contains "backup: wrong secret: HTTP 403 SignatureDoesNotMatch with the server's message" "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match"
if [[ $T_OUT != *not-the-secret* ]]; then t_pass "backup: wrong secret: the secret never appears in output"; else t_fail "backup: wrong secret: the secret never appears in output" "leaked"; fi
t_stat "the proxy rejected the wrong signature" 'd["rejected"] >= 1'
without_keys() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$@"; }
HOME="$WORK" t_run "backup: no credentials at all: exit 2" 2 \
	without_keys "${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL" --name nokey --passphrase-file "$PASS"
t_contains "backup: no credentials: says what to set" "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
mkdir -p "$WORK/aws"
printf '[lifeboat]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$WORK/aws/credentials"
AWS_SHARED_CREDENTIALS_FILE="$WORK/aws/credentials" AWS_PROFILE=lifeboat \
	t_run "list: credentials from a shared credentials file" 0 without_keys "${LB[@]}" list --storage "$S3URL"
t_run "backup: an unknown URL parameter is refused (exit 2)" 2 \
	"${LB[@]}" backup --db "$(pg_uri small)" --storage "$S3URL&secretKey=not-a-secret" --name badurl
t_contains "backup: unknown parameter named" 'unknown parameter "secretKey"'

# --- interop: objects uploaded by aws s3 cp --------------------------------
current="aws interop"
mkdir -p "$WORK/by-aws"
pg_tool pg_dump -Fc fixture >"$WORK/by-aws.plain"
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS" --symmetric --cipher-algo AES256 \
	-o "$WORK/by-aws/db.dump.pgp" "$WORK/by-aws.plain"
$PY "$root/tests/lib/make_manifest.py" "$WORK/by-aws" default by-aws db.dump.pgp "$WORK/by-aws.plain" custom none true
t_true "aws s3 cp uploads the dump (its own multipart for large files)" \
	awsc s3 cp "$WORK/by-aws/db.dump.pgp" "s3://$BUCKET/$PREFIX/default/by-aws/db.dump.pgp"
t_true "aws s3 cp uploads the manifest" \
	awsc s3 cp "$WORK/by-aws/manifest.json" "s3://$BUCKET/$PREFIX/default/by-aws/manifest.json"
t_run "verify: lifeboat verifies what aws uploaded" 0 \
	"${LB[@]}" verify --storage "$S3URL" --name by-aws --passphrase-file "$PASS"
fresh_db target
t_run "restore: lifeboat restores what aws uploaded" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$S3URL" --name by-aws \
	--passphrase-file "$PASS" --confirm target
same_as "restore: aws-uploaded backup content identical" target "$WORK/fixture.sums"

# --- TLS: verification on, a private CA through caBundle or AWS_CA_BUNDLE ---
current="tls"
TLSURL="s3://$BUCKET/tls?endpoint=https://127.0.0.1:$TLSPORT&partSize=5MiB"
t_run "tls: an unknown CA is refused, never retried (exit 4)" 4 "${LB[@]}" list --storage "$TLSURL"
t_contains "tls: the error says the certificate does not verify and how to fix it" "caBundle="
t_run "tls: multipart backup over https with caBundle" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$TLSURL&caBundle=$WORK/tls.crt" --name tls \
	--passphrase-file "$PASS" --compression none
AWS_CA_BUNDLE="$WORK/tls.crt" t_run "tls: verify over https with AWS_CA_BUNDLE" 0 \
	"${LB[@]}" verify --storage "$TLSURL" --name tls --passphrase-file "$PASS"

# --- delete --------------------------------------------------------------
current="delete"
t_true "list -o json: storedBytes of big is what aws lists under its folder" bash -c '"$@" >"$0"' "$WORK/list.json" \
	"${LB[@]}" list --storage "$S3URL" --namespace default -o json
awsc s3api list-objects-v2 --bucket "$BUCKET" --prefix "$PREFIX/default/big/" --output json >"$WORK/big-objects.json" 2>/dev/null || true
t_true "list -o json: ... storedBytes and storedObjects equal aws's sums" \
	$PY -c "import json,sys; d=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[2]))['Contents']; b=[x for x in d if x['name']=='big'][0]
assert (b['storedBytes'], b['storedObjects'])==(sum(o['Size'] for o in c), len(c)) and b['storedBytes'] > 0, (b, c)" \
	"$WORK/list.json" "$WORK/big-objects.json"
t_run "delete: removes a backup" 0 "${LB[@]}" delete --storage "$S3URL" --name big --result-path "$WORK/delete.result"
t_true "delete: freedBytes and deletedObjects equal what aws listed" \
	$PY -c "import json,sys; r=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[2]))['Contents']; assert (r['freedBytes'], r['deletedObjects'])==(sum(o['Size'] for o in c), len(c)), r" \
	"$WORK/delete.result" "$WORK/big-objects.json"
no_backup big "delete: no object left under the backup's folder"
t_run "delete: a missing backup is NotFound (exit 8)" 8 "${LB[@]}" delete --storage "$S3URL" --name big

# --- the server's own checks (SeaweedFS checks what s3rver cannot) -------------
if [[ $S3_PEER == seaweedfs ]]; then
	current="server checks"
	DIRECT="s3://$BUCKET/direct?endpoint=http://127.0.0.1:$S3PORT&partSize=5MiB"
	before=$(stats 'd["rejected"]')
	AWS_SECRET_ACCESS_KEY=not-the-secret t_run "seaweedfs: a wrong secret is refused by the server itself (exit 4)" 4 \
		"${LB[@]}" backup --db "$(pg_uri small)" --storage "$DIRECT" --name wrongkey --passphrase-file "$PASS"
	t_contains "seaweedfs: ... HTTP 403 SignatureDoesNotMatch, the server's message" "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match"
	AWS_ACCESS_KEY_ID=LBWEEDNOSUCHKEY t_run "seaweedfs: an unknown access key is refused by the server (exit 4)" 4 \
		"${LB[@]}" list --storage "$DIRECT"
	t_contains "seaweedfs: ... InvalidAccessKeyId, with the hint" "InvalidAccessKeyId"
	t_stat "seaweedfs: those requests never passed the botocore proxy" "d['rejected'] == $before"
	t_run "seaweedfs: a multipart backup straight to the server, no proxy in the way" 0 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$DIRECT" --name direct \
		--passphrase-file "$PASS" --compression none
	t_run "seaweedfs: ... verifies straight from the server" 0 \
		"${LB[@]}" verify --storage "$DIRECT" --name direct --passphrase-file "$PASS"
	t_run "seaweedfs: a multipart backup with sse=AES256 (SSE-S3)" 0 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$DIRECT&sse=AES256" --name sse \
		--passphrase-file "$PASS" --compression none
	awsc s3 cp "s3://$BUCKET/direct/default/sse/manifest.json" "$WORK/sse.manifest" >/dev/null 2>&1 || true
	sse_dump=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['objects'][0]['key'])" "$WORK/sse.manifest" 2>/dev/null || echo db.dump.pgp)
	for leaf in "$sse_dump" manifest.json; do
		T_OUT=$(awsc s3api head-object --bucket "$BUCKET" --key "direct/default/sse/$leaf" --output json 2>&1 || true)
		t_contains "seaweedfs: ... the server says ${leaf/#db-*/the dump} is encrypted with AES256" '"ServerSideEncryption": "AES256"'
	done
	t_run "seaweedfs: ... and it verifies (the server decrypts on read)" 0 \
		"${LB[@]}" verify --storage "$DIRECT" --name sse --passphrase-file "$PASS"
	# gs:// with an HMAC key is this same S3 code (region auto, path style).
	t_run "seaweedfs: gs:// with an HMAC key (the XML API path) backs up to the same server" 0 \
		"${LB[@]}" backup --db "$(pg_uri small)" --storage "gs://$BUCKET/gs-hmac?endpoint=http://127.0.0.1:$S3PORT" \
		--name hmac --passphrase-file "$PASS"
	t_run "seaweedfs: ... and verifies" 0 \
		"${LB[@]}" verify --storage "gs://$BUCKET/gs-hmac?endpoint=http://127.0.0.1:$S3PORT" --name hmac --passphrase-file "$PASS"
	# A fault injector straight in front of the server: a part damaged on
	# the way reaches SeaweedFS, which checks Content-MD5 itself.
	timeout 900 $PY "$here/fault_proxy.py" --upstream "http://127.0.0.1:$S3PORT" \
		--port-file "$WORK/fault2.port" 2>"$WORK/fault2.log" &
	PIDS+=($!)
	F2=$(wait_port_file "$WORK/fault2.port")
	curl -s -X POST --data-binary '[{"name":"flip","op":"UploadPart","part":2,"corrupt":true,"times":1}]' \
		"http://127.0.0.1:$F2/__fault/rules" >/dev/null
	t_run "seaweedfs: a part damaged on the way is refused by the server itself (exit 4)" 4 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "s3://$BUCKET/direct?endpoint=http://127.0.0.1:$F2&partSize=5MiB" \
		--name damaged2 --passphrase-file "$PASS" --compression none
	# The server checks the signed x-amz-content-sha256 first, Content-MD5 next.
	t_matches "seaweedfs: ... HTTP 400 from the server's own body check" 'PUT part 2: HTTP 400 (XAmzContentSHA256Mismatch|BadDigest): '
	t_contains "seaweedfs: ... the server's message" "does not match what was computed"
	t_true "seaweedfs: ... and lifeboat aborted its upload on the server" test "$(open_uploads)" = 0
	n=$(awsc s3api list-objects-v2 --bucket "$BUCKET" --prefix "direct/default/damaged2/" --output json |
		$PY -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Contents", [])) if t else 0)')
	t_true "seaweedfs: ... no object of the damaged backup" test "$n" = 0

	# Two runs of one backup at once (a lost pod still running): each writes
	# objects of its own name and creates the manifest with If-None-Match: *,
	# so the second to finish is refused by the server, removes its own
	# objects, and the first's backup stays whole.
	mkdir -p "$WORK/slowbin"
	cat >"$WORK/slowbin/pg_dump" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/pg_dump --version
$PGTEST_BIN/pg_dump "\$@" | $PY -c '
import sys, time
while True:
    b = sys.stdin.buffer.read(1 << 20)
    if not b:
        break
    sys.stdout.buffer.write(b); sys.stdout.buffer.flush(); time.sleep(0.3)
'
SH
	chmod +x "$WORK/slowbin/pg_dump"
	LIFEBOAT_PG_BINDIR=$WORK/slowbin "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$DIRECT" \
		--name twice --passphrase-file "$PASS" --compression none >"$WORK/slow.out" 2>&1 &
	bg=$!
	sleep 1
	t_run "seaweedfs: two at once: the fast run completes while the slow one still dumps" 0 \
		"${LB[@]}" backup --db "$(pg_uri small)" --storage "$DIRECT" --name twice --passphrase-file "$PASS" \
		--compression none --result-path "$WORK/fast.result"
	rc=0
	wait "$bg" || rc=$?
	T_OUT=$(cat "$WORK/slow.out")
	if [[ $rc == 9 ]]; then t_pass "seaweedfs: two at once: the slow run is refused at the manifest (exit 9)"; else t_fail "seaweedfs: two at once: the slow run is refused at the manifest (exit 9)" "exit $rc: $(tail -c 800 "$WORK/slow.out")"; fi
	t_contains "seaweedfs: ... it says another run completed first" "another run of backup default/twice completed first"
	t_contains "seaweedfs: ... HTTP 412 from the server for the manifest" "manifest.json: PUT: HTTP 412 PreconditionFailed: another writer created the object first"
	t_true "seaweedfs: ... no upload left open on the server" test "$(open_uploads)" = 0
	n=$(awsc s3api list-objects-v2 --bucket "$BUCKET" --prefix "direct/default/twice/" --output json |
		$PY -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Contents", [])) if t else 0)')
	t_equals "seaweedfs: ... it removed its own objects: the folder holds the manifest and the winner's dump" "2" echo "$n"
	t_run "seaweedfs: two at once: the backup that completed verifies" 0 \
		"${LB[@]}" verify --storage "$DIRECT" --name twice --passphrase-file "$PASS"
	awsc s3 cp "s3://$BUCKET/direct/default/twice/manifest.json" "$WORK/twice.manifest" >/dev/null 2>&1 || true
	t_true "seaweedfs: ... and is the fast run's (its sha256)" $PY -c "import json,sys; f=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); assert m['objects'][0]['sha256']==f['artifact']['sha256'], (m, f)" \
		"$WORK/fast.result" "$WORK/twice.manifest"
fi

# --- a dump of several objects: the parts limit, lowered for the test ---------
current="split"
LIFEBOAT_TEST_MAX_PARTS=2 t_run "split: a backup in objects of 2 parts of 5 MiB succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "$S3URL" --name split \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/split.result"
t_contains "split: the log shows the plan" "objects of at most 10 MiB"
awsc s3 cp "s3://$BUCKET/$PREFIX/default/split/manifest.json" "$WORK/split.manifest" >/dev/null 2>&1 || true
t_true "split: the manifest lists 2 or more objects of 10 MiB (the last shorter)" \
	$PY -c "import json,sys; m=json.load(open(sys.argv[1])); o=m['objects']; k=[x['key'] for x in o]
assert len(o) >= 2 and all(x == k[0] + ('' if i == 0 else '.%04d' % (i + 1)) for i, x in enumerate(k)), k
assert all(x['size'] == int(sys.argv[2]) for x in o[:-1]) and o[-1]['size'] <= int(sys.argv[2]), o" "$WORK/split.manifest" $((10 << 20))
rm -f "$WORK/split.stream"
for key in $($PY -c "import json,sys; print(' '.join(x['key'] for x in json.load(open(sys.argv[1]))['objects']))" "$WORK/split.manifest" 2>/dev/null); do
	awsc s3 cp "s3://$BUCKET/$PREFIX/default/split/$key" - 2>/dev/null >>"$WORK/split.stream" || true
done
t_true "split: the objects as aws reads them, concatenated, are the stream the manifest and result name" \
	$PY -c "import json,hashlib,sys; m=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); d=hashlib.sha256(open(sys.argv[3],'rb').read()).hexdigest(); assert d==m['stream']['sha256']==r['artifact']['sha256'], (d, m.get('stream'), r['artifact'])" \
	"$WORK/split.manifest" "$WORK/split.result" "$WORK/split.stream"
t_true "split: ... which gpg -d opens" bash -c "gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' --decrypt '$WORK/split.stream' | head -c 5 | grep -q PGDMP"
rm -f "$WORK/split.stream"
t_run "split: verify reads the objects in order" 0 "${LB[@]}" verify --storage "$S3URL" --name split --passphrase-file "$PASS"
fresh_db target
t_run "split: restore from several objects" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "$S3URL" --name split \
	--passphrase-file "$PASS" --confirm target
same_as "split: every table identical" target "$WORK/fixture.sums"
t_run "split: delete removes every object" 0 "${LB[@]}" delete --storage "$S3URL" --name split
left=$(awsc s3api list-objects-v2 --bucket "$BUCKET" --prefix "$PREFIX/default/split/" --output json |
	$PY -c 'import json,sys; t=sys.stdin.read().strip(); print(" ".join(c["Key"] for c in json.loads(t).get("Contents", [])) if t else "")')
t_equals "split: ... none is left" "" echo "$left"

# --- every request shape seen and verified -----------------------------------
current="shapes"
for op in PutObject CreateMultipartUpload UploadPart CompleteMultipartUpload AbortMultipartUpload \
	GetObject GetObjectRange HeadObject ListObjectsV2 ListObjectsV2Continuation DeleteObject; do
	t_stat "request shape $op was sent and verified" "o.get('$op',0) >= 1"
done
t_stat "only the deliberate faults were rejected (wrong secret, damaged part)" 'len(d["rejections"]) == d["rejected"] and all(("/wrongkey/" in r and "SignatureDoesNotMatch" in r) or ("/damaged/" in r and "BadDigest" in r) for r in d["rejections"])'
current=done
