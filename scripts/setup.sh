#!/usr/bin/env bash
# Installs what wgbgp needs on Debian 12 (run as root) and builds it.
# --no-install-recommends matters: wireguard-tools recommends a whole kernel image.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the agent, the labs and the interop peers run (the container image installs the same list).
pkgs=(wireguard-go wireguard-tools bird2 frr gobgpd openbgpd iproute2 nftables iputils-ping socat procps)
# Only the tests need these: systemd-analyze (the unit), zsh and groff (completion and man page).
test_pkgs=(systemd zsh groff-base)
missing=()
for p in "${pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "wgbgp needs Node.js 20 or newer on PATH" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
