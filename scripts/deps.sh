#!/usr/bin/env bash
# Installs what vigie needs to build and test, from Debian's packages.
# Does nothing when everything is already there; needs root (or sudo) otherwise.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libpcre2-dev libyaml-dev libjansson-dev libevent-dev libssl-dev
      clang libclang-rt-14-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else
  echo "need root to install: ${missing[*]}" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
