#!/usr/bin/env bash
# tests/docs/manifests.sh: the manifests and `kubectl create secret` commands
# of docs/*.md against the real kube-apiserver of tests/cluster. Each ```yaml
# fence holding Lifeboat (lifeboat.dev) or built-in Kubernetes objects goes
# through `kubectl apply --dry-run=server --validate=strict
# --warnings-as-errors` (the CRDs' schemas and CEL rules, strict field
# validation: an invented or misspelt field fails), and every object of the
# fence must be reported; each `kubectl create secret ...` command of a
# shell fence runs with --dry-run=server. Which fences count, and how to
# leave one out (`<!-- docs-test: skip -->`): tests/docs/manifests.py.
# A fence with only other APIs (a ServiceMonitor, an Argo CD Application) is
# listed as skipped; YAML that does not parse fails.
#
#   CLUSTER_DIR=DIR tests/docs/manifests.sh   # a running cluster (tests/cluster/up DIR)
#   tests/docs/manifests.sh                   # starts its own (no node agent), stops it on exit
#
# Fences without a namespace go into a fresh namespace docs-<run>-<n>; a
# namespace the docs name (app, lifeboat) is created when missing and
# deleted at the end (waited for). The lifeboat.dev CRDs are applied from
# crds/ when missing and then deleted at the end; test fixture CRDs of other
# suites (label lifeboat.dev/test-fixture) are never overwritten.
# Also: docs/README.md lists every page of docs/ (and links no missing one).
# Results: tests/lib/t.sh lines in $LIFEBOAT_RESULTS (suite "docs").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export T_SUITE=${T_SUITE:-docs}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
PY=/usr/bin/python3 # Debian's, with python3-yaml
KUBECTL=$("$root/tests/cluster/kubectl.sh" 32)
RUN=$(printf '%04x%02x' $RANDOM $((RANDOM % 256)))
WORK=$(mktemp -d /tmp/lifeboat-docs.XXXXXX)
[[ $LIFEBOAT_RESULTS == /dev/null ]] && LIFEBOAT_RESULTS=$WORK/results
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
CRDS=(databasebackups.lifeboat.dev backupschedules.lifeboat.dev databaserestores.lifeboat.dev)
MIN_MANIFESTS=15 # docs/credentials.md alone has more
OWN=
created_crds=()
current=setup

