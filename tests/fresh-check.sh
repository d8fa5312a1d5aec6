#!/usr/bin/env bash
# make fresh-check: `make test` and `make demo` as a new user runs them on a
# bare Debian bookworm, to find what the set-up forgets to install.
#
# Builds (once; cached) a `debootstrap --variant=minbase bookworm` root with
# only git, make and ca-certificates added, this machine's apt sources and
# its extra CA certificates (/usr/local/share/ca-certificates); then, for
# each run, a fresh copy of it (an overlay over the cached root), a fresh
# `git clone` of this work tree inside it (with the work tree's uncommitted
# changes laid over, unless --head), and runs the make targets there through
# chroot, with /proc, /sys and /dev mounted (unmounted on exit), under
# `timeout`. Needs root. A whole run (packages, builds, every suite, the
# demo) took 8 minutes on 2 cores, plus the control plane's cold Go build.
#
#   tests/fresh-check.sh                 make test, then make demo
#   tests/fresh-check.sh deps unit       other targets (a quick partial run)
#   --head      test the committed HEAD only
#   --keep      keep the run's root (its log is kept either way)
#   --rebuild   build the cached minbase root again
# Environment: LIFEBOAT_CACHE (cache root, default ~/.cache/lifeboat),
# FRESH_TIMEOUT (seconds, default 10800), FRESH_NICE (default 10),
# FRESH_DIR (where the clone goes inside the root, default /work/lifeboat:
# world-traversable like CI's folder; a clone under root's 0700 home fails
# the suites' checks that run lifeboat as user nobody).
# The log of the last run: $LIFEBOAT_CACHE/fresh-check/last.log
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/fresh-check
base=$cache/bookworm-minbase
timeout_s=${FRESH_TIMEOUT:-10800}
niceness=${FRESH_NICE:-10}
dir=${FRESH_DIR:-/work/lifeboat}

head_only=0 keep=0 rebuild=0 targets=()
for a in "$@"; do
	case $a in
	--head) head_only=1 ;;
	--keep) keep=1 ;;
	--rebuild) rebuild=1 ;;
	-*) echo "fresh-check: unknown option $a" >&2; exit 2 ;;
	*) targets+=("$a") ;;
	esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(test demo)

say() { printf 'fresh-check: %s\n' "$*" >&2; }
[[ $(id -u) -eq 0 ]] || { say "needs root (debootstrap, chroot, mount)"; exit 1; }

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
fi

# The mirror: the first Debian URI of this machine's sources.
mirror=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
	grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$cache"
exec 8>"$cache/.lock"
flock -n 8 || { say "another fresh-check is running ($cache/.lock)"; exit 1; }

if [[ $rebuild -eq 1 || ! -e $base/.lifeboat-complete ]]; then
	say "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
	rm -rf "$base.tmp" "$base"
	debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$base.tmp" "$mirror" \
		>"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
	# The same apt sources as this machine (enabled files only).
	rm -f "$base.tmp/etc/apt/sources.list"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		mkdir -p "$base.tmp$(dirname "$f")"
		cp "$f" "$base.tmp$f"
	done
	# The same CA certificates: the extra ones this machine trusts.
	if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
		cp -r /usr/local/share/ca-certificates/. "$base.tmp/usr/local/share/ca-certificates/"
		chroot "$base.tmp" /usr/sbin/update-ca-certificates >/dev/null 2>&1
	fi
	# shellcheck disable=SC2016 # (a dpkg-query format)
	chroot "$base.tmp" /usr/bin/dpkg-query -W -f='${Package}\n' | sort >"$base.tmp/.lifeboat-packages"
	touch "$base.tmp/.lifeboat-complete"
	mv "$base.tmp" "$base"
	say "minbase root ready: $(wc -l <"$base/.lifeboat-packages") packages, $(du -sh "$base" | cut -f1)"
fi

run=$(mktemp -d "$cache/run.XXXXXX")
rootfs=$run/root
log=$run/log
mkdir -p "$rootfs" "$run/upper" "$run/work" "$cache/apt-archives"
mounts=()
# shellcheck disable=SC2329 # (the EXIT trap)
cleanup() {
	local rc=$? p m
	# Processes still running inside the root (a run cut short by timeout):
	# ours, found by their root directory, ended by PID.
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/root" 2>/dev/null) == "$rootfs" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	sleep 0.5
	for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do
		umount -R "${mounts[m]}" 2>/dev/null || umount -R -l "${mounts[m]}" 2>/dev/null || true
	done
	[[ -f $log ]] && cp "$log" "$cache/last.log"
	if [[ $keep -eq 1 ]]; then
		say "kept $run"
	elif ! grep -q "^$run" <<<"$(findmnt -rn -o TARGET)"; then
		rm -rf "$run"
	fi
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh copy of the cached root: an overlay, or a plain copy where the
# kernel has no overlayfs.
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$rootfs" 2>/dev/null; then
	mounts+=("$rootfs")
else
	say "no overlayfs here: copying the root"
	cp -a "$base/." "$rootfs/"
fi
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp /etc/hosts "$rootfs/etc/hosts"

# The project: a fresh clone, plus (unless --head) the work tree's
# uncommitted changes and new files, as the next commit would hold them.
clone=$rootfs$dir
mkdir -p "$(dirname "$clone")"
git clone -q --no-hardlinks "$src" "$clone"
if [[ $head_only -eq 0 ]]; then
	(cd "$src" && git ls-files -z -m -o --exclude-standard) |
		(cd "$src" && tar --null -T - -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$clone"
	(cd "$src" && git ls-files -z -d) | (cd "$clone" && xargs -0 -r rm -f --)
fi
say "testing $(cd "$src" && git rev-parse --short HEAD)$([[ $head_only -eq 1 ]] || echo ' + the work tree') in $rootfs"

mount -t proc proc "$rootfs/proc" && mounts+=("$rootfs/proc")
mount --rbind /sys "$rootfs/sys" && mount --make-rslave "$rootfs/sys" && mounts+=("$rootfs/sys")
mount --rbind /dev "$rootfs/dev" && mount --make-rslave "$rootfs/dev" && mounts+=("$rootfs/dev")
# (a download cache only: apt checks every package it takes from there)
mount --bind "$cache/apt-archives" "$rootfs/var/cache/apt/archives" && mounts+=("$rootfs/var/cache/apt/archives")

# Every target runs (a failing `make test` does not hide `make demo`); the
# status is the first failure's.
steps="rc=0; "
for t in "${targets[@]}"; do
	steps+="echo; echo '=== fresh-check: make $t'; make $t; s=\$?; echo \"=== fresh-check: make $t: exit \$s\"; [ \$rc -ne 0 ] || rc=\$s; "
done
steps+="exit \$rc"
say "running make ${targets[*]} inside (timeout ${timeout_s} s; log $cache/last.log)"
started=$SECONDS
set +e
nice -n "$niceness" timeout -k 60 "$timeout_s" chroot "$rootfs" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -c "cd '$dir' && $steps" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - started))
if [[ $rc -eq 0 ]]; then
	say "PASS: make ${targets[*]} on a bare bookworm minbase (${elapsed} s)"
elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
	say "FAIL: timed out after ${timeout_s} s (log $cache/last.log)"
else
	say "FAIL: exit $rc after ${elapsed} s (log $cache/last.log)"
	grep -E '^=== fresh-check: make .*: exit|command not found|^[0-9]+ passed, [0-9]+ failed' "$log" >&2 || true
fi
exit "$rc"
