# snippets.awk: turns each ```c block of one Markdown page into a C file
# that tests/docs/snippets.sh compiles. POSIX awk (mawk and gawk).
#
# Variables (-v): page (the page's name as reported, e.g. docs/cache.md),
# ctx (a context header for the page's fragments, or empty), out (the
# directory to write into).
#
# For every block it prints one line on stdout:
#   program LINE FILE    a whole program (it defines main): compiled as it is
#   fragment LINE FILE   anything else: wrapped as described below
#   skip LINE REASON     a block after <!-- snippet: skip REASON -->
#   example LINE PATH FILE  a block after <!-- example: PATH -->: FILE holds
#                        the block's text, which must be the file PATH of
#                        the source tree (examples/hello.c) or its marked
#                        region; snippets.sh compares them (the example is
#                        compiled and run by its own test)
# LINE is the line of the block's opening fence. Errors (an unknown marker,
# a skip without a reason, an unterminated block, in README.md a block
# that is not an example) go to stderr, exit 2.
#
# A fragment is cut into top-level items: an item starts at a line that
# begins in column 0 outside any bracket or comment (a line that starts
# with `}`, `)`, `]` or `{` continues the item before it; a comment joins
# the item after it). Each item goes where it is valid C:
#   - preprocessor lines, then the context header, at file scope;
#   - declarations with static, extern or typedef, struct/union/enum
#     definitions, function definitions and macro calls without `;` at
#     file scope;
#   - a typedef'd struct or union of a roster_ name (a page restating a
#     type of the headers) under another name at file scope, followed by a
#     static assertion that its size is the header's type's;
#   - an enum of roster_ names, or another restated type, in a block scope
#     of its own, where it may shadow the header's: its syntax and the
#     types it names are checked;
#   - everything else (statements, local declarations, prototypes, which
#     must then agree with the headers) in the body of one function. A
#     prototype's name is put in parentheses, so that a page may show a
#     function-like macro (roster_db_query) as a prototype.
# The #include lines of the page's earlier include blocks (blocks of
# nothing but preprocessor lines) come first: a page shows its common
# includes once; any other block shows the includes it needs itself.
# Every line carries a #line directive, so that a compiler message names
# the page and line.

function fail(msg, line) {
  printf "%s:%d: %s\n", page, line, msg > "/dev/stderr"
  failed = 1
  exit 2
}

function trim(s) {
  sub(/^[ \t\n]+/, "", s)
  sub(/[ \t\n]+$/, "", s)
  return s
}

# scan(s): updates depth and incom over line s and returns its code with
# comments and string contents removed.
function scan(s,    i, c, n, code, q) {
  code = ""
  n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (incom) {
      if (c == "*" && substr(s, i + 1, 1) == "/") {
        incom = 0
        i++
      }
      continue
    }
    if (c == "/" && substr(s, i + 1, 1) == "*") {
      incom = 1
      code = code " "
      i++
      continue
    }
    if (c == "/" && substr(s, i + 1, 1) == "/")
      break
    if (c == "\"" || c == "'") {
      q = c
      for (i++; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "\\") {
          i++
          continue
        }
        if (c == q)
          break
      }
      code = code q q
      continue
    }
    if (c == "(" || c == "[" || c == "{")
      depth++
    else if (c == ")" || c == "]" || c == "}")
      depth--
    code = code c
  }
  return code
}

