# run_demo.cmake: runs the demo for one second and checks its report.
#
#   cmake -DDEMO=path/to/roster-demo -P tests/run_demo.cmake
#
# Fails unless the demo exits 0 and its output shows that every feature it
# demonstrates ran: typed lookups, the ETYPE and ENOENT details, namespaces,
# dispatch, owners, wait_for, metadata, stats, the destroys, the lifecycle
# (providers started in dependency order, health, the graph, a lazy
# service, a scope, and the stop in reverse dependency order) and the clean
# shutdown line.
if(NOT DEMO)
  message(FATAL_ERROR "usage: cmake -DDEMO=path/to/roster-demo -P run_demo.cmake")
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env DEMO_SECONDS=1 ${DEMO}
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 50)

message("---- demo stdout ----\n${out}")
if(NOT err STREQUAL "")
  message("---- demo stderr ----\n${err}")
endif()

if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "demo exited with '${rc}', want 0")
endif()

# Plain substrings that must appear.
set(markers
  "db_pool_get(\"db\")   -> postgresql://localhost/app"
  "-> EEXIST: "
  "-> ETYPE: "
  "-> ENOENT: "
  "production/db -> postgresql://db.prod/app"
  "roster_ns_drop(\"test-7f3a\") removed 3 entries"
  "room:lobby holds 3 subscribers"
  "dispatched to 3 subscribers"
  "roster_owner_release(alice) removed 3 entries"
  "dispatched to 2 subscribers"
  "wait_for(\"mailer\") woke after"
  "wait_for(\"smtp-relay\", 50 ms) -> ETIMEDOUT"
  "metadata of default/log: \"level=info\""
  "metadata of default/db: \"role=primary\""
  "metadata of default/cache: \"requests=3\""
  "tick 1: 2000 lookups ok, 0 failed"
  "[destroy] db_pool postgresql://db.prod/app"
  "lifecycle: started 5 services"
  "all eager services ready: yes"
  "digraph"
  "roster_get(\"store\") -> a store over config env=demo"
  "audit before its first use: declared"
  "audit after roster_get: ready"
  "in the scope:  clock -> the fake clock"
  "in the parent: clock -> the real clock"
  "lifecycle: stopped 6 services"
  "demo: clean shutdown")
set(missing "")
foreach(m IN LISTS markers)
  string(FIND "${out}" "${m}" pos)
  if(pos EQUAL -1)
    string(APPEND missing "\n  ${m}")
  endif()
endforeach()

# Details that the library must write: the ETYPE detail names both types,
# and the ENOENT detail for "dbb" lists the name that does exist, "db".
if(NOT out MATCHES "-> ETYPE: [^\n]*db_pool[^\n]*\n" OR
   NOT out MATCHES "-> ETYPE: [^\n]*cache[^\n]*\n")
  string(APPEND missing "\n  ETYPE detail naming both 'db_pool' and 'cache'")
endif()
if(NOT out MATCHES "-> ENOENT: [^\n]*dbb[^\n]*\n" OR
   NOT out MATCHES "-> ENOENT: [^\n]*[^a-z]db[^a-z][^\n]*\n")
  string(APPEND missing "\n  ENOENT detail naming 'dbb' and the registered 'db'")
endif()

# Providers start in dependency order and stop in reverse: each "start X ("
# line comes after the ones of X's dependencies, and each "stop X (" line
# after the ones of the services that depend on X.
set(order
  "config<store" "store<cache" "store<jobs" "clock<jobs" "store<audit")
foreach(pair IN LISTS order)
  string(REPLACE "<" ";" pair "${pair}")
  list(GET pair 0 dep)
  list(GET pair 1 user)
  foreach(what start stop)
    string(FIND "${out}" "  ${what} ${dep} (" pdep)
    string(FIND "${out}" "  ${what} ${user} (" puser)
    if(pdep EQUAL -1 OR puser EQUAL -1)
      string(APPEND missing "\n  '${what} ${dep} (' and '${what} ${user} (' lines")
    elseif(what STREQUAL "start" AND NOT pdep LESS puser)
      string(APPEND missing "\n  'start ${dep}' before 'start ${user}'")
    elseif(what STREQUAL "stop" AND NOT puser LESS pdep)
      string(APPEND missing "\n  'stop ${user}' before 'stop ${dep}'")
    endif()
  endforeach()
endforeach()

# The last line of output is the shutdown line.
if(NOT out MATCHES "demo: clean shutdown\n?$")
  string(APPEND missing "\n  'demo: clean shutdown' as the last line")
endif()

if(NOT missing STREQUAL "")
  message(FATAL_ERROR "demo output lacks:${missing}")
endif()
message("demo_runs: ok")
