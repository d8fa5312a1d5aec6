#!/usr/bin/env bash
# tests/images/run.sh: the container images (Dockerfile) built and run for
# real, with buildah (chroot isolation, vfs storage; no daemon, no registry):
#  - the base: `debootstrap --variant=minbase bookworm` made into a local
#    image (tests/images/base.sh, cached in ~/.cache/lifeboat/images), passed
#    as BASE_IMAGE;
#  - both targets, operator and job (PG_MAJOR 15), built from a snapshot of
#    the work tree's inputs (tests/images/build.sh --snapshot);
#  - each image's configuration: USER 65532:65532, ENTRYPOINT in exec form
#    naming the binary, the OCI labels (title, description, version with the
#    Makefile's VERSION, revision, created = SOURCE_DATE_EPOCH), the tags;
#  - each image's root (buildah mount): no shell and no package manager in
#    it, every file root's and none writable by others (but /tmp), every ELF
#    file's libraries found by the image's own loader, the binaries' --version
#    run inside it (chroot, as 65532), pg_dump's major the tag's;
#  - the sizes (uncompressed and gzip), printed;
#  - reproducibility: both targets built again with --no-cache from the same
#    snapshot and SOURCE_DATE_EPOCH give the same image IDs (config digests,
#    hence the same layers);
#  - a backup on the real control plane: its own cluster (tests/cluster/up)
#    whose node agent maps the job image's reference to the image's mounted
#    root (NAME=rootfs:DIR:CONFIG, tests/cluster/NODEAGENT.md), a Job running
#    `lifeboat backup` with no command (the image's ENTRYPOINT) and no
#    runAsUser (the image's USER) under runAsNonRoot and a read-only root,
#    against tests/lib/pg.sh's PostgreSQL, into a hostPath folder; the pod
#    Succeeded with the image's ID, the artifact is the image user's, made by
#    the image's pg_dump (the manifest's dumpVersion), opens with gpg, zstd and
#    pg_restore, restores to the same table checksums, and `lifeboat verify`
#    (the host's binary, $LIFEBOAT) accepts it.
# Cold (empty cache: debootstrap, apt in every stage) and warm times are in
# docs/images.md.
#   --if-changed   run only when tests/images/key.sh's key differs from that of
#                  the last passing run (kept in ~/.cache/lifeboat/images/
#                  last-pass.key); else print one line saying so and exit 0
#   LIFEBOAT       host binary for `lifeboat verify` (default build/lifeboat;
#                  the check is skipped, with a line saying so, when missing)
#   IMAGES_KEEP=1  keep the work folder and the cluster's logs
# Needs root. Results go to $LIFEBOAT_RESULTS (tests/lib/t.sh); exit 1 when a
# check failed.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2016,SC2317,SC2119 # the bash -c scripts get their values as "$1"; cleanup runs from the trap
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
T_SUITE=${T_SUITE:-images}
export T_SUITE
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

if_changed=0
[[ ${1:-} == --if-changed ]] && if_changed=1
key=$("$here/key.sh")
keyfile=$IMG_CACHE/last-pass.key
if [[ $if_changed -eq 1 && -f $keyfile && $(cat "$keyfile") == "$key" ]]; then
	echo "images: skipped: the Dockerfile, tests/images/ and the Makefile's link lines are as in the last passing run (key ${key:0:12}; tests/images/run.sh without --if-changed runs it anyway)"
	exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "images: needs root (debootstrap, buildah chroot isolation, the node agent)" >&2; exit 1; }

# vfs keeps a full copy of every layer: past 10 GB the cached layers go.
if [[ -d $IMG_STORAGE ]] && (($(du -s -B1G "$IMG_STORAGE" | cut -f1) > 10)); then
	echo "images: buildah's storage $IMG_STORAGE is over 10 GB: removing its cached layers (buildah rmi --prune)"
	img_buildah rmi --prune >/dev/null 2>&1 || true
