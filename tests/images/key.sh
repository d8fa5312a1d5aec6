#!/usr/bin/env bash
# tests/images/key.sh: prints the key of what the image suite tests: the
# sha256 of the Dockerfile, .dockerignore, packaging/, tests/images/ and the
# Makefile's link lines (PKGS, the pkg-config and LDFLAGS/LDLIBS lines and
# the binaries' link commands). tests/images/run.sh --if-changed runs only
# when it differs from the key of the last passing run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
{
	for f in Dockerfile .dockerignore packaging/* tests/images/*; do
		[[ -f $f ]] || continue
		printf '== %s\n' "$f"
		cat "$f"
	done
	printf '== Makefile link lines\n'
	grep -E '^(PKGS|PKG_CFLAGS|PKG_LIBS|LDFLAGS|LDLIBS|VERSION) |^\$\(BUILD\)/lifeboat(-operator)?:|\$\(CC\) \$\(LDFLAGS\)' Makefile
} | sha256sum | cut -d' ' -f1
