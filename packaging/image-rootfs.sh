#!/bin/bash
# packaging/image-rootfs.sh OUT FILE...: runs inside the Dockerfile's builder
# stages (Debian bookworm, bash) and assembles in OUT the whole root
# filesystem of a runtime image, which the final stage copies onto `scratch`:
#   - each FILE at its own path, and every shared library it (or another
#     FILE, or a library) needs, found with ldd; symlinks on the way (the
#     merged-usr /lib -> usr/lib, libpq.so.5 -> libpq.so.5.15) are kept as
#     symlinks, so the loader finds everything where Debian put it;
#   - the CA bundle (/etc/ssl/certs/ca-certificates.crt, and OpenSSL's
#     /usr/lib/ssl links to it), /usr/share/zoneinfo, /etc/os-release;
#   - /etc/passwd and /etc/group with root, nobody and the runtime user
#     lifeboat (65532:65532), /etc/nsswitch.conf, an empty /tmp (1777);
#   - for each Debian package a file came from: its copyright file in
#     /usr/share/doc/<package>/ and its dpkg status stanza in
#     /var/lib/dpkg/status.d/<package> (as distroless images do, so scanners
#     and licence checks see what the image holds).
# No shell, no package manager: nothing else is copied. Every file gets the
# mtime of SOURCE_DATE_EPOCH when it is set (buildah --timestamp clamps the
# layer's mtimes anyway; this keeps `docker build` output stable too).
set -euo pipefail
out=${1:?usage: image-rootfs.sh OUT FILE...}
shift
[[ $# -gt 0 ]] || { echo "image-rootfs.sh: no files" >&2; exit 2; }
mkdir -p "$out"

# The merged-usr symlinks of / (bin -> usr/bin, lib -> usr/lib, ...).
for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
	[[ -L $d ]] || continue
	t=$(readlink "$d")
	[[ $t == /* ]] || t=/$t
	mkdir -p "$out$t"
	cp -P "$d" "$out$d"
done

declare -A seen=()
# put PATH: PATH and the symlinks leading to it, at the same place in OUT.
put() {
	local p=$1 t
	while :; do
		[[ -n ${seen[$p]:-} ]] && return 0
		seen[$p]=1
		[[ -e $p || -L $p ]] || { echo "image-rootfs.sh: $p does not exist" >&2; return 1; }
		# the folders on the way (resolved: OUT has the same top-level links)
		mkdir -p "$out$(dirname "$p")"
		if [[ -d $p && ! -L $p ]]; then
			mkdir -p "$out$p" # a link to a folder: the folder, not its content
			return 0
		fi
		cp -P --preserve=mode "$p" "$out$p"
		[[ -L $p ]] || return 0
		t=$(readlink "$p")
		[[ $t == /* ]] || t=$(dirname "$p")/$t
		p=$(realpath -s -m "$t")
	done
}
# libs FILE: the shared libraries FILE needs (ldd's absolute paths).
libs() {
	ldd "$1" 2>/dev/null | sed -nE 's#^\s*(\S+ => )?(/\S+) \(0x[0-9a-f]+\)$#\2#p'
}

files=()
for f in "$@"; do
	put "$f"
	files+=("$f")
	if [[ -f $f && ! -L $f ]] && head -c4 "$f" | grep -q $'\x7fELF'; then
		while read -r l; do
			put "$l"
			files+=("$l")
		done < <(libs "$f")
	fi
done
# ldd already lists the whole closure of each ELF file.

# TLS, time zones, the OS's name.
put /etc/ssl/certs/ca-certificates.crt
put /etc/ssl/openssl.cnf
[[ -L /usr/lib/ssl/certs ]] && put /usr/lib/ssl/certs
[[ -L /usr/lib/ssl/openssl.cnf ]] && put /usr/lib/ssl/openssl.cnf
put /etc/os-release
mkdir -p "$out/usr/share"
cp -a /usr/share/zoneinfo "$out/usr/share/"
rm -rf "$out/usr/share/zoneinfo/right" "$out/usr/share/zoneinfo/posix"
ln -s . "$out/usr/share/zoneinfo/posix"
files+=(/usr/share/zoneinfo/UTC /etc/ssl/certs/ca-certificates.crt)

# Users, name service, /tmp.
mkdir -p "$out/etc" "$out/tmp" "$out/home"
chmod 1777 "$out/tmp"
cat >"$out/etc/passwd" <<'PW'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
lifeboat:x:65532:65532:lifeboat:/nonexistent:/usr/sbin/nologin
PW
cat >"$out/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
lifeboat:x:65532:
GR
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"

# The Debian packages behind the files: copyright and status.
declare -A pkgs=()
for f in "${files[@]}"; do
	r=$(realpath "$f")
	for q in "$f" "$r"; do
		o=$(dpkg-query -S "$q" 2>/dev/null | grep -v '^diversion' | head -1) || continue
		[[ -n $o ]] || continue
		read -ra names <<<"${o%%: /*}"
		for p in "${names[@]}"; do
			p=${p%,}
			pkgs[${p%%:*}]=1
		done
		break
	done
done
# (the CA bundle is made by update-ca-certificates, owned by no package)
dpkg-query -W ca-certificates >/dev/null 2>&1 && pkgs[ca-certificates]=1
mkdir -p "$out/var/lib/dpkg/status.d"
for p in "${!pkgs[@]}"; do
	if [[ -f /usr/share/doc/$p/copyright ]]; then
		mkdir -p "$out/usr/share/doc/$p"
		cp /usr/share/doc/"$p"/copyright "$out/usr/share/doc/$p/"
	fi
	dpkg-query -s "$p" >"$out/var/lib/dpkg/status.d/$p"
done

if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
	find "$out" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi
echo "image-rootfs.sh: $(find "$out" -type f | wc -l) files, ${#pkgs[@]} packages, $(du -sh "$out" | cut -f1)" >&2
