#!/usr/bin/env bash
# Installs the MongoDB wire-protocol server of the tests, once: CongoDB, the
# pure-TypeScript server inside @push.rocks/smartmongo 2.2.0. A plain
# `npm i @push.rocks/smartmongo@2.2.0` cannot resolve that package's own
# dependency tree, and CongoDB needs none of it: the packages CongoDB
# imports are pinned in package.json/package-lock.json here (npm ci), and
# the smartmongo tarball is fetched with `npm pack`, checked against its
# pinned sha512 and unpacked into node_modules/.congo. Then
# `node scripts/mongo/congo-server.mjs PORT` runs it (scripts/services.sh
# does). Idempotent and quiet; installs Debian's nodejs and npm when node is
# missing (scripts/npm.sh does the same for the other Node.js peers).
set -euo pipefail
cd "$(dirname "$0")"

TARBALL=push.rocks-smartmongo-2.2.0.tgz
INTEGRITY=sha512-ovVCNoJ3D0aBuKtoKaQWWQKvBngaGJq9fAPQigzji1EHsS1XyGpXWCpe5nq/ptGvBROOcpqZcOFEGAcrnb+OjA==

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "mongo: installing nodejs and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

stamp=node_modules/.roster-lock
if [[ -f $stamp ]] && cmp -s package-lock.json "$stamp" &&
  [[ -f node_modules/.congo/package/dist_ts/index.congo.js ]]; then
  exit 0
fi
echo "mongo: installing CongoDB (scripts/mongo)" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @push.rocks/smartmongo@2.2.0 >/dev/null)
got="sha512-$(openssl dgst -sha512 -binary "$tmp/$TARBALL" | base64 -w0)"
if [[ $got != "$INTEGRITY" ]]; then
  echo "mongo: $TARBALL has $got, expected $INTEGRITY" >&2
  exit 1
fi
rm -rf node_modules/.congo
mkdir -p node_modules/.congo
tar xzf "$tmp/$TARBALL" -C node_modules/.congo
# CongoDB alone, without the rest of smartmongo's index.
echo "export * as congodb from './congodb/index.js';" \
  >node_modules/.congo/package/dist_ts/index.congo.js
cp package-lock.json "$stamp"
