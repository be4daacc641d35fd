#!/bin/sh
# snippets.sh SRC_DIR PAGE WORK_DIR CC [CFLAG...] [-- LINK_ARG...]
#
# Compiles every ```c block of one Markdown page (PAGE, relative to
# SRC_DIR: README.md, docs/registry.md, ...), so that an example a reader
# copies compiles. snippets.awk says how a block becomes a C file: a whole
# program (one that defines main) as it is; any other block as a fragment,
# its statements wrapped in a function, after the page's include blocks
# (blocks of nothing but #include lines, such as the "All declarations
# come from one include" at the top of each page) and the page's context
# header, tests/docs/<page>.h, which declares what the examples take as
# given (a registry r, a cache c, the reader's own functions). The context
# never includes a header: a block that needs one beyond the page's
# include block shows it, as a reader copying it would need it.
#
# Each block is compiled with -std=c11 -Wall -Werror
# -Wimplicit-function-declaration and the CFLAGs (-I for the headers);
# fragments with -fsyntax-only -Wno-unused (an example's variables are
# used by the code around it). -fno-builtin-log: the examples call a
# logger log. Programs are linked with the LINK_ARGs when there are any
# (else only compiled). A block right after <!-- snippet: skip REASON -->
# is not compiled; keep those rare. A block right after
# <!-- example: examples/NAME.c --> is not compiled here either: it must be
# that file of the source tree, or the region of it between the lines
# /* README.md shows from here */ and /* README.md shows up to here */
# (without the region's indentation), character for character; the file
# itself is built and run by its own test (example_NAME). Every C block
# of README.md is such an example. A block whose only error is a missing
# third-party header (<sqlite3.h>, <libpq-fe.h>) is skipped, or fails when
# ROSTER_TEST_REQUIRE_SERVERS=1 (make test, where everything is installed).
#
# Prints one line per block (ok, skip or FAIL with PAGE:LINE and the
# compiler's messages, which name PAGE:LINE too; run it in SRC_DIR to see
# the lines they point at) and exits 1 if any block failed, 2 on a usage or
# page error.
set -u

if [ $# -lt 4 ]; then
  echo "usage: $0 SRC_DIR PAGE WORK_DIR CC [CFLAG...] [-- LINK_ARG...]" >&2
  exit 2
fi
src=$1
page=$2
work=$3
cc=$4
shift 4

# CFLAGs up to "--", LINK_ARGs after it; both kept in "$@" order.
cflags=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  cflags="$cflags $1"
  shift
done
[ $# -gt 0 ] && shift
link="$*"

stem=$(basename "$page" .md)
ctx=$src/tests/docs/$stem.h
[ -f "$ctx" ] || ctx=
if [ -n "$ctx" ] && grep -q '^[[:space:]]*#[[:space:]]*include' "$ctx"; then
  echo "$ctx: a page's context must not include headers; show them in the page" >&2
  exit 2
fi

rm -rf "$work"
mkdir -p "$work" || exit 2
awk -v page="$page" -v ctx="$ctx" -v out="$work" \
  -f "$(dirname "$0")/snippets.awk" "$src/$page" >"$work/blocks" || exit 2

# missing_header ERRFILE: prints the header named by the compiler's "no
# such file" error in ERRFILE and succeeds, if that is the only error and
# the header is not roster's own.
missing_header() {
  h=$(sed -n -e "s/^.*fatal error: \([^:]*\): No such file or directory.*$/\1/p" \
             -e "s/^.*fatal error: '\([^']*\)' file not found.*$/\1/p" "$1")
  [ -n "$h" ] || return 1
  [ "$(grep -c 'error' "$1")" -eq 1 ] || return 1
  case $h in
  roster.h | roster/*) return 1 ;;
  esac
  echo "$h"
}

# example_text PATH: the text an example block must equal: the region of
# PATH between the two marker lines (unindented by the first marker's
# indentation) if PATH has them, else all of PATH. Fails if PATH is
# missing or a region is not closed.
example_text() {
  [ -f "$1" ] || return 1
  if grep -q '/\* README.md shows from here \*/' "$1"; then
    awk '
      index($0, "/* README.md shows up to here */") { done = 1; exit }
      on { if (substr($0, 1, length(ind)) == ind) $0 = substr($0, length(ind) + 1)
           print }
      index($0, "/* README.md shows from here */") {
        on = 1; match($0, /^[ \t]*/); ind = substr($0, 1, RLENGTH) }
      END { exit done ? 0 : 1 }' "$1"
  else
    cat "$1"
  fi
}

warn="-std=c11 -Wall -Werror -Wimplicit-function-declaration -fno-builtin-log"
total=0
failed=0
skipped=0
while read -r kind line rest; do
  total=$((total + 1))
  case $kind in
  skip)
    skipped=$((skipped + 1))
    echo "skip $page:$line: $rest"
    continue
    ;;
  example)
    path=${rest%% *}
    if ! example_text "$src/$path" >"$work/want"; then
      failed=$((failed + 1))
      echo "FAIL $page:$line (example): $path is missing, or its region" \
        "(/* README.md shows from here */) is not closed"
    elif diff -u --label "$path" --label "$page:$line" "$work/want" \
      "${rest#* }" >"$work/err"; then
      echo "ok   $page:$line (example $path)"
    else
      failed=$((failed + 1))
      echo "FAIL $page:$line (example): the block differs from $path;" \
        "copy the file (or its marked region) into the page"
      sed 's/^/    /' "$work/err"
    fi
    continue
    ;;
  fragment)
    # shellcheck disable=SC2086
    "$cc" $warn -Wno-unused -fsyntax-only $cflags "$rest" >"$work/err" 2>&1
    rc=$?
    ;;
  program)
    if [ -n "$link" ]; then
      # shellcheck disable=SC2086
      "$cc" $warn $cflags "$rest" -o "${rest%.c}" $link >"$work/err" 2>&1
      rc=$?
    else
      # shellcheck disable=SC2086
      "$cc" $warn $cflags -c "$rest" -o "${rest%.c}.o" >"$work/err" 2>&1
      rc=$?
    fi
    ;;
  *)
    echo "snippets.sh: unexpected line from snippets.awk: $kind" >&2
    exit 2
    ;;
  esac
  if [ "$rc" -eq 0 ]; then
    echo "ok   $page:$line ($kind)"
  elif missing=$(missing_header "$work/err"); then
    # A third-party header the block includes (<sqlite3.h>, <libpq-fe.h>)
    # is not installed here: the block is not checked on this machine.
    if [ "${ROSTER_TEST_REQUIRE_SERVERS:-0}" = 1 ]; then
      failed=$((failed + 1))
      echo "FAIL $page:$line ($kind): <$missing> is not installed" \
        "(ROSTER_TEST_REQUIRE_SERVERS=1 requires it)"
    else
      skipped=$((skipped + 1))
      echo "skip $page:$line: <$missing> is not installed"
    fi
  else
    failed=$((failed + 1))
    echo "FAIL $page:$line ($kind): the example does not compile; generated file $rest"
    sed 's/^/    /' "$work/err"
  fi
done <"$work/blocks"

echo "$page: $total C blocks, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
exit 0
