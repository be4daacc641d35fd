#!/usr/bin/env bash
# What `make bench` runs: builds the benchmarks in Release mode, starts the
# real servers the way scripts/test.sh does (127.0.0.1 high ports, a fresh
# directory, stopped by pid on exit whatever happens), and runs every
# benchmark program with the arguments given (e.g. --json). The Node.js
# peers (pino, socket.io) come from scripts/npm.sh.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1
scripts/npm.sh || exit 1
BUILD=${BUILD:-build}-release
JOBS=$(nproc)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF \
  >/dev/null || exit 1
cmake --build "$BUILD" -j "$JOBS" >/dev/null || exit 1

SERVICES_DIR=$(mktemp -d /tmp/roster-bench-services.XXXXXX)
stop_services() { scripts/services.sh stop "$SERVICES_DIR"; rm -rf "$SERVICES_DIR"; }
trap stop_services EXIT
trap 'exit 130' INT TERM
ROSTER_PORT_BASE=${ROSTER_PORT_BASE:-47100} scripts/services.sh start \
  "$SERVICES_DIR" || exit 1
# shellcheck disable=SC1091
source "$SERVICES_DIR/env"

status=0
for b in registry registry-shared lifecycle config log cron cache db sio etcd; do
  prog=$BUILD/bench/roster-bench-$b
  [[ -x $prog ]] || continue
  echo "=== roster-bench-$b ===" >&2
  "$prog" "$@" || status=1
done
exit $status
