#!/usr/bin/env bash
# `make demo`: the lifeboat job end to end on a throwaway PostgreSQL: back up
# (encrypted, to a local folder), change the data, restore, show it back;
# then the operator on the real control plane (tests/cluster/up: etcd,
# kube-apiserver, kube-controller-manager and the node agent): kubectl apply
# -f examples/backup.yaml, the DatabaseBackup Completed with its size, and
# the backup in the volume. (The schedule and restore examples join when
# their controllers land: issues 9 and 10.)
set -euo pipefail
LIFEBOAT=${1:?usage: tests/demo.sh PATH/TO/lifeboat (lifeboat-operator beside it)}
BIN=$(cd "$(dirname "$LIFEBOAT")" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/pg.sh
source "$root/tests/lib/pg.sh"
DEMO=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
chmod 755 "$DEMO"
CLUSTER=$DEMO/cluster
OPERATOR_PID=
trap '[[ -z $OPERATOR_PID ]] || kill "$OPERATOR_PID" 2>/dev/null || true; "$root/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true; pg_stop || true; rm -rf "$DEMO"' EXIT

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A throwaway PostgreSQL with a small shop database"
PGTEST_WANT_PORT=5432 pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE shop" >/dev/null
pg_psql shop -q <<'SQL' >/dev/null
CREATE TABLE customers(id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders(id serial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2), placed_at timestamptz);
INSERT INTO customers(name, email) VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com'), ('Linus', 'linus@example.com');
INSERT INTO orders(customer_id, total, placed_at)
  SELECT 1 + i % 3, (i * 7 % 1000) / 10.0, '2026-11-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 5000) i;
SQL
DB=$(pg_uri_pw shop)
export LIFEBOAT_STORAGE="file://$DEMO/backups"
mkdir -p "$DEMO/backups"
echo 'demo passphrase, keep it in a Secret' >"$DEMO/passphrase"
pg_psql shop -c "SELECT name, count(o.*) AS orders, sum(total) AS revenue FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY name ORDER BY name"

say "Back up: pg_dump -> zstd -> OpenPGP (AES-256) -> SHA-256 -> storage"
printf "$ LIFEBOAT_DB=postgresql://lifeboat:****@127.0.0.1:%s/shop %s backup --name shop-nightly --passphrase-file passphrase\n" "$PGTEST_PORT" "$LIFEBOAT"
LIFEBOAT_DB=$DB "$LIFEBOAT" backup --name shop-nightly --passphrase-file "$DEMO/passphrase" | python3 -m json.tool | grep -v -e '"key"' -e '"location"'

say "What the storage holds"
run "$LIFEBOAT" list
run find "$DEMO/backups" -type f

say "The manifest (written last: a manifest means a complete backup)"
cat "$DEMO/backups/default/shop-nightly/manifest.json"

say "Verify: re-read, check sizes, SHA-256, the OpenPGP MDC, pg_restore --list"
printf '$ lifeboat verify --name shop-nightly --passphrase-file passphrase\n'
"$LIFEBOAT" verify --name shop-nightly --passphrase-file "$DEMO/passphrase" | python3 -m json.tool | grep -A4 '"verification"'

say "Disaster: someone deletes Ada's orders and renames Grace"
pg_psql shop -c "DELETE FROM orders WHERE customer_id = 1; UPDATE customers SET name = 'Oops' WHERE id = 2"
pg_psql shop -c "SELECT name, count(o.*) AS orders, sum(total) AS revenue FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY name ORDER BY name"

say "A restore with the wrong confirmation is refused, touching nothing"
printf '$ lifeboat restore --name shop-nightly --passphrase-file passphrase --confirm prod --clean\n'
LIFEBOAT_DB=$DB "$LIFEBOAT" restore --name shop-nightly --passphrase-file "$DEMO/passphrase" --confirm prod --clean 2>&1 | tail -1 || true

say "Restore (one transaction, committed only after every check passed)"
printf '$ lifeboat restore --name shop-nightly --passphrase-file passphrase --confirm shop --clean\n'
LIFEBOAT_DB=$DB "$LIFEBOAT" restore --name shop-nightly --passphrase-file "$DEMO/passphrase" --confirm shop --clean | python3 -m json.tool | grep -A7 '"restore"'

say "The data is back"
pg_psql shop -c "SELECT name, count(o.*) AS orders, sum(total) AS revenue FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY name ORDER BY name"

say "And plain gpg opens the backup without lifeboat"
mkdir -p "$DEMO/gnupg" && chmod 700 "$DEMO/gnupg"
run bash -c "GNUPGHOME=$DEMO/gnupg gpg --batch --quiet --pinentry-mode loopback --passphrase-file $DEMO/passphrase -d $DEMO/backups/default/shop-nightly/db-*.dump.zst.pgp | zstd -dc | pg_restore --list | grep 'TABLE DATA'"

say "On Kubernetes: a real control plane (etcd, kube-apiserver, kube-controller-manager, a node)"
printf '$ tests/cluster/up %s\n' "$CLUSTER"
LIFEBOAT_BIN_DIR=$BIN "$root/tests/cluster/up" "$CLUSTER" | sed -n '1p'
export KUBECONFIG=$CLUSTER/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
kubectl() { "$KUBECTL" --cache-dir "$DEMO/kcache" "$@"; }
run kubectl get nodes

say "The CRDs and the operator (here a local process on the admin kubeconfig; in a cluster, the Helm chart)"
run kubectl apply -f "$root/crds/"
run kubectl wait --for=condition=Established crd --all --timeout=60s
printf '$ lifeboat-operator --namespaces default --log-format logfmt &\n'
timeout 900 "$BIN/lifeboat-operator" --kubeconfig "$KUBECONFIG" --namespaces default --log-format logfmt \
	--metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 >"$DEMO/operator.log" 2>&1 &
OPERATOR_PID=$!

say "The database examples/backup.yaml expects: role app (password change-me) and database app on 127.0.0.1:5432"
pg_psql postgres -q <<'SQL' >/dev/null
CREATE ROLE app LOGIN PASSWORD 'change-me' IN ROLE pg_read_all_data;
CREATE DATABASE app TEMPLATE shop OWNER app;
SQL
# app owns its tables, so it can restore them as they were (owners kept).
pg_psql app -q -c "ALTER TABLE customers OWNER TO app; ALTER TABLE orders OWNER TO app" >/dev/null
example=$root/examples/backup.yaml
if [[ $PGTEST_PORT != 5432 ]]; then
	# 127.0.0.1:5432 was taken on this machine: the same file, our port.
	echo "(port 5432 is in use here: applying examples/backup.yaml with port $PGTEST_PORT)"
	sed "s/port: 5432/port: $PGTEST_PORT/" "$example" >"$DEMO/backup.yaml"
	example=$DEMO/backup.yaml
fi
# The same for the schedule and the restore (their database blocks say no
# port: 5432 is the default).
for f in schedule restore; do
	if [[ $PGTEST_PORT != 5432 ]]; then
		sed "s/^\( *\)host: 127.0.0.1\(.*\)$/\1host: 127.0.0.1\2\n\1port: $PGTEST_PORT/" \
			"$root/examples/$f.yaml" >"$DEMO/$f.yaml"
	else
		cp "$root/examples/$f.yaml" "$DEMO/$f.yaml"
	fi
done

say "One backup, with kubectl"
printf '$ kubectl apply -f examples/backup.yaml\n'
kubectl apply -f "$example"
printf "$ kubectl wait dbb/app-backup --for=jsonpath='{.status.phase}'=Completed\n"
if ! kubectl wait dbb/app-backup --for=jsonpath='{.status.phase}'=Completed --timeout=300s; then
	kubectl describe dbb app-backup
	tail -20 "$DEMO/operator.log"
	exit 1
fi
run kubectl get dbb
run kubectl get dbb app-backup -o jsonpath='{.status.artifact}{"\n"}'
printf '$ kubectl get events --field-selector involvedObject.name=app-backup\n'
kubectl get events --field-selector involvedObject.name=app-backup -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message
run kubectl get jobs,pods -l lifeboat.dev/backup=app-backup

say "And in the volume, the backup the Job wrote"
run "$LIFEBOAT" list --storage "file://$CLUSTER/volumes/default/backups"

say "A schedule, with retention, in a real time zone"
printf '$ kubectl apply -f examples/schedule.yaml\n'
kubectl apply -f "$DEMO/schedule.yaml"
for ((i = 0; i < 40; i++)); do
	[[ -n $(kubectl get dbs app-nightly -o jsonpath='{.status.nextScheduleTime}' 2>/dev/null) ]] && break
	sleep 0.5
done
run kubectl get dbs
run kubectl get dbs app-nightly -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}{"\n"}'

