#!/usr/bin/env bash
# tests/images/base.sh: prints the name of a local Debian bookworm base image
# for the Dockerfile's BASE_IMAGE (there is no image registry here), making it
# first when it is not in the buildah storage yet:
#   debootstrap --variant=minbase bookworm (this machine's first Debian mirror
#   and its apt sources), apt's lists and logs removed, packed into a tarball
#   with sorted names, numeric owners and clamped mtimes, then
#   `buildah from scratch` + `buildah add` of that tarball + `buildah commit
#   --timestamp`, so one tarball always gives the same image ID.
# The tarball and the storage stay in $LIFEBOAT_CACHE/images (default
# ~/.cache/lifeboat/images) for later runs; --rebuild makes them again.
# Needs root (debootstrap, buildah with chroot isolation and vfs storage).
# Environment: see tests/images/lib.sh (storage locations).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
rebuild=0
[[ ${1:-} == --rebuild ]] && rebuild=1
name=$IMG_BASE_NAME
tarball=$IMG_CACHE/bookworm-minbase.tar
say() { printf 'images/base: %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { say "needs root (debootstrap, buildah chroot isolation)"; exit 1; }

mkdir -p "$IMG_CACHE"
exec 7>"$IMG_CACHE/.base.lock"
flock -w 1800 7 || { say "timed out waiting for $IMG_CACHE/.base.lock"; exit 1; }

if [[ $rebuild -eq 1 || ! -s $tarball ]]; then
	mirror=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -1 || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	tree=$IMG_CACHE/bookworm-minbase.tmp
	rm -rf "$tree"
	mkdir -p "$IMG_CACHE/debs"
	say "debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
	timeout 1800 debootstrap --variant=minbase --cache-dir="$IMG_CACHE/debs" bookworm "$tree" "$mirror" \
		>"$IMG_CACHE/debootstrap.log" 2>&1 || { tail -20 "$IMG_CACHE/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
	# This machine's apt sources (its mirror and suites, security included).
	rm -f "$tree/etc/apt/sources.list"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		mkdir -p "$tree$(dirname "$f")"
		cp "$f" "$tree$f"
	done
	# What a docker base image leaves out: package lists, logs, caches, the
	# host's resolver and hostname.
	rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/* "$tree"/var/log/* "$tree"/tmp/* \
		"$tree"/var/cache/ldconfig/aux-cache "$tree"/debootstrap
	: >"$tree/etc/resolv.conf"
	: >"$tree/etc/hostname"
	epoch=$(stat -c %Y "$tree/var/lib/dpkg/status")
	tar --sort=name --numeric-owner --mtime="@$epoch" --clamp-mtime \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-C "$tree" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	echo "$epoch" >"$tarball.epoch"
	rm -rf "$tree"
	img_buildah rmi -f "$name" >/dev/null 2>&1 || true
	say "base tarball ready: $(du -h "$tarball" | cut -f1)"
fi

if ! img_buildah inspect --type image "$name" >/dev/null 2>&1; then
	epoch=$(cat "$tarball.epoch")
	ctr=$(img_buildah from --pull-never scratch)
	trap 'img_buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
	img_buildah add "$ctr" "$tarball" / >/dev/null
	img_buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--cmd /bin/bash --os linux --arch amd64 \
		--label org.opencontainers.image.description="debootstrap --variant=minbase bookworm (lifeboat tests)" "$ctr"
	img_buildah commit --quiet --timestamp "$epoch" --rm "$ctr" "$name" >/dev/null
	trap - EXIT
	say "base image $name committed"
fi
echo "$name"
