#!/usr/bin/env bash
# Installs, on Debian, whatever build and test dependency is missing. Idempotent:
# does nothing (and needs no network) when everything is present.
set -euo pipefail

packages=(
	gcc make pkg-config
	libcurl4-openssl-dev libjson-c-dev libyaml-dev libpq-dev libssl-dev
	libwebsockets-dev libcmocka-dev libzstd-dev zlib1g-dev
	postgresql postgresql-client gnupg zstd valgrind python3 util-linux
	python3-kubernetes
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