say "Disaster on Kubernetes: someone deletes Ada's orders in app"
pg_psql app -q -c "DELETE FROM orders WHERE customer_id = 1" >/dev/null
pg_psql app -c "SELECT name, count(o.*) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY name ORDER BY name"

say "A DatabaseRestore: a safety backup of app first, then the restore, with an audit record"
printf '$ kubectl apply -f examples/restore.yaml\n'
kubectl apply -f "$DEMO/restore.yaml"
printf "$ kubectl wait dbr/app-restore --for=jsonpath='{.status.phase}'=Completed\n"
if ! kubectl wait dbr/app-restore --for=jsonpath='{.status.phase}'=Completed --timeout=300s; then
	kubectl describe dbr app-restore
	tail -20 "$DEMO/operator.log"
	exit 1
fi
run kubectl get dbr
run kubectl get dbb
printf '$ kubectl get events --field-selector involvedObject.name=app-restore\n'
kubectl get events --field-selector involvedObject.name=app-restore -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message
run kubectl get dbr app-restore -o jsonpath='{.status.restoredBackup}{"\n"}{.status.safetyBackup}{"\n"}{.status.auditRecord}{"\n"}'

say "The data is back"
pg_psql app -c "SELECT name, count(o.*) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY name ORDER BY name"

say "The audit record, from storage alone (it outlives the database and the cluster)"
run "$LIFEBOAT" audit --storage "file://$CLUSTER/volumes/default/backups" --namespace default
audit=$(find "$CLUSTER/volumes/default/backups/default/_restores" -name app-restore.json | sed -n 1p)
printf '$ cat %s\n' "${audit#"$CLUSTER/volumes/default/backups/"}"
python3 -m json.tool "$audit"
kill -TERM "$OPERATOR_PID" 2>/dev/null || true
wait "$OPERATOR_PID" 2>/dev/null || true
OPERATOR_PID=
echo
echo "demo: done (the control plane, the operator, PostgreSQL and the folder are removed on exit)"
