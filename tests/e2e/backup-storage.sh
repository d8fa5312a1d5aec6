#!/usr/bin/env bash
# shellcheck disable=SC2034 # T_SUITE and T_OUT are read by tests/lib/t.sh
# tests/e2e/backup-storage.sh: DatabaseBackups to object storage end to end on
# the real control plane: S3 through s3rver behind the SigV4-checking proxy
# (botocore verifies every signature), read back with the AWS CLI; Azure Blob
# through Azurite with an account key and with a SAS token, read back with
# tests/storage/azure_tool.py (a client written independently of lifeboat);
# GCS with a service account's JSON key (the Secret mounted as a file)
# through fake-gcs-server behind tests/storage/gcs_auth.py (the token
# endpoint verifies the JWT; every request needs a live bearer token), read
# back with curl on fake-gcs-server's own API.
# Each backend: Completed with the stored object's sha256 and size in status,
# `lifeboat verify` of it, a backend refusing the credentials (Failed, the
# job's error, an event, no manifest), deletionPolicy Delete removing the
# objects and Retain keeping them. The Job pods run on the host network (the
# node agent), so the peers listen on 127.0.0.1 only.
T_SUITE=e2e-storage
E2E_NAME=e2e-storage
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
AWS=/usr/bin/aws
STORAGE=$root/tests/storage
S3RVER=$STORAGE/node_modules/.bin/s3rver
AZURITE=$STORAGE/node_modules/.bin/azurite-blob
for tool in "$S3RVER" "$AZURITE" "$AWS"; do
	[[ -x $tool ]] || { t_fail "setup: $tool" "missing: run make deps (tests/setup-deps.sh)"; exit 1; }
done

PEERS=()
e2e_on_exit 'for p in "${PEERS[@]}"; do kill "$p" 2>/dev/null; done'
wait_port_file() { # FILE: the port a proxy wrote once it listens
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $1 ]] && { cat "$1"; return 0; }
		sleep 0.1
	done
	return 1
}
wait_port() { # PORT: until something accepts connections (10 s)
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- peers -------------------------------------------------------------------
BUCKET=lifeboat-e2e
mkdir -p "$WORK/s3data"
S3PORT=$(free_port)
# s3rver makes continuation tokens with DES: Node 20's OpenSSL needs its legacy provider.
NODE_OPTIONS=--openssl-legacy-provider timeout 900 "$S3RVER" -d "$WORK/s3data" -a 127.0.0.1 -p "$S3PORT" \
	--silent --configure-bucket "$BUCKET" >"$WORK/s3rver.log" 2>&1 &
PEERS+=($!)
wait_port "$S3PORT" || { t_fail "setup: s3rver listens" "$(cat "$WORK/s3rver.log")"; exit 1; }
timeout 900 $PY "$STORAGE/sigv4_proxy.py" --upstream "http://127.0.0.1:$S3PORT" --s3rver-dir "$WORK/s3data" \
	--vhost-suffix localhost --port-file "$WORK/sigv4.port" 2>"$WORK/sigv4.log" &
PEERS+=($!)
SIGPORT=$(wait_port_file "$WORK/sigv4.port") || { t_fail "setup: the SigV4 proxy listens" "$(cat "$WORK/sigv4.log")"; exit 1; }
S3_ENDPOINT=http://127.0.0.1:$SIGPORT

AZ_ACCOUNT=devstoreaccount1
# The emulator's well-known key (published by Microsoft).
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
AZ_PORT=$(free_port)
timeout -k 5 900 "$AZURITE" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence \
	--extentMemoryLimit 512 --skipApiVersionCheck --disableTelemetry --silent >"$WORK/azurite.log" 2>&1 &
PEERS+=($!)
wait_port "$AZ_PORT" || { t_fail "setup: Azurite listens" "$(cat "$WORK/azurite.log")"; exit 1; }
AZ_ENDPOINT=http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT
az() { $PY "$STORAGE/azure_tool.py" "$AZ_ENDPOINT" "$AZ_ACCOUNT" "$AZ_KEY" "$@"; }
az create-container backups >/dev/null
AZ_SAS=$(az sas)

FAKEGCS=$(timeout 1800 "$root/tests/peers/build.sh" fakegcs) || { t_fail "setup: fake-gcs-server builds" "tests/peers/build.sh fakegcs failed"; exit 1; }
GCS_BUCKET=lifeboat-e2e-gcs
GCS_PORT=$(free_port)
GCS_AUTH_PORT=$(free_port)
GCS_EMAIL=lifeboat-e2e@acme-test.iam.gserviceaccount.com
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/sa.pem" 2>/dev/null
openssl pkey -in "$WORK/sa.pem" -pubout -out "$WORK/sa.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/other.pem" 2>/dev/null
gcs_key() { # FILE PEM: a service-account key file for the account
	$PY -c 'import json,sys; json.dump({"type":"service_account","project_id":"acme-test","private_key_id":"e2e-key",
"private_key":open(sys.argv[2]).read(),"client_email":sys.argv[3],"token_uri":sys.argv[4]},open(sys.argv[1],"w"))' \
		"$1" "$2" "$GCS_EMAIL" "http://127.0.0.1:$GCS_AUTH_PORT/token"
}
gcs_key "$WORK/key.json" "$WORK/sa.pem"
gcs_key "$WORK/other.json" "$WORK/other.pem"
timeout 900 "$FAKEGCS" -scheme http -host 127.0.0.1 -port "$GCS_PORT" -backend memory \
	-public-host "127.0.0.1:$GCS_PORT" -external-url "http://127.0.0.1:$GCS_AUTH_PORT" -log-level warn \
	>"$WORK/fakegcs.log" 2>&1 &
