# roster_add_test(<name> [SOURCES <file>...] [ARGS <arg>...]
#                 [COMMAND <arg>...] [MODULE <module>...] [LIBS <lib>...]
#                 [PRIVATE_INCLUDES <dir>...] [DEFINITIONS <def>...]
#                 [TIMEOUT <seconds>] [SKIP_RETURN_CODE <code>]
#                 [WORKING_DIRECTORY <dir>])
#
# Registers the CTest test <name>. Every test of roster is registered
# here (the benchmarks' smoke tests through roster_add_bench in
# bench/CMakeLists.txt, the fuzz corpus replays in fuzz/CMakeLists.txt),
# so what all tests share is written once: the timeout (TIMEOUT, default
# 120 s) and the sanitizer environment (TSAN_OPTIONS with tests/tsan.supp,
# ASAN_OPTIONS, UBSAN_OPTIONS; they matter only in a ROSTER_SANITIZE
# build). ASan and UBSan report through abort(), so a program that
# catches SIGABRT (the fuzz replay) can name what it was doing.
#
# - A program test (no COMMAND): builds the executable <name> from
#   SOURCES (default <name>.c in the calling directory), linked with
#   roster_testutil (tests/lib: cmocka, testutil.h, the cache suite and
#   roster_static) and LIBS, compiled with DEFINITIONS, seeing the private
#   headers of src/ and PRIVATE_INCLUDES; the test runs it with ARGS.
# - A command test: COMMAND runs instead (a script, `cmake -P ...`);
#   nothing is built.
# - MODULE names the modules the test needs (sqlite, pg, mariadb, redis,
#   httpd).
#   When one is off (ROSTER_WITH_<NAME>=OFF), the test is not defined at
#   all; otherwise a program test links each roster_<module>_static.
#
# The sources of program tests are recorded, so roster_check_tests() can
# tell when a tests/**/test_*.c file is not registered.
include_guard(GLOBAL)

function(roster_add_test name)
  cmake_parse_arguments(T ""
    "TIMEOUT;SKIP_RETURN_CODE;WORKING_DIRECTORY"
    "SOURCES;ARGS;COMMAND;MODULE;LIBS;PRIVATE_INCLUDES;DEFINITIONS" ${ARGN})
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
            "roster_add_test(${name}): unknown arguments ${T_UNPARSED_ARGUMENTS}")
  endif()
  if(T_COMMAND AND (T_SOURCES OR T_ARGS OR T_LIBS OR T_PRIVATE_INCLUDES
                    OR T_DEFINITIONS))
    message(FATAL_ERROR "roster_add_test(${name}): COMMAND runs a command; "
            "SOURCES, ARGS, LIBS, PRIVATE_INCLUDES and DEFINITIONS build a "
            "program")
  endif()
  if(NOT T_COMMAND AND NOT T_SOURCES)
    set(T_SOURCES ${name}.c)
  endif()
  list(TRANSFORM T_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/
       REGEX "^[^/]")
  set_property(GLOBAL APPEND PROPERTY ROSTER_TEST_SOURCES ${T_SOURCES})

  foreach(m ${T_MODULE})
    string(TOUPPER ${m} _M)
    if(NOT ROSTER_WITH_${_M} OR NOT TARGET roster_${m}_static)
      return()
    endif()
  endforeach()

  if(T_COMMAND)
    add_test(NAME ${name} COMMAND ${T_COMMAND})
  else()
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE roster_testutil ${T_LIBS})
    foreach(m ${T_MODULE})
      target_link_libraries(${name} PRIVATE roster_${m}_static)
    endforeach()
    # Tests may include the private headers of src/.
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
                               ${URCU_INCLUDE_DIRS} ${T_PRIVATE_INCLUDES})
    target_compile_definitions(${name} PRIVATE ${T_DEFINITIONS})
    add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  endif()

  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set(_env
    "TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1 suppressions=${PROJECT_SOURCE_DIR}/tests/tsan.supp"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1")
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "${_env}")
  if(DEFINED T_SKIP_RETURN_CODE)
    set_tests_properties(${name} PROPERTIES
                         SKIP_RETURN_CODE ${T_SKIP_RETURN_CODE})
  endif()
  if(T_WORKING_DIRECTORY)
    set_tests_properties(${name} PROPERTIES
                         WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
  endif()
endfunction()

# roster_check_tests(<glob>...): stops the configure when a file that
# matches one of the globs (e.g. tests/*/test_*.c) was never given to
# roster_add_test, so a new test cannot be left out of CTest silently.
function(roster_check_tests)
  get_property(_registered GLOBAL PROPERTY ROSTER_TEST_SOURCES)
  set(_missing "")
  foreach(glob ${ARGN})
    file(GLOB _found CONFIGURE_DEPENDS ${glob})
    foreach(f ${_found})
      if(NOT f IN_LIST _registered)
        file(RELATIVE_PATH _rel ${PROJECT_SOURCE_DIR} ${f})
        list(APPEND _missing ${_rel})
      endif()
    endforeach()
  endforeach()
  if(_missing)
    list(JOIN _missing ", " _missing)
    message(FATAL_ERROR "test sources not registered with roster_add_test "
            "(add them to their folder's CMakeLists.txt): ${_missing}")
  endif()
endfunction()