fi
W=$(mktemp -d /tmp/lifeboat-images.XXXXXX)
chmod 755 "$W"
if [[ -z ${LIFEBOAT_RESULTS:-} || ! -f ${LIFEBOAT_RESULTS:-} ]]; then LIFEBOAT_RESULTS=$W/results; fi
touch "$LIFEBOAT_RESULTS"
export LIFEBOAT_RESULTS
results_from=$(($(wc -l <"$LIFEBOAT_RESULTS") + 1))
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"
# shellcheck source=../lib/pg.sh
source "$root/tests/lib/pg.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
LIFEBOAT=${LIFEBOAT:-$root/build/lifeboat}
C=$W/cluster
finished=0
containers=()
cleanup() {
	local rc=$? c
	[[ $rc -ne 0 && $finished -eq 0 ]] && t_fail "images suite aborted" "exit status $rc (see the output above)"
	if [[ -f $C/env ]]; then timeout 120 "$root/tests/cluster/down" "$C" >/dev/null 2>&1 || true; fi
	for c in "${containers[@]}"; do img_buildah rm "$c" >/dev/null 2>&1 || true; done
	pg_stop >/dev/null 2>&1 || true
	if [[ -n ${IMAGES_KEEP:-} ]]; then echo "images: kept $W"; else rm -rf "$W"; fi
	return "$rc"
}
trap cleanup EXIT
started=$SECONDS
secs() { echo "$((SECONDS - $1)) s"; }
# py CODE ARGS...: a check in Python (standard library)
py() { timeout 60 "$PY" -c "$@"; }

echo "  -- the base image (debootstrap --variant=minbase bookworm)"
t0=$SECONDS
t_run "base: a debootstrap minbase bookworm image in buildah's storage (tests/images/base.sh)" 0 timeout 2400 "$here/base.sh"
base=$(tail -1 <<<"$T_OUT")
echo "     ($base, $(secs "$t0"))"
t_equals "base: it is Debian 12 (bookworm)" "12" bash -c '. "$1"; echo "$VERSION_ID"' _ \
	"$(img_buildah mount "$(img_buildah from --pull-never "$base" | tee -a "$W/ctrs")")/etc/os-release"
while read -r c; do containers+=("$c"); done <"$W/ctrs"

echo "  -- both targets"
read -r rev_kv sde_kv < <(timeout 60 "$here/build.sh" --snapshot "$W/ctx")
export REVISION=${rev_kv#REVISION=} SOURCE_DATE_EPOCH=${sde_kv#SOURCE_DATE_EPOCH=}
version=$(sed -nE 's/^VERSION := (.*)$/\1/p' "$W/ctx/Makefile")
declare -A id tag
for t in operator job; do
	t0=$SECONDS
	t_run "build: the $t target with buildah bud (chroot, vfs) on BASE_IMAGE=$base" 0 \
		timeout 3000 "$here/build.sh" --context "$W/ctx" --base "$base" --target "$t"
	read -r _ tag[$t] id[$t] < <(grep -E "^$t " <<<"$T_OUT" | tail -1) || true
	echo "     (${tag[$t]:-no tag} ${id[$t]:-no id}, $(secs "$t0"))"
done
[[ -n ${id[job]:-} && -n ${id[operator]:-} ]] || { t_fail "build: both targets" "a build failed; nothing more to test"; finished=1; exit 1; }
t_equals "tags: the operator is lifeboat-operator:$version" "localhost/lifeboat-operator:$version" echo "${tag[operator]}"
t_equals "tags: the job is lifeboat-job:$version-pg15" "localhost/lifeboat-job:$version-pg15" echo "${tag[job]}"
t_equals "tags: lifeboat-job:$version (the chart's default tag) is the same image" "${id[job]}" \
	img_buildah inspect --type image --format '{{.FromImageID}}' "localhost/lifeboat-job:$version"

echo "  -- the images' configuration"
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
for t in operator job; do
	img_buildah inspect --type image "${tag[$t]}" >"$W/$t.json"
	case $t in operator) bin=/usr/local/bin/lifeboat-operator v=$version ;; job) bin=/usr/local/bin/lifeboat v=$version-pg15 ;; esac
	# cfg KEY: one field of the OCI configuration, as JSON
	cfg() { py 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d["OCIv1"]["config"].get(sys.argv[2])))' "$W/$t.json" "$1"; }
	label() { py 'import json,sys; d=json.load(open(sys.argv[1])); print(d["OCIv1"]["config"].get("Labels",{}).get(sys.argv[2],"(none)"))' "$W/$t.json" "$1"; }
	t_equals "$t: USER is 65532:65532 (numeric, not root; the chart's runAsUser)" '"65532:65532"' cfg User
	t_equals "$t: ENTRYPOINT is the exec form [\"$bin\"] (no shell)" "[\"$bin\"]" cfg Entrypoint
	t_equals "$t: no CMD (the Job's or Deployment's args are the arguments)" "null" cfg Cmd
	t_equals "$t: label org.opencontainers.image.title" "lifeboat-$t" label org.opencontainers.image.title
	t_equals "$t: label org.opencontainers.image.version" "$v" label org.opencontainers.image.version
	t_equals "$t: label org.opencontainers.image.revision is the snapshot's commit" "$REVISION" label org.opencontainers.image.revision
	t_equals "$t: label org.opencontainers.image.created is SOURCE_DATE_EPOCH" "$created" label org.opencontainers.image.created
	t_run "$t: label org.opencontainers.image.description is set" 0 py 'import json,sys