PEERS+=($!)
timeout 900 $PY "$STORAGE/gcs_auth.py" --upstream "http://127.0.0.1:$GCS_PORT" --port "$GCS_AUTH_PORT" \
	--public-key "$WORK/sa.pub" --client-email "$GCS_EMAIL" --key-id e2e-key \
	--port-file "$WORK/gcsauth.port" 2>"$WORK/gcsauth.log" &
PEERS+=($!)
wait_port_file "$WORK/gcsauth.port" >/dev/null || { t_fail "setup: the GCS token endpoint listens" "$(cat "$WORK/gcsauth.log")"; exit 1; }
wait_port "$GCS_PORT" || { t_fail "setup: fake-gcs-server listens" "$(cat "$WORK/fakegcs.log")"; exit 1; }
G="http://127.0.0.1:$GCS_PORT"
curl -s -f -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$GCS_BUCKET\"}" "$G/storage/v1/b?project=acme-test" ||
	{ t_fail "setup: a bucket on fake-gcs-server" "$(tail -5 "$WORK/fakegcs.log")"; exit 1; }
gcs_objects() { # PREFIX: the names fake-gcs-server lists under it
	curl -s "$G/storage/v1/b/$GCS_BUCKET/o?prefix=$1" | $PY -c 'import json,sys; [print(i["name"]) for i in json.load(sys.stdin).get("items", [])]'
}

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_CA_BUNDLE AWS_SHARED_CREDENTIALS_FILE
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=''
aws() { timeout 60 "$AWS" --endpoint-url "$S3_ENDPOINT" "$@"; }

# --- the namespace's Secrets --------------------------------------------------
kubectl -n "$NS" create secret generic app-db --from-literal=password="$PGTEST_PASSWORD" >/dev/null
kubectl -n "$NS" create secret generic pp --from-literal=passphrase='storage e2e passphrase' >/dev/null
printf 'storage e2e passphrase\n' >"$WORK/passphrase"
kubectl -n "$NS" create secret generic s3 --from-literal=AWS_ACCESS_KEY_ID=S3RVER \
	--from-literal=AWS_SECRET_ACCESS_KEY=S3RVER >/dev/null
kubectl -n "$NS" create secret generic s3-wrong --from-literal=AWS_ACCESS_KEY_ID=S3RVER \
	--from-literal=AWS_SECRET_ACCESS_KEY=not-the-s3-secret >/dev/null
