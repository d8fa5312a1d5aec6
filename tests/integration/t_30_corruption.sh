# Wrong passphrase, flipped bits, truncation, tampering: verify fails with a
# distinct error, and restore leaves the target exactly as it was.

fresh_db victim fixture
pg_psql victim -q -c "CREATE TABLE canary(v text); INSERT INTO canary VALUES ('before')" >/dev/null
pg_table_checksums victim >"$WORK/victim.sums"

t_run "wrong passphrase: verify refuses (exit 6)" 6 \
	"${LB[@]}" verify --storage "file://$STORE" --name rt1 --passphrase-file "$WORK/wrongpass"
t_contains "wrong passphrase: the message says so" "wrong passphrase"
t_run "wrong passphrase: restore refuses (exit 6)" 6 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name rt1 \
	--passphrase-file "$WORK/wrongpass" --confirm victim --clean
same_as "wrong passphrase: target untouched" victim "$WORK/victim.sums"
t_run "missing passphrase for an encrypted backup: exit 2" 2 \
	env -u LIFEBOAT_PASSPHRASE "${LB[@]}" verify --storage "file://$STORE" --name rt1

# A corrupt copy of rt1 whose manifest still describes the original.
corrupt_copy() { # name offset
	rm -rf "$STORE/default/$1"
	cp -r "$STORE/default/rt1" "$STORE/default/$1"
	rm -f "$STORE/default/$1/verified.json"
	python3 - "$(dump_obj "$STORE/default/$1")" "$2" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    size = f.seek(0, 2)
    off = off % size if off >= 0 else size + off
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
PY
}
size=$(stat -c %s "$(dump_obj "$STORE/default/rt1")")
offsets="0 3 8 12 20 40 45 60 100 4097 65536 $((size / 3)) $((size / 2)) $((size - 30)) $((size - 22)) $((size - 1))"
bad_verify=0
for off in $offsets; do
	corrupt_copy flipped "$off"
	set +e
	out=$("${LB[@]}" verify --storage "file://$STORE" --name flipped --passphrase-file "$PASS" 2>&1)
	rc=$?
	set -e
	if [[ $rc -ne 5 || $out != *"checksum mismatch"* ]]; then
		bad_verify=1
		t_fail "bit flip at offset $off: verify reports a checksum mismatch (exit 5)" "exit $rc: $(tail -c 400 <<<"$out")"
	fi
done
[[ $bad_verify -eq 0 ]] && t_pass "bit flips at 16 offsets: verify reports a checksum mismatch (exit 5) every time"

for off in 20 $((size / 2)) $((size - 1)); do
	corrupt_copy flipped "$off"
	t_run "bit flip at offset $off: restore refuses (exit 5)" 5 \
		"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name flipped \
		--passphrase-file "$PASS" --confirm victim --clean
	same_as "bit flip at offset $off: target untouched" victim "$WORK/victim.sums"
done

# Tampered: the object changed AND the manifest rewritten to match it, so only
# OpenPGP's own integrity protection (MDC) or the key check can catch it.
tampered() { # name offset
	corrupt_copy "$1" "$2"
	python3 - "$STORE/default/$1" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]; m = json.load(open(d + "/manifest.json"))
data = open(d + "/" + m["objects"][0]["key"], "rb").read()
m["objects"][0]["sha256"] = hashlib.sha256(data).hexdigest(); m["objects"][0]["size"] = len(data)
json.dump(m, open(d + "/manifest.json", "w"))
PY
}
bad=0
for off in 50 1000 $((size / 2)) $((size - 10)); do
	tampered tamper "$off"
	set +e
	out=$("${LB[@]}" verify --storage "file://$STORE" --name tamper --passphrase-file "$PASS" 2>&1)
	rc=$?
	set -e
	if [[ $rc -ne 5 ]]; then
		bad=1
		t_fail "tampered at $off (manifest rewritten): verify fails with exit 5" "exit $rc: $(tail -c 400 <<<"$out")"
	fi
done
[[ $bad -eq 0 ]] && t_pass "tampered object with a matching manifest: MDC/compression checks catch it (exit 5)"
tampered tamper $((size / 2))
t_run "tampered object: restore refuses" 5 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name tamper \
	--passphrase-file "$PASS" --confirm victim --clean
same_as "tampered object: target untouched" victim "$WORK/victim.sums"

# Truncated object with a matching manifest.
rm -rf "$STORE/default/trunc"; cp -r "$STORE/default/rt1" "$STORE/default/trunc"
truncate -s $((size / 2)) "$(dump_obj "$STORE/default/trunc")"
t_run "truncated object: verify reports a size mismatch (exit 5)" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name trunc --passphrase-file "$PASS"
t_contains "truncated object: message names the size mismatch" "size mismatch"
t_run "truncated object: restore refuses" 5 \
	"${LB[@]}" restore --db "$(pg_uri victim)" --storage "file://$STORE" --name trunc \
	--passphrase-file "$PASS" --confirm victim --clean
same_as "truncated object: target untouched" victim "$WORK/victim.sums"

# Malformed manifests: clear errors, no crash.
rm -rf "$STORE/default/badman"; cp -r "$STORE/default/rt1" "$STORE/default/badman"
echo '{"formatVersion": 1, "namespace": ' >"$STORE/default/badman/manifest.json"
t_run "malformed manifest: verify fails with exit 5" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name badman --passphrase-file "$PASS"
t_contains "malformed manifest: message says not valid JSON" "not valid JSON"
python3 -c "
import json; m=json.load(open('$STORE/default/rt1/manifest.json')); del m['objects']
json.dump(m, open('$STORE/default/badman/manifest.json','w'))"
t_run "manifest without objects: verify fails" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name badman --passphrase-file "$PASS"
t_contains "manifest without objects: message names the field" "objects"
rm -rf "$STORE/default/flipped" "$STORE/default/tamper" "$STORE/default/trunc" "$STORE/default/badman"
