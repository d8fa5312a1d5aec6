# A small cycle for slow instrumented runs (valgrind): backup, verify, list,
# restore, wrong passphrase, a flipped bit, delete.
fresh_db small
pg_psql small -q -c "CREATE TABLE t(id int PRIMARY KEY, v text, b bytea); INSERT INTO t SELECT i, md5(i::text), decode(md5(i::text), 'hex') FROM generate_series(1, 20000) i; SELECT lo_from_bytea(0, 'large object')" >/dev/null
pg_table_checksums small >"$WORK/small.sums"
VSTORE="$WORK/vstore"
mkdir -p "$VSTORE"
t_run "instrumented: backup" 0 "${LB[@]}" backup --db "$(pg_uri small)" --storage "file://$VSTORE" --name s1 --passphrase-file "$PASS"
t_run "instrumented: backup plain gzip" 0 "${LB[@]}" backup --db "$(pg_uri small)" --storage "file://$VSTORE" --name s2 --passphrase-file "$PASS" --format plain --compression gzip
t_run "instrumented: verify" 0 "${LB[@]}" verify --storage "file://$VSTORE" --name s1 --passphrase-file "$PASS"
t_run "instrumented: list" 0 "${LB[@]}" list --storage "file://$VSTORE"
fresh_db small2
t_run "instrumented: restore" 0 "${LB[@]}" restore --db "$(pg_uri small2)" --storage "file://$VSTORE" --name s1 --passphrase-file "$PASS" --confirm small2
same_as "instrumented: restored content identical" small2 "$WORK/small.sums"
t_run "instrumented: restore plain --clean" 0 "${LB[@]}" restore --db "$(pg_uri small2)" --storage "file://$VSTORE" --name s2 --passphrase-file "$PASS" --confirm small2 --clean
same_as "instrumented: plain restore content identical" small2 "$WORK/small.sums"
t_run "instrumented: wrong passphrase" 6 "${LB[@]}" verify --storage "file://$VSTORE" --name s1 --passphrase-file "$WORK/wrongpass"
cp -r "$VSTORE/default/s1" "$VSTORE/default/s3"
printf '\x01' | dd of="$(dump_obj "$VSTORE/default/s3")" bs=1 seek=200 conv=notrunc status=none
t_run "instrumented: flipped bit" 5 "${LB[@]}" verify --storage "file://$VSTORE" --name s3 --passphrase-file "$PASS"
t_run "instrumented: restore of a flipped bit refuses" 5 "${LB[@]}" restore --db "$(pg_uri small2)" --storage "file://$VSTORE" --name s3 --passphrase-file "$PASS" --confirm small2 --clean
same_as "instrumented: target untouched after refused restore" small2 "$WORK/small.sums"
t_run "instrumented: download" 0 "${LB[@]}" download --storage "file://$VSTORE" --name s1 --passphrase-file "$PASS" --out "$WORK/s1.dump"
t_true "instrumented: download equals gpg -d | zstd -d" bash -c "gpg --batch --quiet --pinentry-mode loopback --passphrase-file '$PASS' -d '$(dump_obj "$VSTORE/default/s1")' | zstd -dc | cmp -s - '$WORK/s1.dump'"
t_run "instrumented: download --raw" 0 "${LB[@]}" download --storage "file://$VSTORE" --name s1 --raw --out "$WORK/s1.raw"
t_run "instrumented: download of a flipped bit refuses" 5 "${LB[@]}" download --storage "file://$VSTORE" --name s3 --passphrase-file "$PASS" --out "$WORK/s3.dump"
t_true "instrumented: no file after the refused download" test ! -e "$WORK/s3.dump"
rm -f "$WORK/s1.dump" "$WORK/s1.raw"
t_run "instrumented: delete" 0 "${LB[@]}" delete --storage "file://$VSTORE" --name s1
t_run "instrumented: invalid input" 2 "${LB[@]}" backup --storage "file://$VSTORE" --name "A"