kubectl -n "$NS" create secret generic az --from-literal=key="$AZ_KEY" --from-literal=sas="$AZ_SAS" >/dev/null
WRONG_AZ_KEY=$($PY -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')
kubectl -n "$NS" create secret generic az-wrong --from-literal=key="$WRONG_AZ_KEY" >/dev/null
kubectl -n "$NS" create secret generic gcs-key --from-file=key.json="$WORK/key.json" >/dev/null
kubectl -n "$NS" create secret generic gcs-key-other --from-file=sa.json="$WORK/other.json" >/dev/null

start_operator

backup() { # NAME STORAGE-YAML [deletionPolicy]
	kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: $1}
spec:
  database: {host: 127.0.0.1, port: $PGTEST_PORT, user: $PGTEST_ROLE, database: app,
             sslMode: disable, passwordSecretRef: {name: app-db, key: password}}
  storage: $2
  encryption: {passphraseSecretRef: {name: pp, key: passphrase}}
  deletionPolicy: ${3:-Retain}
YAML
}
# stored_matches NAME FILE: status.artifact's sha256 and size are FILE's.
stored_matches() {
	t_equals "$1: status.artifact.sha256 is the stored object's" "$(field "$1" .status.artifact.sha256)" \
		bash -c "sha256sum '$2' | cut -d' ' -f1"
	t_equals "$1: status.artifact.size is the stored object's" "$(field "$1" .status.artifact.size)" stat -c %s "$2"
}
failed_with_event() { # NAME WHAT
	t_equals "$2: Failed" Failed wait_phase "$1" Completed Failed
	T_OUT=$(field "$1" .status.message)
	t_matches "$2: the job's error in status.message" '.{20,}'
	sleep 1
	local reason
	reason=$(kubectl -n "$NS" get dbb "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')
	T_OUT=$(kubectl -n "$NS" get events --field-selector "involvedObject.name=$1" \
		-o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}')
	t_contains "$2: a Warning event with the reason ($reason)" "Warning $reason"
}

# --- S3 ------------------------------------------------------------------------
S3_YAML="{s3: {bucket: $BUCKET, prefix: prod, endpoint: \"$S3_ENDPOINT\", forcePathStyle: true,
           credentialsSecretRef: {name: s3}}}"
S3_URL="s3://$BUCKET/prod?endpoint=$S3_ENDPOINT&style=path&region=us-east-1"
backup s3-ok "$S3_YAML" Delete
t_equals "S3: the backup reaches Completed" Completed wait_phase s3-ok Completed Failed
# The dump's name carries its attempt (db-ATTEMPT.dump...): the status names it.
want=$(field s3-ok '.status.artifact.objects[0].key')
key=$(aws s3 ls "s3://$BUCKET/prod/$NS/s3-ok/" | awk -v k="$want" '$4 == k {print $4}' | head -1)
T_OUT=$key
t_matches "S3: the dump object is listed by the AWS CLI" '^db-[0-9a-f]{8}\.dump'
aws s3 cp "s3://$BUCKET/prod/$NS/s3-ok/$key" "$WORK/s3-ok.dump" >/dev/null 2>&1 || true
stored_matches s3-ok "$WORK/s3-ok.dump"
t_run "S3: gpg -d opens the stored dump with the passphrase" 0 bash -c \
	"mkdir -p -m 700 '$WORK/gnupg' && gpg --batch --quiet --homedir '$WORK/gnupg' --passphrase-file '$WORK/passphrase' -d '$WORK/s3-ok.dump' | zstd -dq | head -c5 | grep -q PGDMP"
t_run "S3: lifeboat verify of the stored backup passes" 0 timeout 120 "$BIN/lifeboat" verify \
	--storage "$S3_URL" --namespace "$NS" --name s3-ok --passphrase-file "$WORK/passphrase"
t_run "S3: the manifest is stored" 0 aws s3api head-object --bucket "$BUCKET" --key "prod/$NS/s3-ok/manifest.json"

backup s3-refused "{s3: {bucket: $BUCKET, prefix: prod, endpoint: \"$S3_ENDPOINT\", forcePathStyle: true,
           credentialsSecretRef: {name: s3-wrong}}}"
