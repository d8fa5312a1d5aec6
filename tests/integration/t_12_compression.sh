# Compression levels: zstd:auto (the default) records the levels it used in
# the manifest and the result; a pinned level stays; bad bounds are refused
# naming the flag; the restore does not care which levels were used.

t_run "backup: zstd:auto (the default) succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name cz-auto \
	--passphrase-file "$PASS" --result-path "$WORK/cz-auto.result"
t_true "zstd:auto: the manifest says mode auto, bounds 1-6, and the plaintext at each level adds up to the plaintext size" \
	python3 -c "import json; m=json.load(open('$STORE/default/cz-auto/manifest.json')); c=m['compression']
assert c['algorithm']=='zstd' and c['mode']=='auto' and c['bounds']==[1,6], c
assert c['levels'] and all(1<=l['level']<=6 for l in c['levels']), c
assert sum(l['plaintextBytes'] for l in c['levels'])==m['plaintext']['size'], (c, m['plaintext'])
assert c['level'] in [l['level'] for l in c['levels']], c"
t_true "zstd:auto: the result says zstd:auto(LEVELS) and the job's CPU seconds" \
	python3 -c "import json,re; d=json.load(open('$WORK/cz-auto.result')); a=d['artifact']
assert re.fullmatch(r'zstd:auto\([1-6](-[1-6])?\)', a['compression']), a['compression']
assert d['cpuSeconds']>0 and 0<=d['cpuSystemSeconds']<=d['cpuSeconds'], d"

t_run "backup: zstd:auto:2-2 (bounds that pin a level) succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name cz-pin \
	--compression zstd:auto:2-2 --passphrase-file "$PASS" --result-path "$WORK/cz-pin.result"
t_true "zstd:auto:2-2: every byte at level 2" \
	python3 -c "import json; c=json.load(open('$STORE/default/cz-pin/manifest.json'))['compression']
assert c['bounds']==[2,2] and [l['level'] for l in c['levels']]==[2] and c['level']==2, c
assert json.load(open('$WORK/cz-pin.result'))['artifact']['compression']=='zstd:auto(2)'"

t_run "backup: zstd:7 with no workers succeeds" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name cz-7 \
	--compression zstd:7 --zstd-workers 0 --passphrase-file "$PASS" --result-path "$WORK/cz-7.result"
t_true "zstd:7: the manifest has no mode, level 7, and the result says zstd:7" \
	python3 -c "import json; c=json.load(open('$STORE/default/cz-7/manifest.json'))['compression']
assert 'mode' not in c and c['level']==7 and [l['level'] for l in c['levels']]==[7], c
assert json.load(open('$WORK/cz-7.result'))['artifact']['compression']=='zstd:7'"

t_run "backup: zstd:auto:6-1 is refused" 2 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --name cz-bad \
	--compression zstd:auto:6-1 --passphrase-file "$PASS"
t_contains "zstd:auto:6-1: the message names --compression and the rule" '--compression: \"zstd:auto:6-1\": zstd:auto takes bounds LOW-HIGH'
t_true "zstd:auto:6-1: nothing written" test ! -e "$STORE/default/cz-bad"

for n in cz-auto cz-pin cz-7; do
	fresh_db "r_$n"
	t_run "restore of $n" 0 \
		"${LB[@]}" restore --db "$(pg_uri "r_$n")" --storage "file://$STORE" --name "$n" \
		--passphrase-file "$PASS" --confirm "r_$n"
	same_as "restore of $n: content identical" "r_$n" "$WORK/fixture.sums"
done