d=json.load(open(sys.argv[1]))["OCIv1"]
assert d["config"]["Labels"]["org.opencontainers.image.description"].startswith("Lifeboat: "), d["config"]["Labels"]' "$W/$t.json"
	t_run "$t: the image's creation time and every history entry are SOURCE_DATE_EPOCH" 0 py 'import json,sys
d=json.load(open(sys.argv[1]))["OCIv1"]
times={d["created"]}|{h["created"] for h in d["history"]}
assert times=={sys.argv[2]}, times' "$W/$t.json" "$created"
	t_run "$t: one layer on scratch (the runtime root only, no build stage's files)" 0 py 'import json,sys
d=json.load(open(sys.argv[1]))
assert len(d["OCIv1"]["rootfs"]["diff_ids"])==1, d["OCIv1"]["rootfs"]' "$W/$t.json"
done
t_equals "job: label dev.lifeboat.postgresql.major is the tag's major" "15" label dev.lifeboat.postgresql.major

echo "  -- inside the images (buildah mount)"
in_job=/usr/local/bin/lifeboat in_op=/usr/local/bin/lifeboat-operator # paths inside the images
declare -A dir
for t in operator job; do
	c=$(img_buildah from --pull-never "${tag[$t]}")
	containers+=("$c")
	dir[$t]=$(img_buildah mount "$c")
	d=${dir[$t]}
	t_equals "$t: no shell and no package manager in the root" "" bash -c \
		'cd "$1" && find . ! -type d \( -name sh -o -name bash -o -name dash -o -name busybox -o -name ash -o -name zsh -o -name apt-get -o -name dpkg -o -name perl \) -printf "%p\n"' _ "$d"
	t_equals "$t: every file is root's" "" find "$d" -xdev ! -user 0 -printf '%P\n'
	t_equals "$t: nothing is writable by others (but /tmp, sticky)" "" find "$d" -xdev -perm -o+w ! -type l ! -path "$d/tmp" -printf '%P\n'
	# Every ELF file's libraries, as the image's own loader finds them.
	t_equals "$t: every ELF file's libraries are in the image (its ld.so --list)" "" bash -c '
		cd "$1" || exit 1
		find . -type f -perm -u+x -o -type f -name "*.so*" | while read -r f; do
			head -c4 "$f" | grep -q "ELF" || continue
			out=$(chroot "$1" /lib64/ld-linux-x86-64.so.2 --list "${f#.}" 2>&1) || { echo "$f: $out"; continue; }
			grep "not found" <<<"$out" | sed "s#^#$f: #"
		done' _ "$d"
	size=$(img_buildah images --format '{{.Size}}' "${tag[$t]}" | sed -n 1p)
	gz=$(tar -C "$d" --numeric-owner -cf - . | gzip -6 | wc -c)
	raw=$(du -sb "$d" | cut -f1)
	printf '     size: %s %s (buildah images), %s MB unpacked, %s MB gzipped\n' "${tag[$t]}" "$size" \
		"$(awk -v b="$raw" 'BEGIN{printf "%.1f", b/1e6}')" "$(awk -v b="$gz" 'BEGIN{printf "%.1f", b/1e6}')" | tee -a "$W/sizes"
