#!/usr/bin/env bash
# The README's test command: installs what is missing, starts the real
# servers (PostgreSQL, MariaDB, Redis, CongoDB, a 3-member etcd cluster on
# 127.0.0.1 high ports, in a fresh
# directory, stopped by pid on exit whatever happens), builds the plain,
# ASan+UBSan and TSan variants, runs every test through CTest in each, and
# prints CTest's summaries, then runs every fuzz harness briefly
# (scripts/fuzz.sh; FUZZ_SECONDS per harness, by default what keeps the
# total near three minutes, at most 10 s each; FUZZ_SECONDS=0 skips it).
# Exits non-zero on any failure. A test that needs
# a server fails (not skips) when its URL is missing: this script sets
# ROSTER_TEST_REQUIRE_SERVERS=1.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1
scripts/npm.sh || exit 1

SERVICES_DIR=$(mktemp -d /tmp/roster-services.XXXXXX)
stop_services() { scripts/services.sh stop "$SERVICES_DIR"; rm -rf "$SERVICES_DIR"; }
trap stop_services EXIT
trap 'exit 130' INT TERM
echo "=== servers: starting under $SERVICES_DIR ==="
if ! scripts/services.sh start "$SERVICES_DIR"; then
  echo "servers: failed to start" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$SERVICES_DIR/env"
export ROSTER_TEST_REQUIRE_SERVERS=1

JOBS=$(nproc)
variants=("plain::" "asan:address,undefined" "tsan:thread")
if [[ -n "${ROSTER_VARIANTS:-}" ]]; then
  read -r -a variants <<<"${ROSTER_VARIANTS}"
fi

status=0
summary=()
for v in "${variants[@]}"; do
  name=${v%%:*}
  san=${v#*:}
  san=${san#:}
  dir=build-test-$name
  [[ $name == plain ]] && dir=build
  echo "=== $name: configure and build ($dir) ==="
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSTER_WERROR=ON \
        -DROSTER_SANITIZE="$san" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; status=1; summary+=("$name: configure FAILED"); continue
  fi
  if ! cmake --build "$dir" -j "$JOBS" >"$dir.build.log" 2>&1; then
    tail -n 60 "$dir.build.log"; status=1; summary+=("$name: build FAILED"); continue
  fi
  echo "=== $name: ctest ==="
  if ctest --test-dir "$dir" --output-on-failure -j "$JOBS" 2>&1 | tee "$dir.ctest.log"; then
    :
  fi
  if ! grep -q "100% tests passed" "$dir.ctest.log"; then
    status=1
  fi
  summary+=("$name: $(grep -E 'tests passed|tests failed' "$dir.ctest.log" | tail -n1)")
done

# Fuzzing, briefly: the corpora already ran as CTest replays above; this
# looks for new failures for a few seconds per harness.
nharness=$(find fuzz -maxdepth 1 -name 'fuzz_*.c' | wc -l)
fuzz_seconds=${FUZZ_SECONDS:-}
if [[ -z $fuzz_seconds ]]; then
  fuzz_seconds=10
  if ((nharness > 0 && 180 / nharness < fuzz_seconds)); then
    fuzz_seconds=$((180 / nharness))
  fi
  ((fuzz_seconds < 2)) && fuzz_seconds=2
fi
if ((fuzz_seconds > 0 && nharness > 0)); then
  if FUZZ_SECONDS=$fuzz_seconds FUZZ_ONLY= scripts/fuzz.sh 2>&1 | tee build-fuzz.run.log; then
    summary+=("fuzz: $nharness harnesses, ${fuzz_seconds}s each, no failure")
  else
    status=1
    summary+=("fuzz: FAILED ($(grep -E '^fuzz: failed:' build-fuzz.run.log | tail -n1))")
  fi
fi

echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
exit $status
