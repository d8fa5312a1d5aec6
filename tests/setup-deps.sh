#!/usr/bin/env bash
# Installs, on Debian, whatever build and test dependency is missing. Idempotent:
# does nothing (and needs no network) when everything is present.
#   tests/setup-deps.sh          install what is missing
#   tests/setup-deps.sh --list   print the Debian packages it installs, one a
#                                line (tests/deps/commands.py reads them)
set -euo pipefail

packages=(
	gcc make pkg-config
	libcurl4-openssl-dev libjson-c-dev libyaml-dev libpq-dev libssl-dev
	libwebsockets-dev libcmocka-dev libzstd-dev zlib1g-dev
	postgresql postgresql-client gnupg zstd valgrind python3 util-linux
	python3-kubernetes
	python3-botocore awscli time
	# Commands the suites, the demo and the bench call that a minimal Debian
	# (debootstrap --variant=minbase) lacks; tests/deps/check-commands.sh
	# fails when a script calls one that no package here provides.
	curl     # curl: the storage and API-server suites, bench/s3.sh, tests/setup-go.sh
	iproute2 # ss: tests/lib/pg.sh's free-port fallback
	procps   # pgrep, pkill, kill (through xargs): the API-server suite, tests/lib/pg.sh, tests/cluster
	openssl  # openssl: TLS certificates in the storage suites and tests/cluster/up
	unzip    # unzip: tests/setup-go.sh, tests/setup-helm.sh
	xxd      # xxd: hex dumps of the binary formats (OpenPGP, zstd) when debugging
	bc       # bc: tests/lib/selftest-pg.sh
	debootstrap # debootstrap (and wget): make fresh-check, tests/fresh-check.sh
	buildah     # buildah: the container images (make images, tests/images/run.sh; chroot isolation, vfs storage)
	prometheus  # promtool: checks the operator's /metrics (tests/kube/run-operator-parts.sh); its server is not started by the tests
	python3-prometheus-client # the prometheus_client text parser, second check of /metrics (run-operator-parts.sh, /usr/bin/python3)
	lua5.1   # lua5.1, luac5.1: the Argo CD health checks (tests/gitops/run.sh; Argo CD's gopher-lua is Lua 5.1)
	python3-cryptography # RS256 JWT checks of the GCS token endpoint (tests/storage/gcs_auth.py, /usr/bin/python3)
	clang    # clang 14 with libFuzzer (-fsanitize=fuzzer): the fuzz targets of tests/fuzz/ (make fuzz, make test)
	clang-format # clang-format 14: make format, and make format-check inside make test (every C file)
	libclang-rt-14-dev # clang's libFuzzer and ASan runtimes (only recommended by clang, and recommends are not installed)
)

root=$(cd "$(dirname "$0")/.." && pwd)

# npm packages for the storage tests, in a project-local folder; skipped when
# present. Runs after the apt step (which may install npm itself).
# All in one `npm install`: a --no-save install prunes whatever else the
# folder holds, so installing them one at a time would remove the others.
npm_deps() {
	local dir=$root/tests/storage
	[[ -x $dir/node_modules/.bin/s3rver && -x $dir/node_modules/.bin/azurite-blob ]] && return 0
	if ! command -v npm >/dev/null; then
		echo "setup: installing npm (Debian's) for the storage test servers" >&2
		"${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq npm >/dev/null ||
			{ echo "setup: npm is missing and could not be installed; cannot install s3rver and azurite" >&2; return 1; }
	fi
	echo "setup: npm install s3rver and azurite into tests/storage/node_modules" >&2
	npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
		s3rver@3.7.1 azurite@3.35.0 >/dev/null
}

# The Go toolchain (Go >= 1.24) and helm 3 for the test-only Go builds and
# charts: fetched into the lifeboat cache by their scripts (no network once
# there). Each runs only when its script exists.
go_toolchain() {
	[[ -x $root/tests/setup-go.sh ]] || return 0
	"$root/tests/setup-go.sh" >/dev/null
}
helm_binary() {
	[[ -x $root/tests/setup-helm.sh ]] || return 0
	"$root/tests/setup-helm.sh" >/dev/null
}

if [[ ${1:-} == --list ]]; then
	# npm: installed by npm_deps when no npm is on PATH
	printf '%s\n' "${packages[@]}" npm
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
sudo=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "setup: installing ${missing[*]}" >&2
	if [[ $(id -u) -ne 0 && ${#sudo[@]} -eq 0 ]]; then
		echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2
		exit 1
	fi
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm_deps
go_toolchain
helm_binary
