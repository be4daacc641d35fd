#!/usr/bin/env bash
# Fails when a roster library exports a symbol outside roster's two
# prefixes: roster_ (the public API) and roster__ (internal, shared between
# the files of one library). Anything else would clash with the
# application or another library (libpq's pg_, MariaDB's my_) at link time.
# Usage: scripts/check-symbols.sh BUILD_DIR
set -euo pipefail
dir=${1:-build}
# Every roster library of the build: the core, the modules, and the
# helpers the tests and benchmarks link (roster_testutil, roster_bench).
mapfile -t libs < <(find "$dir" -path '*/node_modules' -prune -o \
  \( -name 'libroster*.a' -o -name 'libroster*.so' \) -print 2>/dev/null | sort)
if ((${#libs[@]} == 0)); then
  echo "check-symbols: no roster library under $dir" >&2
  exit 1
fi
bad=0
for lib in "${libs[@]}"; do
  # Defined, global symbols only (nm -g --defined-only); the third field is
  # the name. ASan adds __odr_asan.<global> (or __odr_asan_gen_<global>)
  # beside each global.
  stray=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' |
    grep -vE '^roster_|^__odr_asan[._](gen_)?roster_' | sort -u || true)
  if [[ -n $stray ]]; then
    echo "check-symbols: $lib exports names outside roster_/roster__:" >&2
    sed 's/^/  /' <<<"$stray" >&2
    bad=1
  fi
done
((bad == 0)) && echo "check-symbols: ${#libs[@]} libraries, every exported symbol is roster_ or roster__"
exit $bad
