#!/usr/bin/env bash
# `make demo`: the lifeboat job end to end on a throwaway PostgreSQL: back up
# (encrypted, to a local folder), change the data, restore, show it back;
# then the same job as a Kubernetes Job on the real control plane
# (tests/cluster/up: etcd, kube-apiserver, kube-controller-manager and the
# node agent), driven with kubectl.
set -euo pipefail
LIFEBOAT=${1:?usage: tests/demo.sh PATH/TO/lifeboat}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/pg.sh
source "$root/tests/lib/pg.sh"
DEMO=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
chmod 755 "$DEMO"
CLUSTER=$DEMO/cluster
trap '"$root/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true; pg_stop || true; rm -rf "$DEMO"' EXIT

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A throwaway PostgreSQL with a small shop database"
pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE shop" >/dev/null
pg_psql shop -q <<'SQL' >/dev/null
CREATE TABLE customers(id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders(id serial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2), placed_at timestamptz);
INSERT INTO customers(name, email) VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com'), ('Linus', 'linus@example.com');
INSERT INTO orders(customer_id, total, placed_at)
  SELECT 1 + i % 3, (i * 7 % 1000) / 10.0, '2026-11-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 5000) i;
SQL
DB=$(pg_uri shop)
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
run bash -c "GNUPGHOME=$DEMO/gnupg gpg --batch --quiet --pinentry-mode loopback --passphrase-file $DEMO/passphrase -d $DEMO/backups/default/shop-nightly/db.dump.zst.pgp | zstd -dc | pg_restore --list | grep 'TABLE DATA'"

say "On Kubernetes: a real control plane (etcd, kube-apiserver, kube-controller-manager, a node)"
printf '$ tests/cluster/up %s\n' "$CLUSTER"
"$root/tests/cluster/up" "$CLUSTER" | sed -n '1p'
export KUBECONFIG=$CLUSTER/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
kubectl() { "$KUBECTL" --cache-dir "$DEMO/kcache" "$@"; }
run kubectl get nodes

say "The database URI and the passphrase go into Secrets; the backups into a PersistentVolumeClaim"
printf '$ kubectl create secret generic shop-db --from-literal=uri=postgresql://lifeboat:****@127.0.0.1:%s/shop\n' "$PGTEST_PORT"
kubectl create secret generic shop-db --from-literal=uri="$DB"
run kubectl create secret generic shop-passphrase --from-file=passphrase="$DEMO/passphrase"
version=$(sed -n 's/^VERSION := //p' "$root/Makefile")
cat >"$DEMO/job.yaml" <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: backups}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: shop-backup}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 600
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: lifeboat
        image: ghcr.io/lifeboat-dev/lifeboat-job:$version
        args: [backup]
        terminationMessagePolicy: FallbackToLogsOnError
        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        env:
        - {name: LIFEBOAT_DB, valueFrom: {secretKeyRef: {name: shop-db, key: uri}}}
        - {name: LIFEBOAT_STORAGE, value: "file:///backups"}
        - {name: LIFEBOAT_NAME, value: shop-on-k8s}
        - {name: LIFEBOAT_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: LIFEBOAT_PASSPHRASE_FILE, value: /secrets/passphrase}
        - {name: LIFEBOAT_PG_BINDIR, value: "$PGTEST_BIN"}
        volumeMounts:
        - {name: backups, mountPath: /backups}
        - {name: passphrase, mountPath: /secrets, readOnly: true}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: backups, persistentVolumeClaim: {claimName: backups}}
      - {name: passphrase, secret: {secretName: shop-passphrase}}
      - {name: tmp, emptyDir: {}}
EOF
printf '$ cat job.yaml   # a Job running the lifeboat-job image as a non-root, read-only container\n'
run kubectl apply -f "$DEMO/job.yaml"
run kubectl wait --for=condition=Complete job/shop-backup --timeout=300s
run kubectl get job,pods -l batch.kubernetes.io/job-name=shop-backup

say "The job's JSON result, read back from the pod's termination message"
printf "$ kubectl get pods -l batch.kubernetes.io/job-name=shop-backup -o jsonpath='{..state.terminated.message}'\n"
kubectl get pods -l batch.kubernetes.io/job-name=shop-backup -o jsonpath='{..state.terminated.message}' |
	python3 -m json.tool | grep -E '"(command|name|size|sha256|encrypted|serverVersion|tableCount)"' | head -12

say "And in the volume, the backup the pod wrote"
run "$LIFEBOAT" list --storage "file://$CLUSTER/volumes/default/backups"
echo
echo "demo: done (the control plane, PostgreSQL and the folder are removed on exit)"
