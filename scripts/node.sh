#!/usr/bin/env bash
# Installs Debian's nodejs and npm when node or npm is missing (with sudo
# when not run as root). Idempotent and quiet. Used by scripts/npm.sh (the
# Node.js test peers) and scripts/mongo/setup-congo.sh (the MongoDB test
# server).
set -euo pipefail
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "node: installing nodejs and npm" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