k() { timeout 60 "$KUBECTL" --cache-dir "$WORK/kcache" "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT
	[[ $rc -ne 0 && $current != finished ]] && t_fail "suite aborted in $current" "exit status $rc (see the output above)"
	if [[ -z $OWN && -n ${KUBECONFIG:-} ]]; then
		k delete namespace -l "lifeboat.dev/test-run=docs-$RUN" --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
		[[ ${#created_crds[@]} -gt 0 ]] && k delete crd "${created_crds[@]}" --ignore-not-found --timeout=60s >/dev/null 2>&1
	fi
	if [[ -n $OWN ]]; then
		timeout 60 "$root/tests/cluster/down" --purge "$OWN" >/dev/null 2>&1 || true
	fi
	if [[ -n ${LIFEBOAT_KEEP:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	return "$rc"
}
trap cleanup EXIT

# ensure_ns NS: NS exists; made (and labelled for the cleanup) when missing.
ensure_ns() {
	local ns=$1 out
	k get namespace "$ns" >/dev/null 2>&1 && return 0
	if ! out=$(k create namespace "$ns" 2>&1) || ! out=$(k label namespace "$ns" "lifeboat.dev/test-run=docs-$RUN" 2>&1); then
		echo "$out"
		return 1
	fi
}

# check_docs TAG ROOT: every manifest fence and secret command of
# ROOT/docs/*.md through the server-side dry run. Prints "ok NAME",
# "FAIL NAME: why" or "skip NAME: why" per piece; exit 1 on any failure.
check_docs() {
	local tag=$1 dir=$2 out=$WORK/extract-$1 list kind id src ndocs ns file n=0 bad=0 made target
	mkdir -p "$out"
	if ! list=$("$PY" "$here/manifests.py" "$dir" "$out" 2>&1); then
		echo "FAIL tests/docs/manifests.py ran: $(tail -c 800 <<<"$list")"
		return 1
	fi
	while IFS=$'\t' read -r kind id src ndocs ns file; do
		[[ -n $kind ]] || continue
		n=$((n + 1))
		case $kind in
		skip) echo "skip $src: $file" ;;
		fail) echo "FAIL $src: $file"; bad=1 ;;
		manifest | secret)
			if [[ $ns == - ]]; then target=docs-$RUN-$tag$n; else target=$ns; fi
			if ! made=$(ensure_ns "$target"); then
				echo "FAIL $src: cannot make the namespace $target: $made"
				bad=1
				continue
			fi
			if [[ $kind == manifest ]]; then
				if made=$(k -n "$target" apply --dry-run=server --validate=strict --warnings-as-errors -f "$file" 2>&1); then
					local got
					got=$(grep -c ' (server dry run)$' <<<"$made" || true)
					if [[ $got -eq $ndocs ]]; then
						echo "ok $src: the server-side dry run accepts its $ndocs object(s)"
					else
						echo "FAIL $src: $ndocs objects in the fence, $got reported by the dry run: $(tr '\n' ' ' <<<"$made" | tail -c 600)"
						bad=1
					fi
				else
					echo "FAIL $src: kubectl apply --dry-run=server refused it: $(tr '\n' ' ' <<<"$made" | tail -c 800)"
					bad=1
				fi
			else
				# The command as written, with kubectl made a dry run in the namespace.
				# shellcheck disable=SC2016 # expanded by the inner bash
				if made=$(cd "$out/files" && KUBECTL=$KUBECTL KC_CACHE=$WORK/kcache KC_NS=$target \
					timeout 60 bash -c 'kubectl() { "$KUBECTL" --cache-dir "$KC_CACHE" -n "$KC_NS" "$@" --dry-run=server -o name; }; eval "$(cat "$1")"' _ "$file" 2>&1) &&
					[[ $made == secret/* ]]; then
					echo "ok $src: $(cut -c1-70 "$file") (server dry run: $made)"
				else
					echo "FAIL $src: $(cat "$file") failed: $(tr '\n' ' ' <<<"$made" | tail -c 600)"
					bad=1
				fi
			fi
			;;
		*) echo "FAIL tests/docs/manifests.py: unexpected line: $kind $id $src"; bad=1 ;;
		esac
	done <<<"$list"
	return "$bad"
}

# record OUTPUT: the ok/FAIL lines as results; skip lines are shown only.
record() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) t_pass "${line#ok }" ;;
		"FAIL "*) line=${line#FAIL }; t_fail "${line%%: *}" "${line#*: }" ;;
		"skip "*) echo "  skip ${line#skip }" ;;
		"") ;;
		*) t_fail "check_docs output" "$line" ;;
		esac
	done <<<"$1"
}

echo "docs: the manifests and secret commands of docs/*.md against the real kube-apiserver"

# The index first (no cluster needed): every page of docs/ is listed in
# docs/README.md, and every page it links exists.
current="index"
for f in "$root"/docs/*.md; do
	b=${f##*/}
	[[ $b == README.md ]] && continue
	if grep -q "](${b})" "$root/docs/README.md" 2>/dev/null; then
		t_pass "docs/README.md lists $b"
	else
		t_fail "docs/README.md lists $b" "no link ($b) in docs/README.md: add a line for the page"
	fi
done
while IFS= read -r b; do
	if [[ -e $root/docs/$b ]]; then t_pass "docs/README.md: $b exists"; else t_fail "docs/README.md: $b exists" "docs/README.md links $b, which is not in docs/"; fi
done < <(grep -o '](\([a-z0-9-]*\.md\))' "$root/docs/README.md" | sed 's/^](//; s/)$//' | sort -u)

current="cluster"
if [[ -n ${CLUSTER_DIR:-} ]]; then
	# shellcheck disable=SC1091
	source "$CLUSTER_DIR/env"
else
	OWN=$WORK/cluster
	echo "docs: starting a control plane (tests/cluster/up, no node agent)"
	if ! CLUSTER_NODEAGENT=0 CLUSTER_TTL=900 timeout 300 "$root/tests/cluster/up" "$OWN" >"$WORK/up.log" 2>&1; then
		cat "$WORK/up.log"
		t_fail "tests/cluster/up" "the control plane did not start"
		exit 1
	fi
	# shellcheck disable=SC1091
	source "$OWN/env"
fi
export KUBECONFIG

current="CRDs"
for c in "${CRDS[@]}"; do
	have=$(k get crd "$c" --ignore-not-found -o 'jsonpath={.metadata.name}/{.metadata.labels.lifeboat\.dev/test-fixture}')
	if [[ $have == "$c/true" ]]; then
		t_fail "the cluster holds no test fixture named $c" "another suite's fixture CRD is installed (label lifeboat.dev/test-fixture); not overwriting it"
		exit 1
	fi
	[[ -z $have ]] && created_crds+=("$c")
done
if [[ ${#created_crds[@]} -gt 0 ]]; then
	t_run "kubectl apply -f crds/ (the docs' Lifeboat objects need them)" 0 k apply --server-side -f "$root/crds/"
	t_run "the CRDs become Established" 0 k wait --for=condition=Established --timeout=60s "${CRDS[@]/#/crd/}"
fi

current="docs"
set +e
out=$(check_docs d "$root")
set -e
record "$out"
nman=$(grep -c '^ok docs/.*object(s)$' <<<"$out" || true)
if [[ $nman -ge $MIN_MANIFESTS ]]; then
	t_pass "the extraction finds the docs' manifests ($nman, at least $MIN_MANIFESTS)"
else
	t_fail "the extraction finds the docs' manifests" "$nman accepted manifest fences, fewer than $MIN_MANIFESTS: renamed fences, or a broken extraction (tests/docs/manifests.py)"
fi
# docs/credentials.md: a checked manifest for every storage block.
for backend in volume s3 gcs azure; do
	if grep -lE "^ +$backend:" "$WORK"/extract-d/m*.yaml 2>/dev/null | xargs -r grep -l 'credentialsSecretRef\|claimName' | grep -q .; then
		t_pass "a checked manifest stores to spec.storage.$backend"
	else
		t_fail "a checked manifest stores to spec.storage.$backend" "no manifest fence of docs/*.md uses the $backend block (docs/credentials.md should)"
	fi
done

# The check itself: an invented field, a wrong enum value, YAML that does
# not parse and a secret command that kubectl refuses all fail, naming the
# page and line; a fragment and a foreign API are not counted as failures.
current="self-test"
st=$WORK/selftest
mkdir -p "$st/docs"
cat >"$st/docs/bad.md" <<'EOF'
# Bad

```yaml
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata:
  name: invented
spec:
  database: {host: db, user: app, database: app}
  storage:
    volume: {claimName: backups, sizeLimit: 1Gi}
```

```yaml
apiVersion: lifeboat.dev/v1alpha1
kind: DatabaseBackup
metadata: {name: wrong-enum}
spec:
  database: {host: db, user: app, database: app}
  storage: {volume: {claimName: backups}}
  deletionPolicy: Keep
```

```yaml
apiVersion: v1
kind: Secret
metadata: {name: broken
```

```yaml
storage:
  volume: {claimName: backups}
```

```yaml
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: foreign}
```

<!-- docs-test: skip -->
```yaml
apiVersion: v1
kind: Secret
metadata: {name: skipped, namespace: a, labels: {bad label: x}}
```

```sh
kubectl create secret generic bad_name --from-literal=a=b
```
EOF
set +e
sout=$(check_docs s "$st")
src=$?
set -e
t_equals "self-test: a page with bad manifests fails" 1 echo "$src"
for want in "FAIL docs/bad.md:3: " "FAIL docs/bad.md:14: " "FAIL docs/bad.md:24: the YAML does not parse" \
	"skip docs/bad.md:35: no API the test cluster serves" "FAIL docs/bad.md:48: kubectl create secret generic bad_name"; do
	if grep -qF -- "$want" <<<"$sout"; then t_pass "self-test: reports \"$want\""; else t_fail "self-test: reports \"$want\"" "$(tail -c 800 <<<"$sout")"; fi
done
if grep -q 'sizeLimit' <<<"$(grep -F 'docs/bad.md:3:' <<<"$sout")"; then
	t_pass "self-test: the invented field is named"
else
	t_fail "self-test: the invented field is named" "$(grep -F 'docs/bad.md:3:' <<<"$sout")"
fi
t_equals "self-test: the fragment and the skipped fence are not checked" 5 sh -c "grep -c '^\(ok\|FAIL\|skip\) ' <<'EOS'
$sout
EOS"
current="finished"
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c "^FAIL $T_SUITE: " || true)
echo "docs: $(($(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | wc -l))) checks, $failed failed"
[[ $failed -eq 0 ]]