done
t_run "job: lifeboat --version runs inside the image (chroot, as 65532)" 0 chroot --userspec=65532:65532 "${dir[job]}" "$in_job" --version
t_equals "job: ...and says lifeboat $version" "lifeboat $version" chroot --userspec=65532:65532 "${dir[job]}" "$in_job" --version
t_run "operator: lifeboat-operator --version runs inside the image" 0 chroot --userspec=65532:65532 "${dir[operator]}" "$in_op" --version
t_contains "operator: ...and names $version" "$version"
t_run "operator: --help runs inside the image" 0 chroot --userspec=65532:65532 "${dir[operator]}" "$in_op" --help
t_run "job: pg_dump on the image's PATH (/usr/bin/pg_dump) runs" 0 chroot --userspec=65532:65532 "${dir[job]}" /usr/bin/pg_dump --version
img_pgdump=$T_OUT
t_matches "job: pg_dump is PostgreSQL 15, the tag's major (pg15)" '^pg_dump \(PostgreSQL\) 15\.'
for tool in pg_restore psql; do
	t_run "job: $tool is PostgreSQL 15 too" 0 chroot --userspec=65532:65532 "${dir[job]}" "/usr/bin/$tool" --version
	t_matches "job: ...$tool says 15" "^$tool \\(PostgreSQL\\) 15\\."
done
t_run "job: the CA bundle, the zone info and the runtime user are there" 0 test -s "${dir[job]}/etc/ssl/certs/ca-certificates.crt" -a \
	-f "${dir[job]}/usr/share/zoneinfo/Europe/Paris" -a -f "${dir[operator]}/usr/share/zoneinfo/UTC"
t_equals "job: /etc/passwd names 65532 lifeboat" "lifeboat" bash -c 'awk -F: "\$3==65532{print \$1}" "$1/etc/passwd"' _ "${dir[job]}"
t_run "job: each package a file came from has its copyright and status (libpq5, postgresql-client-15, libc6)" 0 \
	test -f "${dir[job]}/usr/share/doc/libpq5/copyright" -a -f "${dir[job]}/var/lib/dpkg/status.d/postgresql-client-15" -a \
	-f "${dir[job]}/var/lib/dpkg/status.d/libc6"

echo "  -- reproducibility: both targets again, --no-cache, same sources and SOURCE_DATE_EPOCH"
# (what these builds add to the storage, vfs keeping a full copy per layer,
# is removed at the end: the images that were not there before)
img_buildah images -q --no-trunc --all | sort -u >"$W/images-before"
for t in operator job; do
	t0=$SECONDS
	t_run "repro: the $t target builds again from scratch (--no-cache)" 0 \
		timeout 3000 "$here/build.sh" --context "$W/ctx" --base "$base" --target "$t" --no-cache --tag-suffix -repro
	read -r _ _ again < <(grep -E "^$t " <<<"$T_OUT" | tail -1) || true
	echo "     (${again:-no id}, $(secs "$t0"))"
	if [[ ${again:-} == "${id[$t]}" ]]; then
		t_pass "repro: the $t image is the same image (ID ${id[$t]:0:12}: same config, same layer digest)"
	else
		img_buildah inspect --type image "localhost/lifeboat-$t:$version$([[ $t == job ]] && echo -pg15)-repro" >"$W/$t-repro.json" 2>/dev/null || true
		t_fail "repro: the $t image is the same image" "IDs ${id[$t]} and ${again:-none}; $(diff <(py 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["OCIv1"],indent=1,sort_keys=True))' "$W/$t.json") \
			<(py 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["OCIv1"],indent=1,sort_keys=True))' "$W/$t-repro.json" 2>/dev/null) | sed -n 1,20p)"
	fi
done

echo "  -- another PostgreSQL major (16) comes from apt.postgresql.org"
t0=$SECONDS
if timeout 15 curl -fsS -o /dev/null https://apt.postgresql.org/pub/repos/apt/dists/bookworm-pgdg/Release 2>/dev/null; then
	t_run "pg16: the job target with PG_MAJOR=16 builds (PGDG)" 0 \
		timeout 3000 "$here/build.sh" --context "$W/ctx" --base "$base" --target job --pg-major 16
	c=$(img_buildah from --pull-never "localhost/lifeboat-job:$version-pg16")
	containers+=("$c")
	t_run "pg16: its pg_dump is PostgreSQL 16" 0 chroot --userspec=65532:65532 "$(img_buildah mount "$c")" /usr/bin/pg_dump --version
	t_matches "pg16: ...says 16" '^pg_dump \(PostgreSQL\) 16\.'
