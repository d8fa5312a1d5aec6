# psql ends by a signal after COMMIT was handed to it: the server may have
# committed, so the restore must not say "rolled back" or targetUnchanged.
# (Here the wrapper's psql ran to the end, committing, and the wrapper then
# killed itself: the database holds the backup.)
U71="$WORK/t71"
mkdir -p "$U71/bin"
for t in pg_restore pg_dump; do ln -sf "$PGTEST_BIN/$t" "$U71/bin/$t"; done
cat >"$U71/bin/psql" <<SH
#!/bin/sh
[ "\$1" = --version ] && exec $PGTEST_BIN/psql --version
$PGTEST_BIN/psql "\$@"
kill -KILL \$\$
SH
chmod +x "$U71/bin/psql"
t_run "commit unknown: a backup to restore" 0 \
	"${LB[@]}" backup --db "$(pg_uri fixture)" --storage "file://$STORE" --namespace t71 --name b1 \
	--passphrase-file "$PASS"
fresh_db t71_dst
LIFEBOAT_PG_BINDIR=$U71/bin t_run "commit unknown: psql killed after COMMIT fails the restore (exit 11)" 11 \
	"${LB[@]}" restore --db "$(pg_uri t71_dst)" --storage "file://$STORE" --namespace t71 --name b1 \
	--passphrase-file "$PASS" --confirm t71_dst --result-path "$U71/r.json"
t_contains "commit unknown: the error says the outcome is unknown and to check the target" \
	"COMMIT was sent, but psql was killed by signal 9 before it said whether it committed"
if [[ $T_OUT == *"rolled back"* || $T_OUT == *"is unchanged"* ]]; then
	t_fail "commit unknown: never claims a roll-back" "$T_OUT"
else
	t_pass "commit unknown: never claims a roll-back"
fi
t_true "commit unknown: the result is Failed, RestoreFailed, targetUnchanged false" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["phase"] == "Failed" and d["reason"] == "RestoreFailed" and d["targetUnchanged"] is False, d' "$U71/r.json"
same_as "commit unknown: (the server did commit: the target holds the backup)" t71_dst "$WORK/fixture.sums"
pg_psql postgres -q -c "DROP DATABASE IF EXISTS t71_dst" >/dev/null
