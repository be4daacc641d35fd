# errors.cmake: the error tables of the docs agree with include/roster/error.h.
#
#   cmake -DSRC=<source dir> -P errors.cmake
#
# Every code of ROSTER_ERRNO_MAP appears in the table of docs/registry.md
# (#errors) with its value, its message starting the third column; and
# every table row anywhere in README.md or docs/*.md that gives a code and
# a value (| `ROSTER_X` | -N | ...) gives the header's value and message.
# Prints each disagreement as FILE:LINE and fails if there is any.
cmake_minimum_required(VERSION 3.25)
if(NOT SRC)
  message(FATAL_ERROR "usage: cmake -DSRC=<source dir> -P errors.cmake")
endif()

# _read_lines(FILE VAR): FILE's lines as a list, one element per line.
# The characters that mean something in a CMake list (a backslash, ;, [ and
# ]) are replaced first, so that a line never splits or joins and line
# numbers stay right.
function(_read_lines file var)
  file(READ "${file}" _text)
  string(REPLACE "\\" "<BS>" _text "${_text}")
  string(REPLACE ";" "<SC>" _text "${_text}")
  string(REPLACE "[" "<LB>" _text "${_text}")
  string(REPLACE "]" "<RB>" _text "${_text}")
  string(REPLACE "\n" ";" _text "${_text}")
  set(${var} "${_text}" PARENT_SCOPE)
endfunction()

# The header: the X(NAME, VALUE, "message") lines of the X-macro.
_read_lines("${SRC}/include/roster/error.h" _hlines)
set(_codes "")
foreach(_l IN LISTS _hlines)
  if(NOT _l MATCHES "^[ \t]*X\\([A-Z]+, *-?[0-9]+, *\"[^\"]*\"\\)")
    continue()
  endif()
  string(REGEX MATCH "X\\(([A-Z]+), *(-?[0-9]+), *\"([^\"]*)\"\\)" _ "${_l}")
  set(_name "ROSTER_${CMAKE_MATCH_1}")
  list(APPEND _codes ${_name})
  set(_value_${_name} "${CMAKE_MATCH_2}")
  set(_msg_${_name} "${CMAKE_MATCH_3}")
endforeach()
list(LENGTH _codes _ncodes)
if(_ncodes LESS 2)
  message(FATAL_ERROR "errors.cmake: no codes read from include/roster/error.h")
endif()

set(_problems 0)
macro(_problem where text)
  message("${where}: ${text}")
  math(EXPR _problems "${_problems} + 1")
endmacro()

# Every row of every page that names a code and a value.
file(GLOB _pages "${SRC}/docs/*.md")
list(PREPEND _pages "${SRC}/README.md")
set(_in_registry "")
foreach(_page IN LISTS _pages)
  file(RELATIVE_PATH _rel "${SRC}" "${_page}")
  _read_lines("${_page}" _lines)
  set(_n 0)
  foreach(_l IN LISTS _lines)
    math(EXPR _n "${_n} + 1")
    if(NOT _l MATCHES "^\\| *`(ROSTER_[A-Z_]+)` *\\| *(-?[0-9]+) *\\| *([^|]*)\\|")
      continue()
    endif()
    set(_name "${CMAKE_MATCH_1}")
    set(_value "${CMAKE_MATCH_2}")
    string(STRIP "${CMAKE_MATCH_3}" _msg)
    if(NOT DEFINED _value_${_name})
      _problem("${_rel}:${_n}" "${_name} is not a code of include/roster/error.h")
      continue()
    endif()
    if(NOT _value STREQUAL _value_${_name})
      _problem("${_rel}:${_n}"
               "${_name} is ${_value} here but ${_value_${_name}} in include/roster/error.h")
    endif()
    string(FIND "${_msg}" "${_msg_${_name}}" _at)
    if(NOT _at EQUAL 0)
      _problem("${_rel}:${_n}"
               "${_name}'s message is \"${_msg}\" here; include/roster/error.h says \"${_msg_${_name}}\"")
    endif()
    if(_rel STREQUAL "docs/registry.md")
      list(APPEND _in_registry ${_name})
    endif()
  endforeach()
endforeach()

# The full table in docs/registry.md lists every code.
foreach(_name IN LISTS _codes)
  if(NOT _name IN_LIST _in_registry)
    _problem("docs/registry.md"
             "the error table has no row for ${_name} (${_value_${_name}}, \"${_msg_${_name}}\")")
  endif()
endforeach()

if(_problems GREATER 0)
  message(FATAL_ERROR "${_problems} disagreement(s) between the docs' error tables and include/roster/error.h")
endif()
message("docs error tables: ${_ncodes} codes of include/roster/error.h, all listed and in agreement")