else
	# Not reachable from here: the build must stop at the PGDG step, saying
	# so, and tag nothing (never a pg16 tag on another major's client).
	t_run "pg16: without apt.postgresql.org the PG_MAJOR=16 build fails" 1 \
		timeout 3000 "$here/build.sh" --context "$W/ctx" --base "$base" --target job --pg-major 16
	t_contains "pg16: ...at the PGDG step, saying why" "PostgreSQL 16 is not in bookworm: adding apt.postgresql.org"
	if img_buildah inspect --type image "localhost/lifeboat-job:$version-pg16" >/dev/null 2>&1; then
		t_fail "pg16: ...and tags no lifeboat-job:$version-pg16" "the tag exists"
	else
		t_pass "pg16: ...and tags no lifeboat-job:$version-pg16"
	fi
fi
echo "     ($(secs "$t0"))"

# the repro builds' tags and layers go (the cached ones stay for the next run)
for t in "localhost/lifeboat-operator:$version-repro" "localhost/lifeboat-job:$version-pg15-repro" "localhost/lifeboat-job:$version-repro"; do
	img_buildah rmi "$t" >/dev/null 2>&1 || true
done
img_buildah images -q --no-trunc --all | sort -u | comm -13 "$W/images-before" - | while read -r i; do
	img_buildah rmi -f "$i" >/dev/null 2>&1 || true
done

echo "  -- a backup by the job image on the real control plane"
jobtag=${tag[job]}
jobcfg=$W/job.json # buildah inspect's, above
t0=$SECONDS
# (pods on loopback addresses of their own, away from other clusters' pods)
t_run "cluster: tests/cluster/up with the job image mapped to its root (rootfs:DIR:CONFIG)" 0 env CLUSTER_TTL=900 \
	CLUSTER_POD_CIDR=127.0.61.0/24 LIFEBOAT_BIN_DIR="$W/no-binaries" \
	NODEAGENT_IMAGE_MAP="$jobtag=rootfs:${dir[job]}:$jobcfg" timeout 1200 "$root/tests/cluster/up" "$C"
echo "     ($(secs "$t0"))"
if [[ $T_RC -ne 0 ]]; then
	t_fail "backup: by the job image" "no cluster to run it on (see the failure above)"
	finished=1
	exit 1
fi
export KUBECONFIG=$C/kubeconfig
KUBECTL=$("$root/tests/cluster/kubectl.sh")
k() { timeout 120 "$KUBECTL" --cache-dir "$W/kcache" "$@"; }
pg_start >/dev/null
pg_psql postgres -q -c "CREATE DATABASE app" >/dev/null
pg_psql app -q -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 5000) i; CREATE VIEW tv AS SELECT count(*) FROM t" >/dev/null
NS=images-$$
mkdir -p "$W/backups"
chown 65532:65532 "$W/backups"
printf 'image-test-passphrase\n' >"$W/passphrase"
k create namespace "$NS" >/dev/null
k -n "$NS" create secret generic db --from-literal=uri="$(pg_uri_pw app)" >/dev/null
k -n "$NS" create secret generic pass --from-file=passphrase="$W/passphrase" >/dev/null
cat >"$W/job.yaml" <<YAML
apiVersion: batch/v1
kind: Job
metadata: {name: image-backup, namespace: $NS}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      securityContext: {runAsNonRoot: true}
      containers:
      - name: backup
        image: $jobtag
        args: [backup]
        env:
        - {name: LIFEBOAT_DB, valueFrom: {secretKeyRef: {name: db, key: uri}}}
        - {name: LIFEBOAT_STORAGE, value: "file:///backups"}
        - {name: LIFEBOAT_NAME, value: img1}
        - {name: LIFEBOAT_NAMESPACE, value: $NS}
        - {name: LIFEBOAT_PASSPHRASE_FILE, value: /etc/lifeboat/passphrase/passphrase}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: backups, mountPath: /backups}
        - {name: pass, mountPath: /etc/lifeboat/passphrase, readOnly: true}
      volumes:
      - {name: backups, hostPath: {path: $W/backups, type: Directory}}
      - {name: pass, secret: {secretName: pass}}