failed_with_event s3-refused "S3 refusing the signature"
T_OUT=$(field s3-refused .status.message)
t_contains "S3 refusing: the message names the refusal" "403"
t_equals "S3 refusing: nothing stored under its folder" 0 bash -c \
	"'$AWS' --endpoint-url '$S3_ENDPOINT' s3 ls 's3://$BUCKET/prod/$NS/s3-refused/' | wc -l"

backup s3-keep "$S3_YAML"
t_equals "S3 Retain: Completed" Completed wait_phase s3-keep Completed Failed
t_run "S3 Delete: deleting the resource completes" 0 kubectl -n "$NS" delete dbb s3-ok --timeout=120s
t_equals "S3 Delete: the stored objects are gone" 0 bash -c \
	"'$AWS' --endpoint-url '$S3_ENDPOINT' s3 ls 's3://$BUCKET/prod/$NS/s3-ok/' | wc -l"
t_run "S3 Retain: deleting the resource completes" 0 kubectl -n "$NS" delete dbb s3-keep --timeout=60s
t_run "S3 Retain: the manifest stays" 0 aws s3api head-object --bucket "$BUCKET" --key "prod/$NS/s3-keep/manifest.json"

# --- Azure ---------------------------------------------------------------------
AZ_YAML="{azure: {container: backups, prefix: prod, accountName: $AZ_ACCOUNT, endpoint: \"$AZ_ENDPOINT\",
              credentialsSecretRef: {name: az, accountKeyKey: key}}}"
AZ_URL="azure://backups/prod?account=$AZ_ACCOUNT&endpoint=$AZ_ENDPOINT"
backup az-ok "$AZ_YAML" Delete
t_equals "Azure (account key): the backup reaches Completed" Completed wait_phase az-ok Completed Failed
want=$(field az-ok '.status.artifact.objects[0].key')
blob=$(az list backups "prod/$NS/az-ok/" | awk -F'\t' -v k="prod/$NS/az-ok/$want" '$1 == k {print $1}' | head -1)
T_OUT=$blob
t_matches "Azure: the dump blob is listed by azure_tool" '/db-[0-9a-f]{8}\.dump'
az get backups "$blob" "$WORK/az-ok.dump" >/dev/null 2>&1 || true
stored_matches az-ok "$WORK/az-ok.dump"
t_run "Azure: lifeboat verify of the stored backup passes" 0 env AZURE_STORAGE_KEY="$AZ_KEY" \
	timeout 120 "$BIN/lifeboat" verify --storage "$AZ_URL" --namespace "$NS" --name az-ok \
	--passphrase-file "$WORK/passphrase"

backup az-sas "{azure: {container: backups, prefix: prod, accountName: $AZ_ACCOUNT, endpoint: \"$AZ_ENDPOINT\",
              credentialsSecretRef: {name: az, sasTokenKey: sas}}}"
t_equals "Azure (SAS token): the backup reaches Completed" Completed wait_phase az-sas Completed Failed
T_OUT=$(az list backups "prod/$NS/az-sas/")
t_contains "Azure (SAS token): its manifest is stored" "manifest.json"

backup az-refused "{azure: {container: backups, prefix: prod, accountName: $AZ_ACCOUNT, endpoint: \"$AZ_ENDPOINT\",
              credentialsSecretRef: {name: az-wrong, accountKeyKey: key}}}"
failed_with_event az-refused "Azure refusing the key"
T_OUT=$(field az-refused .status.message)
t_contains "Azure refusing: the message names the refusal" "403"
T_OUT=$(az list backups "prod/$NS/az-refused/")
t_true "Azure refusing: nothing stored under its folder" test -z "$T_OUT"

t_run "Azure Delete: deleting the resource completes" 0 kubectl -n "$NS" delete dbb az-ok --timeout=120s
T_OUT=$(az list backups "prod/$NS/az-ok/")
t_true "Azure Delete: the stored blobs are gone" test -z "$T_OUT"
t_run "Azure Retain: deleting the resource completes" 0 kubectl -n "$NS" delete dbb az-sas --timeout=60s
T_OUT=$(az list backups "prod/$NS/az-sas/")
t_contains "Azure Retain: the manifest stays" "manifest.json"

