#!/usr/bin/env bash
# `make demo`: the lifeboat job end to end on a throwaway PostgreSQL: back up
# (encrypted, to a local folder), change the data, restore, show it back.
set -euo pipefail
LIFEBOAT=${1:?usage: tests/demo.sh PATH/TO/lifeboat}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/pg.sh
source "$root/tests/lib/pg.sh"
DEMO=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
chmod 755 "$DEMO"
trap 'pg_stop || true; rm -rf "$DEMO"' EXIT

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
echo
echo "demo: done (the cluster and the folder are removed on exit)"
