#!/usr/bin/env bash
# Installs the real programs the tests run against (see README "Tests").
# Needs root; without it, prints what is missing and leaves it to the tests to fail.
set -euo pipefail
# ppp: chat; slirp: the PPP/SLIP "ISP" peer; tshark: the capture oracle;
# gcc + libc6-dev: build the select() shim slirp needs; iproute2: private network namespaces
# (slirp's, and the kernel TCP behind a TUN device); util-linux: setpriv, to try TUN unprivileged.
# minimodem (V.21 FSK), multimon-ng (DTMF) and sox (its wav input): the audio oracles.
PEERS=(ppp picocom tmux socat slirp tshark gcc libc6-dev iproute2 util-linux minimodem multimon-ng sox)
missing=()
for pkg in "${PEERS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-peers: not root; missing peer packages: ${missing[*]}" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