YAML
t_run "backup: the Job is created" 0 k apply -f "$W/job.yaml"
t_run "backup: the Job completes" 0 k -n "$NS" wait --for=condition=Complete job/image-backup --timeout=180s
k -n "$NS" get pods -l job-name=image-backup -o json >"$W/pods.json" || true
pod() { py 'import json,sys; p=json.load(open(sys.argv[1]))["items"][0]; print(eval(sys.argv[2]))' "$W/pods.json" "$1"; }
t_equals "backup: the pod Succeeded" "Succeeded" pod 'p["status"]["phase"]'
t_equals "backup: ...its container exited 0" "0" pod 'p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]'
t_equals "backup: ...and ran the job image (imageID is the image's ID)" "localhost/lifeboat-job@sha256:${id[job]}" pod 'p["status"]["containerStatuses"][0]["imageID"]'
if [[ $(pod 'p["status"]["phase"]' 2>/dev/null) != Succeeded ]]; then
	k -n "$NS" logs job/image-backup 2>&1 | tail -20 || true
	grep -h "$NS" "$C"/logs/nodeagent.log | tail -20 || true
fi
a=$W/backups/$NS/img1
adump=$(find "$a" -maxdepth 1 -name 'db-*.dump.zst.pgp' | sed -n 1p)
t_run "backup: the manifest and the encrypted dump are in the volume" 0 test -s "$a/manifest.json" -a -s "$adump"
t_equals "backup: ...written by the image's user (65532)" "65532" stat -c %u "$adump"
img_pgver=$(sed -E 's/^pg_dump \(PostgreSQL\) ([0-9.]+).*/\1/' <<<"$img_pgdump")
t_equals "backup: the dump was made by the image's pg_dump $img_pgver (manifest dumpVersion)" "$img_pgver" \
	py 'import json,sys; m=json.load(open(sys.argv[1])); print(m["postgresql"]["dumpVersion"])' "$a/manifest.json"
echo "     (image: $img_pgdump; host: $(/usr/lib/postgresql/15/bin/pg_dump --version))"
t_run "backup: gpg decrypts the dump, zstd unpacks it, pg_restore lists it" 0 bash -c \
	'gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$1" -d "$2" | zstd -dc | "$3/pg_restore" -l' _ "$W/passphrase" "$adump" "$PGTEST_BIN"
t_contains "backup: ...with table t and view tv" "TABLE public t "
t_contains "backup: ...and view tv" "VIEW public tv "
pg_psql postgres -q -c "CREATE DATABASE app_check" >/dev/null
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$W/passphrase" -d "$adump" 2>/dev/null |
	zstd -dc >"$W/db.dump" 2>/dev/null || true
chmod 644 "$W/db.dump"
t_run "backup: the dump restores (host pg_restore) into a new database" 0 pg_tool pg_restore --no-owner -d app_check "$W/db.dump"
t_equals "backup: ...with the same content (pg_table_checksums)" "$(pg_table_checksums app)" pg_table_checksums app_check
if [[ -x $LIFEBOAT ]]; then
	t_run "backup: lifeboat verify (the host's binary) accepts the artifact" 0 "$LIFEBOAT" verify --storage "file://$W/backups" \
		--namespace "$NS" --name img1 --passphrase-file "$W/passphrase"
else
	echo "     (no host lifeboat at $LIFEBOAT: lifeboat verify not run; gpg, zstd and pg_restore checked the artifact)"
fi
k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true

finished=1
printf '     total: %s\n' "$(secs "$started")"
cat "$W/sizes"
failed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c '^FAIL' || true)
passed=$(tail -n +"$results_from" "$LIFEBOAT_RESULTS" | grep -c '^PASS' || true)
echo "images: $passed passed, $failed failed ($(secs "$started"))"
if [[ $failed -eq 0 && $passed -gt 0 ]]; then
	echo "$key" >"$keyfile"
	exit 0
fi
exit 1
