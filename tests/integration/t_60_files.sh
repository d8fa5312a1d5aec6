# --files: a folder beside the database, archived as tar through the same
# zstd and OpenPGP pipeline into files.tar.zst.pgp; verified, opened by hand
# with gpg | zstd | GNU tar, restored atomically; corruption leaves the
# folder as it was; memory stays bounded.

export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
GPG=(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS")
FSRC="$WORK/uploads"
rm -rf "$FSRC"
mkdir -p "$FSRC"
# 3000 files over 30 folders, names with spaces, newlines, UTF-8, leading
# dashes and a 300-byte path; symlinks in and out of the folder, a dangling
# one, a link to a folder; empty and read-only folders.
python3 - "$FSRC" <<'PY'
import os, sys
root = sys.argv[1]
odd = ["plain", "with space", "new\nline", "-leading-dash", "--", "ünïcødé ✓ 🚣", "tab\there",
       "quote\"s", "back\\slash", "star*", "x" * 200]
n = 0
for d in range(30):
    sub = os.path.join(root, f"dir {d:02d}" if d % 3 else f"-d{d}")
    os.makedirs(sub)
    for i in range(100):
        name = f"{odd[(d + i) % len(odd)]}-{i}"
        with open(os.path.join(sub, name), "wb") as f:
            f.write(os.urandom((d * 100 + i) % 5000))
        os.utime(os.path.join(sub, name), (1700000000 + n, 1700000000 + n))
        n += 1
deep = os.path.join(root, *(["0123456789abcdefghi"] * 16))
os.makedirs(deep)
with open(os.path.join(deep, "deep leaf"), "w") as f:
    f.write("deep\n")
os.makedirs(os.path.join(root, "empty"))
os.makedirs(os.path.join(root, "empty", "nested empty"))
os.symlink("dir 01/plain-0", os.path.join(root, "link-in"))
os.symlink("/etc/hostname", os.path.join(root, "link-abs"))
os.symlink("../outside", os.path.join(root, "link-up"))
os.symlink("no/such/file", os.path.join(root, "dangling"))
os.symlink("dir 02", os.path.join(root, "link-dir"))
os.makedirs(os.path.join(root, "readonly"))
with open(os.path.join(root, "readonly", "ro"), "w") as f:
    f.write("ro")
os.chmod(os.path.join(root, "readonly", "ro"), 0o444)
os.chmod(os.path.join(root, "readonly"), 0o555)
os.mkfifo(os.path.join(root, "a-fifo"))
PY
# What GNU tar should list: every entry (the fifo is skipped), NUL-separated.
(cd "$FSRC" && find . -mindepth 1 ! -type p -printf '%P\0' | sort -z) >"$WORK/files.want"
want_count=$(tr -cd '\0' <"$WORK/files.want" | wc -c)

t_run "files: backup --files archives a folder of 3000+ entries" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files1 \
	--passphrase-file "$PASS" --files "$FSRC" --result-path "$WORK/files1.json"
t_contains "files: the skipped fifo is named in a warning" 'skipped "a-fifo"'
FOBJ=$(files_obj "$STORE/default/files1")
DOBJ=$(basename "$(dump_obj "$STORE/default/files1")")
t_true "files: the object files-<attempt>.tar.zst.pgp is stored beside the dump, of the same attempt" \
	bash -c "test -s '$FOBJ' && [[ files-${DOBJ#db-} == \$(basename '$FOBJ' | sed 's/\.tar\./.dump./') ]]"
t_equals "files: the manifest records object, size, sha256 and count" \
	"$(basename "$FOBJ") $(stat -c %s "$FOBJ") $(sha256sum "$FOBJ" | cut -d' ' -f1) $want_count" \
	python3 -c "import json; f=json.load(open('$STORE/default/files1/manifest.json'))['files']; print(f['object'], f['size'], f['sha256'], f['count'])"
t_equals "files: the result has artifact.files with the same fields; objects lists only the dump" \
	"$(basename "$FOBJ") $(stat -c %s "$FOBJ") $(sha256sum "$FOBJ" | cut -d' ' -f1) $want_count $DOBJ" \
	python3 -c "import json; a=json.load(open('$WORK/files1.json'))['artifact']; f=a['files']; print(f['object'], f['size'], f['sha256'], f['count'], ' '.join(o['key'] for o in a['objects']))"
# GNU tar -t, one escaped name a line: every entry plus the folder's "./".
${GPG[*]} -d "$FOBJ" | zstd -dc | tar -tf - --quoting-style=escape >"$WORK/files.list"
t_equals "files: gpg -d | zstd -d | GNU tar -t lists every entry" "$((want_count + 1))" \
	wc -l <"$WORK/files.list"
t_true "files: tar -t lists a deep path, a newline name, a leading dash, a link and an empty folder" \
	bash -c "grep -q '/deep\\\\ leaf\$\|/deep leaf\$' '$WORK/files.list' && grep -qF 'new\\nline-' '$WORK/files.list' && grep -q '^-d0/--leading-dash-\|^-d0/-leading-dash-' '$WORK/files.list' && grep -q '^link-dir\$' '$WORK/files.list' && grep -q '^empty/nested empty/\$\|^empty/nested\\\\ empty/\$' '$WORK/files.list'"
# And GNU tar extracts it to the very same tree.
mkdir -p "$WORK/gnutar-out"
t_true "files: GNU tar extracts the object without complaint" \
	bash -c "${GPG[*]} -d '$FOBJ' | zstd -dc | tar -xf - -C '$WORK/gnutar-out'"
(cd "$WORK/gnutar-out" && find . -mindepth 1 -printf '%P\0' | sort -z) >"$WORK/files.gnutar"
t_same "files: GNU tar's extraction holds exactly the folder's entries" "$WORK/files.want" "$WORK/files.gnutar"
t_true "files: GNU tar's extraction has the same contents and links" \
	bash -c "test -f '$WORK/gnutar-out/link-dir/with space-10' && diff -r --no-dereference '$FSRC' '$WORK/gnutar-out' | grep -v '^Only in .*: a-fifo\$' | { ! grep .; }"
chmod -R u+w "$WORK/gnutar-out"

t_run "files: verify checks the files object too" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name files1 --passphrase-file "$PASS"
t_contains "files: verify's method names the tar check" "+tar"
t_contains "files: verify reports the entries" "$want_count entries"

fresh_db files_target
mkdir -p "$WORK/restored"
t_run "files: restore --files into a new folder" 0 \
	"${LB[@]}" restore --db "$(pg_uri files_target)" --storage "file://$STORE" --name files1 \
	--passphrase-file "$PASS" --confirm files_target --files "$WORK/restored/uploads"
same_as "files: the database is restored too" files_target "$WORK/fixture.sums"
t_true "files: diff -r --no-dereference finds the restored folder identical" \
	bash -c "test -d '$WORK/restored/uploads' && diff -r --no-dereference '$FSRC' '$WORK/restored/uploads' | grep -v '^Only in .*: a-fifo\$' | { ! grep .; }"
t_true "files: symlinks are still symlinks with their targets" \
	bash -c "test -L '$WORK/restored/uploads/link-abs' && test \"\$(readlink '$WORK/restored/uploads/link-up')\" = ../outside && test -L '$WORK/restored/uploads/dangling' && test -L '$WORK/restored/uploads/link-dir'"
t_true "files: modes and mtimes are kept" \
	bash -c "cd '$FSRC' && find . ! -type p ! -type l -exec stat -c '%n %a %Y' {} + | sort >'$WORK/meta.a' && cd '$WORK/restored/uploads' && find . ! -type l -exec stat -c '%n %a %Y' {} + | sort >'$WORK/meta.b' && cmp -s '$WORK/meta.a' '$WORK/meta.b'"
t_true "files: no temporary folder is left beside it" \
	bash -c "! ls -A '$WORK/restored' | grep -q lifeboat"

# Restoring over an existing folder replaces it whole.
mkdir -p "$WORK/existing/uploads" && echo stale >"$WORK/existing/uploads/stale-file"
fresh_db files_target
t_run "files: restore --files over an existing folder" 0 \
	"${LB[@]}" restore --db "$(pg_uri files_target)" --storage "file://$STORE" --name files1 \
	--passphrase-file "$PASS" --confirm files_target --files "$WORK/existing/uploads"
t_true "files: the existing folder is replaced (its stale file is gone)" \
	bash -c "! test -e '$WORK/existing/uploads/stale-file' && test -f '$WORK/existing/uploads/dir 01/with space-0'"
t_true "files: nothing is left beside the replaced folder" \
	bash -c "test \"\$(ls -A '$WORK/existing')\" = uploads"

# Without --files: the database only, said so.
fresh_db files_target
t_run "files: restore without --files restores only the database" 0 \
	"${LB[@]}" restore --db "$(pg_uri files_target)" --storage "file://$STORE" --name files1 \
	--passphrase-file "$PASS" --confirm files_target
t_contains "files: the log says only the database is restored" "only the database is restored"
# --files for a backup without a files archive: a clear error.
t_run "files: a dump-only backup: backup without --files" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-none \
	--passphrase-file "$PASS"
t_run "files: restore --files of a backup without files archive is refused (exit 2)" 2 \
	"${LB[@]}" restore --db "$(pg_uri files_target)" --storage "file://$STORE" --name files-none \
	--passphrase-file "$PASS" --confirm files_target --files "$WORK/never"
t_contains "files: the refusal says the backup has no files archive" "has no files archive"
t_true "files: the refused restore created nothing" test ! -e "$WORK/never"
t_run "files: backup --files of a missing folder is refused (exit 2)" 2 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-missing \
	--passphrase-file "$PASS" --files "$WORK/no-such-folder"
t_true "files: ... and leaves no backup" test ! -e "$STORE/default/files-missing/manifest.json"
# LIFEBOAT_FILES sets the same flag.
t_run "files: LIFEBOAT_FILES works as --files" 0 \
	env LIFEBOAT_FILES="$FSRC/empty" "${LB[@]}" backup --db "$(pg_uri fixture)" \
	--storage "file://$STORE" --name files-env --passphrase-file "$PASS"
t_equals "files: ... archiving that folder (one empty subfolder)" "1" \
	python3 -c "import json; print(json.load(open('$STORE/default/files-env/manifest.json'))['files']['count'])"

# A files archive that cannot be written leaves no manifest (nothing that
# looks complete): an unreadable file inside the folder.
if [[ $(id -u) -ne 0 ]]; then
	mkdir -p "$WORK/unreadable" && echo secret >"$WORK/unreadable/locked" && chmod 000 "$WORK/unreadable/locked"
	t_run "files: an unreadable file fails the backup (exit 1)" 1 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-fail \
		--passphrase-file "$PASS" --files "$WORK/unreadable"
	t_contains "files: the error names the file" "locked"
else
	# root reads everything: a folder too deep for FILES_MAX_DEPTH instead.
	mkdir -p "$WORK/unreadable/$(printf 'd/%.0s' $(seq 1 260))"
	t_run "files: a folder nested too deep fails the backup (exit 2)" 2 \
		"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-fail \
		--passphrase-file "$PASS" --files "$WORK/unreadable"
	t_contains "files: the error says so" "256 folders deep"
fi
t_true "files: the failed backup left no manifest and no objects" \
	bash -c "test ! -e '$STORE/default/files-fail/manifest.json' && test -z \"\$(ls -A '$STORE/default/files-fail' 2>/dev/null)\""
chmod -R u+rwX "$WORK/unreadable"

# A corrupt files object: verify and restore fail, the old folder and the
# database stay as they were.
rm -rf "$STORE/default/files-bad"
cp -r "$STORE/default/files1" "$STORE/default/files-bad"
rm -f "$STORE/default/files-bad/verified.json"
python3 - "$(files_obj "$STORE/default/files-bad")" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    size = f.seek(0, 2); f.seek(size // 2); b = f.read(1); f.seek(size // 2); f.write(bytes([b[0] ^ 0x01]))
PY
t_run "files: verify fails on a corrupt files object (exit 5)" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name files-bad --passphrase-file "$PASS"
t_contains "files: the error is a checksum mismatch naming the object" "$(basename "$FOBJ")"
mkdir -p "$WORK/keep/uploads" && echo precious >"$WORK/keep/uploads/precious"
keep_state() { (cd "$WORK/keep/uploads" && find . -printf '%P %m %T@\n' | sort) && ls -A "$WORK/keep"; }
keep_state >"$WORK/keep.before"
fresh_db files_victim fixture
pg_psql files_victim -q -c "CREATE TABLE canary(v text); INSERT INTO canary VALUES ('before')" >/dev/null
pg_table_checksums files_victim >"$WORK/files_victim.sums"
t_run "files: restore of a corrupt files object fails (exit 5)" 5 \
	"${LB[@]}" restore --db "$(pg_uri files_victim)" --storage "file://$STORE" --name files-bad \
	--passphrase-file "$PASS" --confirm files_victim --clean --files "$WORK/keep/uploads"
t_contains "files: the error says the folder is unchanged" "is unchanged"
keep_state >"$WORK/keep.after"
t_same "files: the old folder is untouched, nothing left beside it" "$WORK/keep.before" "$WORK/keep.after"
same_as "files: the database is untouched" files_victim "$WORK/files_victim.sums"
# A truncated files object (size matches the manifest's expectations no more).
truncate -s -100 "$(files_obj "$STORE/default/files-bad")"
t_run "files: restore of a truncated files object fails (exit 5)" 5 \
	"${LB[@]}" restore --db "$(pg_uri files_victim)" --storage "file://$STORE" --name files-bad \
	--passphrase-file "$PASS" --confirm files_victim --files "$WORK/keep/uploads"
keep_state >"$WORK/keep.after"
t_same "files: ... the old folder still untouched" "$WORK/keep.before" "$WORK/keep.after"
# The count is checked too: a manifest claiming one entry more.
rm -rf "$STORE/default/files-count"
cp -r "$STORE/default/files1" "$STORE/default/files-count"
python3 - "$STORE/default/files-count/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["files"]["count"] += 1; json.dump(m, open(sys.argv[1], "w"))
PY
t_run "files: verify fails when the entry count differs from the manifest (exit 5)" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name files-count --passphrase-file "$PASS"
t_contains "files: ... saying how many entries the archive holds" "holds $want_count entries"

# Bounded memory: a folder of one 1 GiB file (sparse, so quick) and one of
# 3000 small files cost about what a dump-only backup costs.
mkdir -p "$WORK/bigfile" && truncate -s 1G "$WORK/bigfile/huge.bin"
"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-rss-base \
	--passphrase-file "$PASS" --result-path "$WORK/rss-base.json" >/dev/null 2>&1
t_run "files: backup of a 1 GiB file" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name files-rss-big \
	--passphrase-file "$PASS" --files "$WORK/bigfile" --result-path "$WORK/rss-big.json"
rss() { python3 -c "import json; print(json.load(open('$1'))['peakRssKiB'])"; }
base=$(rss "$WORK/rss-base.json") big=$(rss "$WORK/rss-big.json") many=$(rss "$WORK/files1.json")
echo "  peak RSS KiB: dump only $base, 1 GiB file $big, 3000 files $many"
t_true "files: peak memory with a 1 GiB file stays within 32 MiB of a dump-only backup" \
	test "$big" -lt $((base + 32768))
t_true "files: peak memory with 3000 files stays within 32 MiB of a dump-only backup" \
	test "$many" -lt $((base + 32768))
t_run "files: the 1 GiB file verifies" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name files-rss-big --passphrase-file "$PASS"
chmod -R u+w "$FSRC" "$WORK/restored" "$WORK/existing"
rm -rf "$WORK/bigfile" "$WORK/gnutar-out" "$WORK/restored" "$WORK/existing"