function classify(c,    head, b) {
  c = trim(c)
  if (c == "")
    return "body"
  if (c ~ /^#/)
    return "pp"
  b = index(c, "{")
  if (c ~ /^(struct|union|enum)[ \t\n]+[A-Za-z_0-9]+[ \t\n]*;$/)
    return "file" # struct pool;
  if (c ~ /^typedef[ \t\n]/ && b == 0)
    return "file"
  if (c ~ /^(typedef|struct|union|enum)[ \t\n]/ && b > 0 &&
      c ~ /^[^=(]*{/) {
    if (c ~ /^(typedef[ \t\n]+)?(const[ \t\n]+)?(struct|union|enum)[ \t\n]+roster_/ ||
        c ~ /}[ \t\n*]*roster_[A-Za-z0-9_]*[ \t\n]*;$/ ||
        c ~ /^(typedef[ \t\n]+)?enum[^{]*{[ \t\n]*ROSTER_/)
      return "scoped"
    return "file"
  }
  if (c ~ /^(static|extern|_Static_assert|_Thread_local)[ \t\n(]/)
    return "file"
  if (b > 0) {
    head = trim(substr(c, 1, b - 1))
    # A function definition: its body's brace is outside any parenthesis
    # (not a compound literal in a call).
    if (head !~ /[;=]/ && head ~ /\)$/ &&
        gsub(/\(/, "(", head) == gsub(/\)/, ")", head) &&
        head !~ /^(if|for|while|switch|do|else|return)[ \t\n(]/)
      return "file" # a function definition
  }
  if (c ~ /^[A-Z_][A-Z0-9_]*[ \t\n]*\(/ && c ~ /\)$/)
    return "file" # a macro that expands to definitions
  return "body"
}

# restated_name(c): for `typedef struct|union [TAG] {...} NAME;`, NAME
# (and the tag in ttag); "" for anything else (an enum, whose constants
# cannot be renamed, or a struct without typedef).
function restated_name(c,    t) {
  c = trim(c)
  ttag = ""
  if (c !~ /^typedef[ \t\n]+(struct|union)[ \t\n]/)
    return ""
  if (!match(c, /}[ \t\n]*[A-Za-z_][A-Za-z0-9_]*[ \t\n]*;$/))
    return ""
  t = substr(c, RSTART + 1)
  gsub(/[ \t\n;]/, "", t)
  sub(/^typedef[ \t\n]+(struct|union)[ \t\n]+/, "", c)
  if (match(c, /^[A-Za-z_][A-Za-z0-9_]*/))
    ttag = substr(c, 1, RLENGTH)
  return t
}

# emit(k): item k's lines, each after a #line directive. In a body item
# that opens with a prototype (`int roster_db_query(roster_db *db, ...);`)
# the name is put in parentheses: it declares a function of that name
# instead of expanding a function-like macro of that name, so a page may
# show a macro's call signature as a prototype.
function emit(k, f,    i, s, first, pre) {
  first = 1
  for (i = IFIRST[k]; i <= ILAST[k]; i++) {
    s = L[i]
    if (first && ICLASS[k] == "body" && s !~ /^[ \t]*(\/\*|\*|$)/) {
      first = 0
      if (s !~ /^(return|else|case|goto|sizeof|do)[^A-Za-z0-9_]/ &&
          match(s, /^(const[ \t]+)?((un)?signed[ \t]+|struct[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t*]+[a-z_][a-z0-9_]*\(/)) {
        pre = substr(s, 1, RLENGTH - 1)
        if (match(pre, /[a-z_][a-z0-9_]*$/))
          s = substr(pre, 1, RSTART - 1) "(" substr(pre, RSTART) ")" \
              substr(s, length(pre) + 1)
      }
    }
    # No directive inside a macro continued over lines.
    if (i > IFIRST[k] && L[i - 1] ~ /\\$/)
      printf "%s\n", s > f
    else
      printf "#line %d \"%s\"\n%s\n", LN[i], page, s > f
  }
}

function block(    i, k, f, tname, isprog, line, reason, s, code, newitem,
                   ppcont, nitems, ctxline) {
  line = bstart - 1
  if (example != "") {
    if (marker != "")
      fail("a block is an example or a snippet, not both", markerline)
    f = out "/" pagestem "_" line ".example"
    printf "" > f
    for (i = 1; i <= n; i++)
      printf "%s\n", L[i] > f
    close(f)
    print "example " line " " example " " f
    return
  }
  if (need_example)
    fail("every C block of " page " is one of examples/: put " \
         "<!-- example: examples/NAME.c --> before it", line)
  if (marker != "") {
    s = marker
    sub(/^[ \t]*<!--[ \t]*snippet:[ \t]*/, "", s)
    sub(/[ \t]*-->[ \t]*$/, "", s)
    if (s !~ /^skip([ \t]|$)/)
      fail("unknown marker '" marker "' (only <!-- snippet: skip REASON -->)",
           markerline)
    reason = trim(substr(s, 5))
    if (reason == "")
      fail("<!-- snippet: skip --> needs a reason", markerline)
    print "skip " line " " reason
    return
  }
  f = out "/" pagestem "_" line ".c"
  isprog = 0
  for (i = 1; i <= n; i++)
    if (L[i] ~ /^(int|static int)[ \t]+main[ \t]*\(/)
      isprog = 1
  printf "/* %s:%d, generated by tests/docs/snippets.sh */\n", page, line > f
  if (isprog) {
    for (i = 1; i <= n; i++)
      printf "#line %d \"%s\"\n%s\n", LN[i], page, L[i] > f
    close(f)
    print "program " line " " f
    return
  }

  # Cut into items.
  depth = 0
  incom = 0
  ppcont = 0
  nitems = 0
  for (i = 1; i <= n; i++) {
    s = L[i]
    newitem = 0
    if (nitems == 0)
      newitem = 1
    else if (!ppcont && !incom && depth <= 0 && s ~ /^[^ \t})\]{]/ &&
             (ICODE[nitems] != "" || IPP[nitems]))
      newitem = 1
    if (newitem) {
      nitems++
      IFIRST[nitems] = i
      ICODE[nitems] = ""
      IPP[nitems] = 0
      depth = 0
    }
    ILAST[nitems] = i
    if (ppcont || (!incom && trim(ICODE[nitems]) == "" && s ~ /^[ \t]*#/)) {
      IPP[nitems] = 1
      ICODE[nitems] = ICODE[nitems] s "\n"
      ppcont = (s ~ /\\$/)
      continue
    }
    code = scan(s)
    if (trim(code) != "")
      ICODE[nitems] = ICODE[nitems] code "\n"
  }

  printf "#include <inttypes.h>\n#include <stdbool.h>\n#include <stddef.h>\n" > f
  printf "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n" > f
  printf "#include <string.h>\n" > f
  for (i = 1; i <= ninc; i++)
    printf "#line %d \"%s\"\n%s\n", INCLN[i], page, INC[i] > f
  for (k = 1; k <= nitems; k++) {
    ICLASS[k] = IPP[k] ? "pp" : classify(ICODE[k])
    if (ICLASS[k] == "pp")
      emit(k, f)
  }
  if (ctx != "") {
    ctxline = 0
    while ((getline s < ctx) > 0) {
      ctxline++
      printf "#line %d \"%s\"\n%s\n", ctxline, ctxname, s > f
    }
    close(ctx)
  }
  for (k = 1; k <= nitems; k++)
    if (ICLASS[k] == "file")
      emit(k, f)
  for (k = 1; k <= nitems; k++)
    if (ICLASS[k] == "scoped") {
      tname = restated_name(ICODE[k])
      if (tname != "") {
        # A struct or union the header defines: compiled under another
        # name, then its size compared with the header's.
        printf "#define %s %s__doc\n", tname, tname > f
        if (ttag != "" && ttag != tname)
          printf "#define %s %s__doc\n", ttag, ttag > f
        emit(k, f)
        printf "#undef %s\n", tname > f
        if (ttag != "" && ttag != tname)
          printf "#undef %s\n", ttag > f
        printf "#line %d \"%s\"\n", LN[IFIRST[k]], page > f
        printf "_Static_assert(sizeof(%s__doc) == sizeof(%s), \"%s is not the " \
               "header's: the sizes differ\");\n", tname, tname, tname > f
      } else {
        printf "#line 1 \"%s (generated)\"\nstatic void restated_%d(void) {\n", page, k > f
        emit(k, f)
        printf "}\n" > f
      }
    }
  printf "#line 1 \"%s (generated)\"\nint snippet(void);\nint snippet(void) {\n", page > f
  for (k = 1; k <= nitems; k++)
    if (ICLASS[k] == "body")
      emit(k, f)
  printf "#line 1 \"%s (generated)\"\n  return 0;\n}\n", page > f
  close(f)
  print "fragment " line " " f

  # A block of nothing but preprocessor lines (the page's "All
  # declarations come from one include") applies to every later block.
  for (k = 1; k <= nitems; k++)
    if (ICLASS[k] != "pp" && trim(ICODE[k]) != "")
      return
  for (k = 1; k <= nitems; k++)
    if (ICLASS[k] == "pp")
      for (i = IFIRST[k]; i <= ILAST[k]; i++)
        if (L[i] ~ /^[ \t]*#[ \t]*include[ \t]/) {
          ninc++
          INC[ninc] = L[i]
          INCLN[ninc] = LN[i]
        }
}

BEGIN {
  pagestem = page
  gsub(/[^A-Za-z0-9]/, "_", pagestem)
  ctxname = ctx
  sub(/^.*\/tests\/docs\//, "tests/docs/", ctxname)
  inblk = 0
  infence = 0
  marker = ""
  example = ""
  ninc = 0
  need_example = (page == "README.md")
}

{
  raw = $0
  if (!inblk) {
    if (infence) {
      if (raw ~ /^[ \t]*```[ \t]*$/)
        infence = 0
      next
    }
    if (raw ~ /^[ \t]*```c[ \t]*$/) {
      inblk = 1
      ind = index(raw, "`") - 1
      bstart = FNR + 1
      n = 0
      next
    }
    if (raw ~ /^[ \t]*```/) {
      infence = 1
      marker = ""
      example = ""
      next
    }
    if (raw ~ /^[ \t]*<!--[ \t]*snippet:/) {
      marker = raw
      markerline = FNR
      next
    }
    if (raw ~ /^[ \t]*<!--[ \t]*example:/) {
      example = raw
      sub(/^[ \t]*<!--[ \t]*example:[ \t]*/, "", example)
      sub(/[ \t]*-->[ \t]*$/, "", example)
      if (example !~ /^[A-Za-z0-9_.\/-]+$/)
        fail("<!-- example: PATH --> needs one path", FNR)
      markerline = FNR
      next
    }
    if (raw !~ /^[ \t]*$/) {
      marker = ""
      example = ""
    }
    next
  }
  if (raw ~ /^[ \t]*```[ \t]*$/) {
    block()
    inblk = 0
    marker = ""
    example = ""
    next
  }
  n++
  s = raw
  for (j = 0; j < ind && substr(s, 1, 1) == " "; j++)
    s = substr(s, 2)
  L[n] = s
  LN[n] = FNR
}

END {
  if (failed)
    exit 2
  if (inblk) {
    printf "%s:%d: a ```c block is not closed\n", page, bstart - 1 > "/dev/stderr"
    exit 2
  }
}
