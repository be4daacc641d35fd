#!/usr/bin/env bash
# check.sh BUILD_DIR SRC_DIR: installs a built roster (with its database
# modules) into a temporary prefix and builds consumer.c against the SQLite
# module the ways a user would: pkg-config roster_sqlite (shared, and
# static with --static), and find_package(roster) with roster::roster_sqlite
# and roster::roster_sqlite_static. Each build must run and print 42.
# When the httpd module was built, httpd_consumer.c builds the same two
# ways with pkg-config roster_httpd (its libraries have no .pc files of
# their own) and must run.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roster-modules.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
CC=${CC:-cc}
run() { printf '+ %s\n' "$*"; "$@"; }

run cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; exit 1; }
pcfile=$(find "$prefix" -name roster_sqlite.pc -path '*/pkgconfig/*' | head -n1)
[[ -n $pcfile ]] || { echo "check.sh: roster_sqlite.pc was not installed" >&2; exit 1; }
for m in roster_pg roster_mariadb; do
  [[ -f $(dirname "$pcfile")/$m.pc ]] || { echo "check.sh: $m.pc missing" >&2; exit 1; }
done
export PKG_CONFIG_PATH=$(dirname "$pcfile")
libdir=$(dirname "$(dirname "$pcfile")")

# shellcheck disable=SC2046
run "$CC" -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$tmp/shared" \
  $(pkg-config --cflags --libs roster_sqlite)
readelf -d "$tmp/shared" | grep -q 'NEEDED.*libroster_sqlite\.so' ||
  { echo "check.sh: the shared consumer does not need libroster_sqlite.so" >&2; exit 1; }
run env LD_LIBRARY_PATH="$libdir" "$tmp/shared"

slibs=$(pkg-config --static --libs roster_sqlite)
slibs=${slibs//-lroster_sqlite/-l:libroster_sqlite.a}
slibs=${slibs//-lroster /-l:libroster.a }
# shellcheck disable=SC2086
run "$CC" -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$tmp/static" \
  $(pkg-config --cflags roster_sqlite) $slibs
if readelf -d "$tmp/static" | grep -q 'NEEDED.*libroster'; then
  echo "check.sh: the static consumer still needs a libroster*.so" >&2; exit 1
fi
run env -u LD_LIBRARY_PATH "$tmp/static"

run cmake -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
run cmake --build "$tmp/cmake" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
run env LD_LIBRARY_PATH="$libdir" "$tmp/cmake/consumer"
run "$tmp/cmake/consumer_static"
httpd_pc=$(dirname "$pcfile")/roster_httpd.pc
if [[ -f $httpd_pc ]]; then
  # shellcheck disable=SC2046
  run "$CC" -std=c11 -Wall -Wextra -Werror "$src/httpd_consumer.c" \
    -o "$tmp/httpd_shared" $(pkg-config --cflags --libs roster_httpd)
  run env LD_LIBRARY_PATH="$libdir" "$tmp/httpd_shared"
  hlibs=$(pkg-config --static --libs roster_httpd)
  for l in -lhttp_parser -lwslay -lcrypto; do
    [[ " $hlibs " == *" $l "* ]] ||
      { echo "check.sh: pkg-config --static roster_httpd lacks $l" >&2; exit 1; }
  done
  hlibs=${hlibs//-lroster_httpd/-l:libroster_httpd.a}
  hlibs=${hlibs//-lroster /-l:libroster.a }
  # shellcheck disable=SC2086
  run "$CC" -std=c11 -Wall -Wextra -Werror "$src/httpd_consumer.c" \
    -o "$tmp/httpd_static" $(pkg-config --cflags roster_httpd) $hlibs
  run env -u LD_LIBRARY_PATH "$tmp/httpd_static"
fi
echo "install_modules: ok"
