# Build options, one place. Sanitizers apply to everything built here.
option(ROSTER_BUILD_TESTS "Build the test suite" ON)
option(ROSTER_BUILD_BENCH "Build the benchmarks" ON)
option(ROSTER_BUILD_EXAMPLES "Build the examples" ON)
option(ROSTER_WERROR "Treat warnings as errors" OFF)
option(ROSTER_BUILD_TOOLS "Build the roster command-line tool" ON)
# libFuzzer binaries (fuzz/, scripts/fuzz.sh): clang only; everything is
# then built with coverage, ASan and UBSan.
option(ROSTER_BUILD_FUZZ "Build the libFuzzer harnesses (clang)" OFF)
# Modules (modules/<name>): ON requires the module's library.
option(ROSTER_WITH_SQLITE "Build the SQLite module (libsqlite3)" ON)
option(ROSTER_WITH_PG "Build the PostgreSQL module (libpq)" ON)
option(ROSTER_WITH_MARIADB "Build the MySQL/MariaDB module (libmariadb)" ON)
option(ROSTER_WITH_REDIS "Build the Redis module (hiredis)" ON)
option(ROSTER_WITH_HTTPD
       "Build the HTTP/WebSocket server module (libhttp-parser, libwslay, libcrypto)"
       ON)
option(ROSTER_WITH_SOCKETIO "Build the Socket.IO module (jansson)" ON)
option(ROSTER_WITH_HTTP "Build the HTTP client module (libcurl)" ON)
option(ROSTER_WITH_MONGODB "Build the MongoDB module (libmongoc)" ON)
option(ROSTER_WITH_ETCD "Build the etcd module (libcurl, jansson)" ON)
option(ROSTER_WITH_ADMIN
       "Build the admin endpoint module (on the httpd and socketio modules)" ON)
option(ROSTER_WITH_SIO_REDIS
       "Build the Socket.IO Redis adapter module (msgpack-c; on socketio and redis)"
       ON)
set(ROSTER_SANITIZE "" CACHE STRING
    "Sanitizers: empty, 'address,undefined' or 'thread'")

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wno-unused-parameter)
if(ROSTER_WERROR)
  add_compile_options(-Werror)
endif()

if(ROSTER_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ROSTER_BUILD_FUZZ needs clang (CC=clang), not "
                        "${CMAKE_C_COMPILER_ID}; scripts/fuzz.sh sets it")
  endif()
  if(ROSTER_SANITIZE)
    message(FATAL_ERROR "ROSTER_BUILD_FUZZ brings its own sanitizers: "
                        "leave ROSTER_SANITIZE empty")
  endif()
  # ROSTER_FUZZ_SANITIZE: the sanitizers beside libFuzzer. A long run may
  # take "undefined" alone (several times the executions a second) and
  # replay its grown corpus in an address,undefined build afterwards.
  set(ROSTER_FUZZ_SANITIZE "address,undefined" CACHE STRING
      "Sanitizers of the libFuzzer build (ROSTER_BUILD_FUZZ)")
  add_compile_options(-fsanitize=fuzzer-no-link,${ROSTER_FUZZ_SANITIZE}
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${ROSTER_FUZZ_SANITIZE})
endif()

if(ROSTER_SANITIZE)
  set(_san "-fsanitize=${ROSTER_SANITIZE}")
  if(ROSTER_SANITIZE MATCHES "undefined")
    string(APPEND _san " -fno-sanitize-recover=undefined")
  endif()
  separate_arguments(_san_list UNIX_COMMAND "${_san}")
  add_compile_options(${_san_list} -fno-omit-frame-pointer -O1)
  add_link_options(${_san_list})
  if(ROSTER_SANITIZE MATCHES "thread")
    add_compile_definitions(ROSTER_TSAN=1)
  endif()
endif()