# --- GCS with a service account's JSON key ----------------------------------------
GCS_YAML="{gcs: {bucket: $GCS_BUCKET, prefix: prod, endpoint: \"http://127.0.0.1:$GCS_AUTH_PORT\",
            credentialsSecretRef: {name: gcs-key, serviceAccountKeyKey: key.json}}}"
GCS_URL="gs://$GCS_BUCKET/prod?endpoint=http://127.0.0.1:$GCS_AUTH_PORT"
backup gcs-ok "$GCS_YAML" Delete
t_equals "GCS (service-account key): the backup reaches Completed" Completed wait_phase gcs-ok Completed Failed
want=$(field gcs-ok '.status.artifact.objects[0].key')
obj=$(gcs_objects "prod/$NS/gcs-ok/" | grep -Fx "prod/$NS/gcs-ok/$want" | head -1)
T_OUT=$obj
t_matches "GCS: the dump object is listed by fake-gcs-server" '/db-[0-9a-f]{8}\.dump'
curl -s -o "$WORK/gcs-ok.dump" "$G/storage/v1/b/$GCS_BUCKET/o/$($PY -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$obj")?alt=media" || true
stored_matches gcs-ok "$WORK/gcs-ok.dump"
t_run "GCS: lifeboat verify of the stored backup passes" 0 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY GOOGLE_APPLICATION_CREDENTIALS="$WORK/key.json" \
	timeout 120 "$BIN/lifeboat" verify --storage "$GCS_URL" --namespace "$NS" --name gcs-ok \
	--passphrase-file "$WORK/passphrase"
T_OUT=$(curl -s "http://127.0.0.1:$GCS_AUTH_PORT/__gcs/stats")
t_true "GCS: the Jobs' tokens came from the JWT exchange, and no request went without one" \
	$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["grants"] >= 2 and d["unauthorized"] == 0 and not d["badAssertions"], d' "$T_OUT"

backup gcs-refused "{gcs: {bucket: $GCS_BUCKET, prefix: prod, endpoint: \"http://127.0.0.1:$GCS_AUTH_PORT\",
            credentialsSecretRef: {name: gcs-key-other, serviceAccountKeyKey: sa.json}}}"
failed_with_event gcs-refused "GCS refusing a key the account does not have"
T_OUT=$(field gcs-refused .status.message)
t_contains "GCS refusing: the message names the token endpoint's refusal" "HTTP 400 invalid_grant"
T_OUT=$(gcs_objects "prod/$NS/gcs-refused/")
t_true "GCS refusing: nothing stored under its folder" test -z "$T_OUT"
t_run "GCS Delete: deleting the resource completes" 0 kubectl -n "$NS" delete dbb gcs-ok --timeout=120s
T_OUT=$(gcs_objects "prod/$NS/gcs-ok/")
t_true "GCS Delete: the stored objects are gone" test -z "$T_OUT"

# --- no credential anywhere it should not be -------------------------------------
kubectl -n "$NS" get dbb,jobs,events -o json >"$WORK/objects.json"
GCS_PEM_LINE=$(sed -n 2p "$WORK/sa.pem")
for secret in "$PGTEST_PASSWORD" not-the-s3-secret "$AZ_KEY" "$WRONG_AZ_KEY" "${AZ_SAS#\?}" 'storage e2e passphrase' "$GCS_PEM_LINE"; do
	t_true "secret value absent from the operator's log and the objects: ${secret:0:3}..." \
		bash -c "! grep -qF -- \"\$1\" '$WORK/operator.log' '$WORK/objects.json'" _ "$secret"
done
stop_operator
t_equals "operator exits 0 on SIGTERM" 0 echo "$OP_RC"
t_true "no sanitizer report in the operator's log" bash -c "! grep -q 'Sanitizer' '$WORK/operator.log'"
if grep -q "^FAIL $T_SUITE" "$LIFEBOAT_RESULTS" 2>/dev/null || [[ ${E2E_SHOW_LOG:-0} == 1 ]]; then
	tail -40 "$WORK/operator.log" >&2
fi
