#!/usr/bin/env bash
# Installs the Node.js test peers (tests/interop/package.json: pino,
# pino-pretty, cron-parser, croner, ws, socket.io-client, socket.io,
# @socket.io/redis-adapter, @socket.io/redis-emitter, redis,
# puppeteer-core) from package-lock.json, once. Installs Debian's nodejs
# and npm first when node is missing. Idempotent and quiet.
set -euo pipefail
"$(dirname "$0")/node.sh"
cd "$(dirname "$0")/../tests/interop"

# Reinstall only when the lock file changed since the last install.
stamp=node_modules/.roster-lock
if [[ -f $stamp ]] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "npm: installing the test peers (tests/interop)" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
cp package-lock.json "$stamp"
