# A dump stored as several objects: with LIFEBOAT_TEST_MAX_PARTS=1 the
# file:// backend cuts the stream every 8 MiB (what a backend's parts limit
# does to a large database), and every reader takes the objects in order:
# verify, restore, download, `cat | gpg -d`, list, delete; a damaged or
# missing piece is refused naming it.

export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
GPG=(gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$PASS")
fresh_db split_src
pg_psql split_src -q -c "CREATE TABLE t AS SELECT i, md5(i::text) a, md5((i * 3)::text) b FROM generate_series(1, 300000) i" >/dev/null
pg_table_checksums split_src >"$WORK/split_src.sums"
SD="$STORE/default/split1"

LIFEBOAT_TEST_MAX_PARTS=1 t_run "split: a backup in 8 MiB objects succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri split_src)" --storage "file://$STORE" --name split1 \
	--passphrase-file "$PASS" --compression none --result-path "$WORK/split1.json"
t_matches "split: the log shows the plan" 'plan: written as it comes \(no part buffers\), objects of at most 8 MiB: [0-9]+ objects expected'
t_true "split: the manifest lists 3 or more objects, leaf then leaf.0002, .0003, ..., none over 8 MiB" \
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); o=m['objects']; k=[x['key'] for x in o]
assert len(o) >= 3, k
assert all(x == k[0] + ('' if i == 0 else '.%04d' % (i + 1)) for i, x in enumerate(k)), k
assert all(x['size'] <= 8 << 20 for x in o) and all(x['size'] == 8 << 20 for x in o[:-1]), o" "$SD/manifest.json"
# The objects, concatenated in order, are the one OpenPGP stream.
python3 -c "import json,sys; print('\n'.join(sys.argv[2] + '/' + x['key'] for x in json.load(open(sys.argv[1]))['objects']))" \
	"$SD/manifest.json" "$SD" >"$WORK/split1.objects"
xargs cat <"$WORK/split1.objects" >"$WORK/split1.stream"
t_equals "split: sha256 of their concatenation is the manifest's stream.sha256" \
	"$(python3 -c "import json; print(json.load(open('$SD/manifest.json'))['stream']['sha256'])")" \
	bash -c "sha256sum '$WORK/split1.stream' | cut -d' ' -f1"
t_equals "split: ... and the result's artifact.sha256 and size (the whole dump as stored)" \
	"$(sha256sum "$WORK/split1.stream" | cut -d' ' -f1) $(stat -c %s "$WORK/split1.stream")" \
	python3 -c "import json; a=json.load(open('$WORK/split1.json'))['artifact']; print(a['sha256'], a['size'])"
t_true "split: cat of the objects | gpg -d is the archive (pg_restore --list reads it)" \
	bash -c "${GPG[*]} -d '$WORK/split1.stream' | pg_restore --list | grep -q 'TABLE DATA'"
t_run "split: verify reads every object in order" 0 \
	"${LB[@]}" verify --storage "file://$STORE" --name split1 --passphrase-file "$PASS"
fresh_db split_dst
t_run "split: restore from several objects" 0 \
	"${LB[@]}" restore --db "$(pg_uri split_dst)" --storage "file://$STORE" --name split1 \
	--passphrase-file "$PASS" --confirm split_dst
same_as "split: the restored database is identical" split_dst "$WORK/split_src.sums"
t_run "split: download --raw gives the concatenation" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name split1 --raw --out "$WORK/split1.raw"
t_same "split: ... byte for byte" "$WORK/split1.stream" "$WORK/split1.raw"
t_run "split: download decrypts across the objects" 0 \
	"${LB[@]}" download --storage "file://$STORE" --name split1 --passphrase-file "$PASS" --out "$WORK/split1.dump"
"${GPG[@]}" -d "$WORK/split1.stream" >"$WORK/split1.by-hand"
t_same "split: ... equal to gpg -d of the concatenation" "$WORK/split1.by-hand" "$WORK/split1.dump"
t_run "split: list -o json" 0 "${LB[@]}" list --storage "file://$STORE" --output json
t_true "split: list's size is the sum of the objects" python3 -c "import json,sys; d=[b for b in json.loads(sys.argv[1]) if b['name']=='split1'][0]; assert d['artifact']['size']==int(sys.argv[2]), d" "$T_OUT" "$(stat -c %s "$WORK/split1.stream")"

# A flipped byte in the second object: refused, naming it; the target kept.
rm -rf "$STORE/default/split-bad" && cp -r "$SD" "$STORE/default/split-bad" && rm -f "$STORE/default/split-bad/verified.json"
second=$(sed -n 2p "$WORK/split1.objects" | xargs basename)
printf '\x01' | dd of="$STORE/default/split-bad/$second" bs=1 seek=1000 conv=notrunc status=none
t_run "split: a flipped byte in the second object fails verify (exit 5)" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name split-bad --passphrase-file "$PASS"
t_contains "split: ... the checksum mismatch names that object" "checksum mismatch for file://$STORE/default/split-bad/$second"
pg_table_checksums split_dst >"$WORK/split_dst.sums"
t_run "split: restore of it refuses (exit 5)" 5 \
	"${LB[@]}" restore --db "$(pg_uri split_dst)" --storage "file://$STORE" --name split-bad \
	--passphrase-file "$PASS" --confirm split_dst --clean
same_as "split: ... and the target is untouched" split_dst "$WORK/split_dst.sums"
# A missing third object: refused before a byte is read.
cp "$SD/$second" "$STORE/default/split-bad/$second"
third=$(sed -n 3p "$WORK/split1.objects" | xargs basename)
rm "$STORE/default/split-bad/$third"
t_run "split: a missing object fails verify (exit 5)" 5 \
	"${LB[@]}" verify --storage "file://$STORE" --name split-bad --passphrase-file "$PASS"
t_contains "split: ... naming it as missing" "$third is listed in the manifest but missing from storage"
t_run "split: delete removes every object" 0 "${LB[@]}" delete --storage "file://$STORE" --name split1
t_true "split: ... nothing left of the folder" test ! -e "$SD"
t_run "split: delete of the damaged copy" 0 "${LB[@]}" delete --storage "file://$STORE" --name split-bad
rm -f "$WORK"/split1.*

# The files archive is one object: one that cannot fit is refused at
# pre-flight, naming the partSize that fits it, and nothing is stored.
mkdir -p "$WORK/split-files"
head -c 20000000 /dev/urandom >"$WORK/split-files/noise.bin"
LIFEBOAT_TEST_MAX_PARTS=1 t_run "split: a --files folder past one object is refused at pre-flight (exit 2)" 2 \
	"${LB[@]}" backup --db "$(pg_uri split_src)" --storage "file://$STORE" --name split-files \
	--passphrase-file "$PASS" --files "$WORK/split-files"
t_matches "split: ...naming the partSize that would fit it" \
	"--files: the folder's archive \(about 19\.1 MiB\) is more than one object takes \(8 MiB: 1 unit of 8 MiB\): raise partSize in the storage URL to at least 20 MiB"
t_true "split: ...and nothing is stored" bash -c "! ls -A '$STORE/default/split-files' 2>/dev/null | grep -q ."
LIFEBOAT_TEST_MAX_PARTS=3 t_run "split: with room for it (3 units of 8 MiB) the same folder backs up" 0 \
	"${LB[@]}" backup --db "$(pg_uri split_src)" --storage "file://$STORE" --name split-files \
	--passphrase-file "$PASS" --files "$WORK/split-files"
t_run "split: ...and verifies" 0 "${LB[@]}" verify --storage "file://$STORE" --name split-files --passphrase-file "$PASS"
