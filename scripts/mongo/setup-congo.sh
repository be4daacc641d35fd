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
# missing (scripts/node.sh).
set -euo pipefail
cd "$(dirname "$0")"

TARBALL=push.rocks-smartmongo-2.2.0.tgz
INTEGRITY=sha512-ovVCNoJ3D0aBuKtoKaQWWQKvBngaGJq9fAPQigzji1EHsS1XyGpXWCpe5nq/ptGvBROOcpqZcOFEGAcrnb+OjA==

"../node.sh"

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
got=$(node -e 'const c = require("crypto"), fs = require("fs");
  console.log("sha512-" + c.createHash("sha512")
    .update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$TARBALL")
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
