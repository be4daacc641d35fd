#!/usr/bin/env bash
# check.sh BUILD_DIR SRC_DIR: installs a built roster into a temporary prefix
# and builds a consumer against it, the two ways a user would:
#   (a) pkg-config: shared (run with LD_LIBRARY_PATH) and static
#       (pkg-config --static);
#   (b) CMake: find_package(roster) and roster::roster / roster_static.
# The consumer also stores a JSON value in a memory cache, calling jansson
# itself, so roster's jansson dependency must reach it both ways.
# SRC_DIR is tests/install (or the source root). Prints each step; exits
# non-zero on the first failure. The prefix is removed on exit.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR SRC_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
if [[ ! -f $src/consumer.c && -f $src/tests/install/consumer.c ]]; then
  src=$src/tests/install
fi
[[ -f $src/consumer.c ]] || { echo "check.sh: no consumer.c in $src" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/roster-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
CC=${CC:-cc}

step() { printf '\n--- %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }

step "install $build into $prefix"
run cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; exit 1; }
sed 's/^/  /' "$tmp/install.log"

# GNUInstallDirs picks lib, lib64 or lib/<multiarch>; find where roster.pc went.
pcfile=$(find "$prefix" -name roster.pc -path '*/pkgconfig/*' | head -n1)
[[ -n $pcfile ]] || { echo "check.sh: roster.pc was not installed" >&2; exit 1; }
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
echo "roster.pc: $pcfile"

# ---- (a) pkg-config --------------------------------------------------------
export PKG_CONFIG_PATH=$pcdir
cflags=$(pkg-config --cflags roster)
libs=$(pkg-config --libs roster)
slibs=$(pkg-config --static --libs roster)
echo "pkg-config --cflags roster:          $cflags"
echo "pkg-config --libs roster:            $libs"
echo "pkg-config --static --libs roster:   $slibs"
vh=$prefix/include/roster/version.h
hv=$(awk '/#define ROSTER_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."} END{print v}' "$vh")
pv=$(pkg-config --modversion roster)
echo "roster.pc version $pv, installed header $hv"
[[ $pv == "$hv" ]] || { echo "check.sh: roster.pc and version.h disagree" >&2; exit 1; }
# roster's JSON calls take and return jansson trees, which a consumer
# builds and frees with jansson: roster.pc requires it publicly.
if ! pkg-config --print-requires roster | grep -q '^jansson'; then
  echo "check.sh: roster.pc does not require jansson (Requires:)" >&2; exit 1
fi
case " $cflags " in
  *" -I$prefix/"* | *" -I${pcdir}/"*) ;;
  *) echo "check.sh: --cflags does not point into $prefix" >&2; exit 1 ;;
esac

step "pkg-config: shared link"
# shellcheck disable=SC2086
run "$CC" -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$tmp/consumer_pc" \
  $cflags $libs
if readelf -d "$tmp/consumer_pc" | grep -q 'NEEDED.*libroster\.so'; then
  echo "links libroster.so dynamically"
else
  echo "check.sh: consumer_pc does not need libroster.so" >&2; exit 1
fi
run env LD_LIBRARY_PATH="$libdir" "$tmp/consumer_pc"

step "pkg-config: static link"
# -l:libroster.a picks the archive even though libroster.so sits beside it.
# shellcheck disable=SC2086
run "$CC" -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$tmp/consumer_pc_static" \
  $cflags ${slibs//-lroster/-l:libroster.a}
if readelf -d "$tmp/consumer_pc_static" | grep -q 'NEEDED.*libroster'; then
  echo "check.sh: consumer_pc_static still needs libroster.so" >&2; exit 1
fi
run env -u LD_LIBRARY_PATH "$tmp/consumer_pc_static"

# ---- (b) CMake package -------------------------------------------------------
step "CMake: find_package(roster)"
run cmake -S "$src" -B "$tmp/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log"; exit 1; }
grep -E 'found roster' "$tmp/cmake.log" | sed 's/^/  /'
run cmake --build "$tmp/consumer-build" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; exit 1; }
run env LD_LIBRARY_PATH="$libdir" "$tmp/consumer-build/consumer"
run "$tmp/consumer-build/consumer_static"

printf '\ninstall_consumer: ok\n'
