# run_example.cmake: runs one program of examples/ and checks it.
#
#   cmake -DPROGRAM=path/to/program [-DARG=arg] -DEXPECT_FILE=file
#         -P run_example.cmake
#
# Fails unless the program exits 0, writes nothing on stderr, and its
# output has lines that begin with the texts of EXPECT_FILE (one a line,
# no semicolons), in that order; other lines may come between. The
# program runs with no APP_SERVICE_* variables in its environment
# (config_services would read them).
cmake_minimum_required(VERSION 3.25)
if(NOT PROGRAM OR NOT EXPECT_FILE)
  message(FATAL_ERROR "usage: cmake -DPROGRAM=prog [-DARG=arg] -DEXPECT_FILE=file -P run_example.cmake")
endif()
file(STRINGS "${EXPECT_FILE}" expect)
if(NOT expect)
  message(FATAL_ERROR "${EXPECT_FILE} expects nothing")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/run_program.cmake)
run_program(${PROGRAM} out err
  ${CMAKE_COMMAND} -E env --unset=APP_SERVICE_DB_URL
  --unset=APP_SERVICE_CACHE_URL ${PROGRAM} ${ARG})
if(NOT err STREQUAL "")
  message(FATAL_ERROR "${PROGRAM} wrote to stderr")
endif()
string(REPLACE ";" "\\;" _esc "${out}")
string(REPLACE "\n" ";" lines "${_esc}")
set(_at 0)
foreach(want IN LISTS expect)
  list(LENGTH lines _n)
  set(_found OFF)
  while(_at LESS _n)
    list(GET lines ${_at} _line)
    math(EXPR _at "${_at} + 1")
    string(FIND "${_line}" "${want}" _pos)
    if(_pos EQUAL 0)
      set(_found ON)
      break()
    endif()
  endwhile()
  if(NOT _found)
    message(FATAL_ERROR "${PROGRAM}: no output line begins with "
            "'${want}' (after the lines expected before it)")
  endif()
endforeach()
message("example: ok")
