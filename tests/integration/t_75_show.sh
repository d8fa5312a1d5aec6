# show, list's sizes and delete's freed bytes, on a storage of its own.

S75="$WORK/store75"
R75="$WORK/r75"
mkdir -p "$S75" "$R75"

# t75_json NAME FILE EXPR: records whether EXPR holds of d, FILE's JSON.
t75_json() {
	local out
	if out=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); assert r, r" "$2" "$3" 2>&1); then
		t_pass "$1"
	else
		t_fail "$1" "$3 over $2: $(printf '%s' "$out" | tail -c 400); file: $(head -c 1500 "$2")"
	fi
}

fresh_db show75
pg_psql show75 -q -c "CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000)" >/dev/null
t_run "show: backup for show (encrypted)" 0 \
	"${LB[@]}" backup --db "$(pg_uri show75)" --storage "file://$S75" --namespace s75 --name b1 \
	--passphrase-file "$PASS" --result-path "$R75/backup.json"
M75="$S75/s75/b1/manifest.json"

t_run "show: a backup, human form" 0 "${LB[@]}" show --storage "file://$S75" --namespace s75 --name b1
t_matches "show: name line" '^name: +b1$'
t_matches "show: encryption parameters" '^encryption\.enabled: +true$'
t_matches "show: cipher line" '^encryption\.cipher: +AES256$'
t_matches "show: created" '^createdAt: +20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T'
t_matches "show: the dump object's sha256" "^objects\\[0\\]\\.sha256: +$(python3 -c "import json; print(json.load(open('$M75'))['objects'][0]['sha256'])")\$"
t_matches "show: server version" '^postgresql\.serverVersion: +[0-9]+\.[0-9]+$'
t_matches "show: not verified yet" '^verification\.verified: +false$'
t_matches "show: the stored bytes" "^storedBytes: +$(python3 -c "import json; print(sum(o['size'] for o in json.load(open('$M75'))['objects']))")\$"
t_true "show: values aligned (every value starts in the same column)" bash -c "
	printf '%s\n' \"\$1\" | grep -v ' lifeboat ' | awk '{ i = index(\$0, \": \"); s = substr(\$0, i + 1); match(s, /[^ ]/); c[i + RSTART] = 1 } END { n = 0; for (k in c) n++; exit n != 1 }'" _ "$T_OUT"

t_true "show -o json: exit 0" bash -c '"$@" >"$0"' "$R75/show.json" "${LB[@]}" show --storage "file://$S75" --namespace s75 --name b1 -o json
t75_json "show -o json: the manifest's fields, location, storedBytes" "$R75/show.json" \
	"(lambda m: all(d[k]==m[k] for k in m) and d['location']=='file://$S75/s75/b1/' and d['storedBytes']==sum(o['size'] for o in m['objects']) and d['verification']=={'verified': False})(json.load(open('$M75')))"

t_run "show: verify the backup" 0 "${LB[@]}" verify --storage "file://$S75" --namespace s75 --name b1 --passphrase-file "$PASS"
t_true "show --output json after verify: exit 0" bash -c '"$@" >"$0"' "$R75/show2.json" "${LB[@]}" show --storage "file://$S75" --namespace s75 --name b1 --output json
t75_json "show after verify: verified, its time, method and sha256" "$R75/show2.json" \
	"d['verification']['verified'] is True and d['verification']['time'][:2]=='20' and d['verification']['sha256']==d['objects'][0]['sha256'] and d['verification']['method']"

t_run "show: no such backup is NotFound (exit 8)" 8 "${LB[@]}" show --storage "file://$S75" --namespace s75 --name nope
t_contains "show: no such backup says so like restore" "no complete backup s75/nope: file://$S75/s75/nope/manifest.json does not exist"
t_run "show: neither --name nor --restore-name is invalid (exit 2)" 2 "${LB[@]}" show --storage "file://$S75" --namespace s75
t_run "show: --output yaml is invalid (exit 2)" 2 "${LB[@]}" show --storage "file://$S75" --namespace s75 --name b1 --output yaml
mkdir -p "$S75/s75/bad"
echo 'not json' >"$S75/s75/bad/manifest.json"
t_run "show: a corrupt manifest is an integrity error (exit 5)" 5 "${LB[@]}" show --storage "file://$S75" --namespace s75 --name bad
rm -r "$S75/s75/bad"

