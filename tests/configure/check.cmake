# check.cmake: a configure that lacks a module's library says what to do.
#
#   cmake -DSRC=<source dir> -DWORK=<scratch dir> -P check.cmake
#
# Configures tests/configure/project (LANGUAGES NONE: no compiler runs)
# four times: a module whose pkg-config module does not exist must fail
# naming that module, the package to install and -DROSTER_WITH_<NAME>=OFF;
# so must one whose library without a .pc file (FIND) is missing;
# roster_pkg_require of a missing module must fail the same way; and
# roster_pkg_require of jansson (a roster dependency, so installed) must
# succeed and leave jansson's variables in the caller's scope.
cmake_minimum_required(VERSION 3.25)
if(NOT SRC OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DSRC=<dir> -DWORK=<dir> -P check.cmake")
endif()
set(_missing roster-test-no-such-package)

function(configure name expect_rc)
  file(REMOVE_RECURSE ${WORK}/${name})
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${SRC}/tests/configure/project
            -B ${WORK}/${name} -DROSTER_SOURCE_DIR=${SRC} ${ARGN}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  string(REGEX REPLACE "[ \t\r\n]+" " " _all "${_out} ${_err}")
  message("--- ${name}: exit ${_rc}\n${_out}${_err}")
  if(expect_rc EQUAL 0 AND NOT _rc EQUAL 0)
    message(FATAL_ERROR "${name}: the configure failed")
  elseif(NOT expect_rc EQUAL 0 AND _rc EQUAL 0)
    message(FATAL_ERROR "${name}: the configure succeeded")
  endif()
  set(_all "${_all}" PARENT_SCOPE)
endfunction()

function(expect text)
  string(FIND "${_all}" "${text}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "the configure's output does not say \"${text}\"")
  endif()
endfunction()

configure(module 1 -DMODE=module -DPKG=${_missing})
expect("pkg-config found no ${_missing}")
expect("install libnosuch-dev")
expect("-DROSTER_WITH_NOSUCH=OFF")

# A library found without pkg-config (roster_add_module's FIND).
configure(find_missing 1 -DMODE=find -DPKG=jansson)
expect("found no library nosuchlib with its header nosuch/nosuch.h")
expect("install libnosuch-dev")
expect("-DROSTER_WITH_NOSUCH=OFF")

configure(require_missing 1 -DMODE=require -DPKG=${_missing})
expect("pkg-config found no ${_missing} (needed by the test)")
expect("-DROSTER_WITH_DEP=OFF")

configure(require_found 0 -DMODE=require -DPKG=jansson)
expect("DEP_FOUND=1")
if(NOT _all MATCHES "DEP_LINK_LIBRARIES=[^ ]*jansson")
  message(FATAL_ERROR "roster_pkg_require did not leave DEP_LINK_LIBRARIES set")
endif()
message("configure_messages: ok")
