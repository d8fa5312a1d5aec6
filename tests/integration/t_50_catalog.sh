# list and delete: what storage holds, found from storage alone.

t_run "list: all namespaces" 0 "${LB[@]}" list --storage "file://$STORE"
t_contains "list: shows rt1" "rt1"
t_contains "list: shows the other namespace" "team-a"
t_contains "list: shows verified time for verified backups" "$(date -u +%Y-)"
t_run "list --output json" 0 "${LB[@]}" list --storage "file://$STORE" --namespace team-a --output json
t_true "list --output json: parses, one complete backup" python3 -c "
import json,sys; d=json.loads(sys.argv[1]); assert len(d)==1 and d[0]['name']=='rt-env' and d[0]['status']=='Complete', d" "$T_OUT"

t_run "delete: removes a backup" 0 "${LB[@]}" delete --storage "file://$STORE" --namespace team-a --name rt-env
t_true "delete: folder gone" test ! -e "$STORE/team-a/rt-env"
t_true "delete: storage root kept" test -d "$STORE"
t_run "delete: a missing backup is NotFound (exit 8)" 8 "${LB[@]}" delete --storage "file://$STORE" --namespace team-a --name rt-env
t_run "delete: removes an incomplete backup's leftovers" 0 "${LB[@]}" delete --storage "file://$STORE" --name gpg-bzip2
t_run "verify after delete: NotFound (exit 8)" 8 "${LB[@]}" verify --storage "file://$STORE" --namespace team-a --name rt-env
