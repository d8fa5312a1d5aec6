# download: the dump equals what `gpg -d | zstd -d` makes of the stored
# object and pg_restore reads it; --raw gives the stored bytes (the
# manifest's sha256); a flipped byte or a wrong passphrase leaves no file,
# not even a .partial; stdout; the files archive with --files-out.

export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
GPG=(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS")
DL="$WORK/dl"
rm -rf "$DL" && mkdir -p "$DL"
DSRC="$WORK/dl-files"
rm -rf "$DSRC" && mkdir -p "$DSRC/sub" && echo hello >"$DSRC/a.txt" && head -c 100000 /dev/urandom >"$DSRC/sub/b.bin"
no_partials() { ! compgen -G "$DL/*.partial-*" >/dev/null; }
# download prints no result on stdout (the data may go there): --result-path.

t_run "download: a backup with --files to download from" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name dl1 \
	--passphrase-file "$PASS" --files "$DSRC"
OBJ=$(dump_obj "$STORE/default/dl1")
"${GPG[@]}" -d "$OBJ" | zstd -dc >"$DL/by-hand.dump"

t_run "download: --out FILE succeeds" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" \
	--out "$DL/dl1.dump"
t_same "download: equals gpg -d | zstd -d of the stored object" "$DL/by-hand.dump" "$DL/dl1.dump"
t_true "download: pg_restore --list reads it" \
	bash -c "pg_restore --list '$DL/dl1.dump' | grep -q 'TABLE DATA'"
t_equals "download: the file is 0600" 600 stat -c %a "$DL/dl1.dump"
t_true "download: no .partial left after success" no_partials

t_run "download: an existing --out is refused (exit 9)" 9 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" \
	--out "$DL/dl1.dump"
t_contains "download: the refusal names --force" "give --force to replace it"
t_run "download: --force replaces it" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" \
	--out "$DL/dl1.dump" --force
t_same "download: the replaced file is the dump" "$DL/by-hand.dump" "$DL/dl1.dump"

set +e
"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" --out - \
	>"$DL/stdout.dump" 2>"$DL/stdout.err"
rc=$?
set -e
t_equals "download: --out - exits 0" 0 echo "$rc"
t_same "download: --out - writes the dump to stdout, nothing else" "$DL/by-hand.dump" "$DL/stdout.dump"

# SIGTERM mid-stream: stdout is a FIFO nobody reads yet, so the download
# blocks with its --files-out temporary file open; after the signal it must
# remove it and leave no target.
mkfifo "$DL/fifo"
"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" --out - \
	--files-out "$DL/sig.tar" >"$DL/fifo" 2>"$DL/sig.err" &
sigpid=$!
exec 7<"$DL/fifo"
sleep 1
if compgen -G "$DL/sig.tar.partial-*" >/dev/null; then seen=yes; else seen=no; fi
t_equals "download: while it streams, the --files-out .partial exists" yes echo "$seen"
kill -TERM "$sigpid"
cat <&7 >/dev/null
exec 7<&-
set +e
wait "$sigpid"
rc=$?
set -e
t_equals "download: SIGTERM: exit 1 (LocalIOError)" 1 echo "$rc"
t_true "download: SIGTERM: the log says interrupted" grep -q 'interrupted by signal 15' "$DL/sig.err"
t_true "download: SIGTERM: no target file" test ! -e "$DL/sig.tar"
t_true "download: SIGTERM: no .partial left" no_partials
rm -f "$DL/fifo"

t_run "download: --raw succeeds" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --raw --out "$DL/dl1.raw"
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"][0]["sha256"])' \
	"$STORE/default/dl1/manifest.json")
t_equals "download: --raw output's sha256 is the manifest's" "$want" \
	bash -c "sha256sum '$DL/dl1.raw' | cut -d' ' -f1"
t_same "download: --raw output is the stored object" "$OBJ" "$DL/dl1.raw"

t_run "download: --files-out writes the files archive" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" \
	--out "$DL/dl1b.dump" --files-out "$DL/dl1.tar"
"${GPG[@]}" -d "$(files_obj "$STORE/default/dl1")" | zstd -dc >"$DL/by-hand.tar"
t_same "download: --files-out equals gpg -d | zstd -d of files.tar.zst.pgp" "$DL/by-hand.tar" "$DL/dl1.tar"
t_true "download: the files archive lists a.txt" bash -c "tar -tf '$DL/dl1.tar' | grep -q 'a.txt'"

mkdir -p "$DL/adir"
t_run "download: --files-out cannot be renamed into place (a folder): exit 1" 1 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$PASS" \
	--out "$DL/both.dump" --files-out "$DL/adir" --force
t_contains "download: the message says the rename failed" "cannot rename the finished file into place"
t_true "download: neither output is left: no dump either" test ! -e "$DL/both.dump"
t_true "download: no .partial left after the failed rename" no_partials
t_run "download: wrong passphrase: exit 6" 6 \
	"${LB[@]}" download --storage "file://$STORE" --name dl1 --passphrase-file "$WORK/wrongpass" \
	--out "$DL/wrong.dump" --result-path "$DL/wrong.json"
t_true "download: wrong passphrase: the result says WrongPassphrase" \
	grep -q '"reason": *"WrongPassphrase"' "$DL/wrong.json"
t_true "download: wrong passphrase: no file" test ! -e "$DL/wrong.dump"
t_true "download: wrong passphrase: no .partial" no_partials

rm -rf "$STORE/default/dl-flip"
cp -r "$STORE/default/dl1" "$STORE/default/dl-flip"
size=$(stat -c %s "$(dump_obj "$STORE/default/dl-flip")")
python3 - "$(dump_obj "$STORE/default/dl-flip")" "$((size / 2))" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
PY
t_run "download: a flipped byte: exit 5" 5 \
	"${LB[@]}" download --storage "file://$STORE" --name dl-flip --passphrase-file "$PASS" \
	--out "$DL/flip.dump" --result-path "$DL/flip.json"
t_true "download: a flipped byte: the result says IntegrityCheckFailed" \
	grep -q '"reason": *"IntegrityCheckFailed"' "$DL/flip.json"
t_contains "download: a flipped byte: the message is a checksum mismatch" "checksum mismatch"
t_true "download: a flipped byte: no file" test ! -e "$DL/flip.dump"
t_true "download: a flipped byte: no .partial" no_partials
t_run "download: a flipped byte, --raw: exit 5" 5 \
	"${LB[@]}" download --storage "file://$STORE" --name dl-flip --raw --out "$DL/flip.raw"
t_true "download: a flipped byte, --raw: no file" test ! -e "$DL/flip.raw"
set +e
"${LB[@]}" download --storage "file://$STORE" --name dl-flip --passphrase-file "$PASS" --out - \
	>/dev/null 2>&1
rc=$?
set -e
t_equals "download: a flipped byte to stdout: exit 5" 5 echo "$rc"

t_run "download: an unencrypted plain backup" 0 \
	env -u LIFEBOAT_PASSPHRASE "${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name dl-plain \
	--format plain
t_run "download: no passphrase needed for it" 0 \
	env -u LIFEBOAT_PASSPHRASE "${LB[@]}" download --storage "file://$STORE" --name dl-plain \
	--out "$DL/plain.sql"
t_run "download: --files-out on a backup without files is refused (exit 2)" 2 \
	env -u LIFEBOAT_PASSPHRASE "${LB[@]}" download --storage "file://$STORE" --name dl-plain \
	--out "$DL/x.sql" --files-out "$DL/x.tar"
t_true "download: the refusal leaves no file" test ! -e "$DL/x.sql"
t_true "download: a plain backup gives the SQL script" grep -q '^CREATE TABLE' "$DL/plain.sql"
t_run "download: an encrypted backup without a passphrase: exit 2" 2 \
	env -u LIFEBOAT_PASSPHRASE "${LB[@]}" download --storage "file://$STORE" --name dl1 \
	--out "$DL/nopass.dump"
t_true "download: without a passphrase: no file" test ! -e "$DL/nopass.dump"
rm -rf "$DL" "$DSRC" "$STORE/default/dl-flip"
