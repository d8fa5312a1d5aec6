#!/usr/bin/env bash
# tests/images/build.sh: builds the Dockerfile's targets with buildah (chroot
# isolation, vfs storage in $LIFEBOAT_CACHE/images/storage; no daemon) and
# tags them; `make images` runs it. Prints one line per image built:
#   TARGET TAG IMAGE-ID
#   --target T      operator, job, or all (default all)
#   --pg-major N    PostgreSQL client major of the job image (default $PG_MAJOR or 15)
#   --base IMAGE    BASE_IMAGE (default $BASE_IMAGE, else the local debootstrap
#                   image of tests/images/base.sh, made on first use)
#   --no-cache      build every layer again (the reproducibility check)
#   --tag-suffix S  append S to the tags (a second build beside the first)
#   --context DIR   build from DIR (a copy of the inputs, see --snapshot)
#                   instead of the work tree
#   --snapshot DIR  only copy the build's inputs (Dockerfile, .dockerignore,
#                   Makefile, common/, job/, operator/, packaging/ as the
#                   work tree has them) into DIR and print the REVISION and
#                   SOURCE_DATE_EPOCH to build it with; builds nothing
# SOURCE_DATE_EPOCH (default: the time of the last commit that touched the
# build's inputs) is passed to the build and to `buildah bud --timestamp`;
# the labels get VERSION (from the Makefile), REVISION (default: the last
# commit that touched the inputs, "-dirty" when the work tree's inputs differ
# from HEAD) and CREATED (SOURCE_DATE_EPOCH in RFC 3339). Both follow the
# inputs, not HEAD, so that other commits neither change the image nor meet
# a stale cached label.
# Tags: lifeboat-operator:VERSION, lifeboat-job:VERSION-pgN, and for the
# default major also lifeboat-job:VERSION (the Helm chart's default tag).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
target=all pg_major=${PG_MAJOR:-15} base=${BASE_IMAGE:-} nocache=() suffix='' context='' snapshot=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--target) target=$2; shift ;;
	--pg-major) pg_major=$2; shift ;;
	--base) base=$2; shift ;;
	--no-cache) nocache=(--no-cache) ;;
	--tag-suffix) suffix=$2; shift ;;
	--context) context=$2; shift ;;
	--snapshot) snapshot=$2; shift ;;
	*) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $target in operator) targets=(operator) ;; job) targets=(job) ;; all) targets=(operator job) ;;
*) echo "build.sh: --target operator, job or all" >&2; exit 2 ;; esac
[[ $pg_major =~ ^[0-9]+$ ]] || { echo "build.sh: --pg-major wants a number, not $pg_major" >&2; exit 2; }
inputs=(Dockerfile .dockerignore Makefile common job operator packaging)
cd "$root"
if [[ -z ${REVISION:-} ]]; then
	REVISION=$(git log -1 --format=%H -- "${inputs[@]}" 2>/dev/null || true)
	REVISION=${REVISION:-unknown}
	if [[ $REVISION != unknown && -n $(git status --porcelain -- "${inputs[@]}" 2>/dev/null) ]]; then
		REVISION+=-dirty
	fi
fi
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct -- "${inputs[@]}" 2>/dev/null || true)
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
if [[ -n $snapshot ]]; then
	mkdir -p "$snapshot"
	tar -cf - "${inputs[@]}" | tar -xf - -C "$snapshot"
	echo "REVISION=$REVISION SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
	exit 0
fi
[[ -n $base ]] || base=$("$here/base.sh")
[[ -z $context ]] || cd "$context"
version=$(sed -nE 's/^VERSION := (.*)$/\1/p' Makefile)
sde=$SOURCE_DATE_EPOCH
revision=$REVISION
created=$(date -u -d "@$sde" +%Y-%m-%dT%H:%M:%SZ)
for t in "${targets[@]}"; do
	tags=()
	case $t in
	operator) tags=("localhost/lifeboat-operator:$version$suffix") ;;
	job)
		tags=("localhost/lifeboat-job:$version-pg$pg_major$suffix")
		[[ $pg_major == 15 ]] && tags+=("localhost/lifeboat-job:$version$suffix")
		;;
	esac
	tflags=()
	for g in "${tags[@]}"; do tflags+=(-t "$g"); done
	echo "images/build: $t (${tags[*]}) on $base" >&2
	img_buildah bud --isolation chroot --layers --force-rm "${nocache[@]}" --timestamp "$sde" \
		--build-arg BASE_IMAGE="$base" --build-arg PG_MAJOR="$pg_major" \
		--build-arg VERSION="$version" --build-arg REVISION="$revision" \
		--build-arg CREATED="$created" --build-arg SOURCE_DATE_EPOCH="$sde" \
		--target "$t" "${tflags[@]}" -f Dockerfile . >&2
	echo "$t ${tags[0]} $(img_buildah inspect --type image --format '{{.FromImageID}}' "${tags[0]}")"
done
