# gpg interop in both directions: our objects open with plain `gpg -d`, and
# objects made by `gpg --symmetric --cipher-algo AES256` verify and restore.

export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
GPG=(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS")

t_true "gpg -d | zstd -d | pg_restore --list opens a lifeboat backup by hand" \
	bash -c "${GPG[*]} -d '$(dump_obj "$STORE/default/rt1")' | zstd -dc | pg_restore --list | grep -q 'TABLE DATA'"
t_true "gpg -d | gunzip opens a plain backup: one BEGIN..COMMIT script" \
	bash -c "${GPG[*]} -d '$(dump_obj "$STORE/default/rt-plain")' | gunzip | grep -qx 'BEGIN;'"
t_true "gpg -d output matches the manifest's plaintext sha256" \
	bash -c "test \"\$(${GPG[*]} -d '$(dump_obj "$STORE/default/rt1")' | zstd -dc | sha256sum | cut -d' ' -f1)\" = \"\$(python3 -c \"import json; print(json.load(open('$STORE/default/rt1/manifest.json'))['plaintext']['sha256'])\")\""

pg_tool pg_dump -Fc fixture >"$WORK/fixture.dump"
gpg_case() { # name, gpg options, expected verify exit
	local name=$1 opts=$2 want=$3 dir="$STORE/default/$1"
	mkdir -p "$dir"
	# shellcheck disable=SC2086
	"${GPG[@]}" --symmetric --cipher-algo AES256 $opts -o "$dir/db.dump.pgp" "$WORK/fixture.dump"
	python3 "$root/tests/lib/make_manifest.py" "$dir" default "$name" db.dump.pgp "$WORK/fixture.dump" custom none true
	t_run "gpg interop: lifeboat verifies gpg --symmetric output ($opts)" "$want" \
		"${LB[@]}" verify --storage "file://$STORE" --name "$name" --passphrase-file "$PASS"
}
gpg_case gpg-default "" 0
gpg_case gpg-zlib "--compress-algo zlib" 0
gpg_case gpg-none "--compress-algo none" 0
gpg_case gpg-sha512 "--s2k-digest-algo SHA512 --s2k-count 1024" 0
gpg_case gpg-bzip2 "--compress-algo bzip2" 10
t_contains "gpg interop: bzip2 inside OpenPGP is refused clearly" "BZip2"

fresh_db target
t_run "gpg interop: lifeboat restores gpg --symmetric output" 0 \
	"${LB[@]}" restore --db "$(pg_uri target)" --storage "file://$STORE" --name gpg-default \
	--passphrase-file "$PASS" --confirm target
same_as "gpg interop: restored content identical" target "$WORK/fixture.sums"
