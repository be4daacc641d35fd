# roster_pkg_require(<prefix> <module>... [OPTION <option>] [FOR <what>]
#                    [INSTALL <packages>])
#
# pkg_check_modules(<prefix> <module>...) for a dependency roster cannot
# build without, with a message that says what to do when one is missing
# (pkg_check_modules's own says only "A required package was not found").
# The message names each missing module, what needs it (FOR), the
# packages to install (INSTALL, e.g. "libpq-dev"), and, for a part that a
# build option switches (OPTION, e.g. ROSTER_WITH_PG), the -D<option>=OFF
# that builds without it. On success the <prefix>_* variables of
# pkg_check_modules are set in the caller's scope (hence a macro).
include_guard(GLOBAL)

macro(roster_pkg_require _rpr_prefix)
  cmake_parse_arguments(_rpr "" "OPTION;FOR;INSTALL" "" ${ARGN})
  pkg_check_modules(${_rpr_prefix} QUIET ${_rpr_UNPARSED_ARGUMENTS})
  if(NOT ${_rpr_prefix}_FOUND)
    roster_pkg_fail(MODULES ${_rpr_UNPARSED_ARGUMENTS} OPTION "${_rpr_OPTION}"
                    FOR "${_rpr_FOR}" INSTALL "${_rpr_INSTALL}")
  endif()
endmacro()

# roster_pkg_fail(MODULES <module>... [OPTION ...] [FOR ...] [INSTALL ...]):
# stops the configure with roster_pkg_require's message.
function(roster_pkg_fail)
  cmake_parse_arguments(A "" "OPTION;FOR;INSTALL" "MODULES" ${ARGN})
  set(_missing "")
  foreach(_m ${A_MODULES})
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --exists ${_m}
                    RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
    if(NOT _rc EQUAL 0)
      list(APPEND _missing ${_m})
    endif()
  endforeach()
  if(NOT _missing)
    set(_missing ${A_MODULES}) # found one by one, not together
  endif()
  list(JOIN _missing ", " _names)
  list(TRANSFORM _missing APPEND ".pc" OUTPUT_VARIABLE _pcs)
  list(JOIN _pcs ", " _pcs)
  set(_msg "pkg-config found no ${_names}")
  if(A_FOR)
    string(APPEND _msg " (needed by ${A_FOR})")
  endif()
  string(APPEND _msg ": install")
  if(A_INSTALL)
    string(APPEND _msg " ${A_INSTALL} (Debian, Ubuntu) or")
  endif()
  string(APPEND _msg " the package that provides ${_pcs}, or add the"
                     " directory of ${_pcs} to PKG_CONFIG_PATH")
  if(A_OPTION)
    string(APPEND _msg "; or configure with -D${A_OPTION}=OFF to build"
                       " without it")
  endif()
  message(FATAL_ERROR "${_msg}.")
endfunction()