# --- a restore's audit record ---
fresh_db show75t
t_run "show: restore with --restore-name" 0 \
	"${LB[@]}" restore --db "$(pg_uri show75t)" --storage "file://$S75" --namespace s75 --name b1 \
	--passphrase-file "$PASS" --confirm show75t --restore-name dr75 --no-safety-backup --result-path "$R75/restore.json"
t_run "show --restore-name: the audit record, human form" 0 "${LB[@]}" show --storage "file://$S75" --namespace s75 --restore-name dr75
t_matches "show --restore-name: outcome" '^outcome: +Completed$'
t_matches "show --restore-name: source name" '^source\.name: +b1$'
t_matches "show --restore-name: target database" '^target\.database: +show75t$'
t_true "show --restore-name -o json: exit 0" bash -c '"$@" >"$0"' "$R75/rec.json" "${LB[@]}" show --storage "file://$S75" --namespace s75 --restore-name dr75 -o json
t75_json "show --restore-name -o json: the record itself plus its location" "$R75/rec.json" \
	"(lambda r: {k: v for k, v in d.items() if k != 'location'}==r and d['location']=='file://'+'$S75/'+json.load(open('$R75/restore.json'))['auditRecord'].split('$S75/')[1])(json.load(open(json.load(open('$R75/restore.json'))['auditRecord'][len('file://'):])))"
t_run "show --restore-name: no such record is NotFound (exit 8)" 8 "${LB[@]}" show --storage "file://$S75" --namespace s75 --restore-name nope
t_contains "show --restore-name: no such record names it" "no audit record of restore s75/nope under file://$S75/s75/_restores/"

# --- list's sizes, delete's freed bytes ---
mkdir -p "$S75/s75/half"
head -c 1234 /dev/urandom >"$S75/s75/half/db.dump.zst.pgp.partial"
t_true "list -o json: exit 0" bash -c '"$@" >"$0"' "$R75/list.json" "${LB[@]}" list --storage "file://$S75" --namespace s75 -o json
du_b1=$(find "$S75/s75/b1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
n_b1=$(find "$S75/s75/b1" -type f | wc -l)
t75_json "list -o json: storedBytes and storedObjects of a complete backup (its folder's files)" "$R75/list.json" \
	"[(x['storedBytes'], x['storedObjects']) for x in d if x['name']=='b1']==[($du_b1, $n_b1)]"
t75_json "list -o json: an incomplete backup's size is what is there" "$R75/list.json" \
	"[(x['status'], x['storedBytes'], x['storedObjects']) for x in d if x['name']=='half']==[('Incomplete', 1234, 1)]"
t75_json "list -o json: audit records are not backups" "$R75/list.json" "sorted(x['name'] for x in d)==['b1', 'half']"

t_run "delete: reports freed bytes" 0 "${LB[@]}" delete --storage "file://$S75" --namespace s75 --name b1 --result-path "$R75/delete.json"
t_contains "delete: stderr names the bytes and objects freed" "deleted backup s75/b1: freed $du_b1 bytes"
t_contains "delete: stderr names the object count" "in $n_b1 objects"
t75_json "delete: the result's freedBytes and deletedObjects" "$R75/delete.json" \
	"d['freedBytes']==$du_b1 and d['deletedObjects']==$n_b1"
t_run "delete: an incomplete backup's leftovers" 0 "${LB[@]}" delete --storage "file://$S75" --namespace s75 --name half --result-path "$R75/delete2.json"
t75_json "delete: freedBytes of the leftovers" "$R75/delete2.json" "d['freedBytes']==1234 and d['deletedObjects']==1"
t_run "show after delete: NotFound (exit 8)" 8 "${LB[@]}" show --storage "file://$S75" --namespace s75 --name b1
