# run_demo.cmake: runs the demo for three seconds and checks its report.
#
#   cmake -DDEMO=path/to/roster-demo -DWORK=scratch/dir -P tests/run_demo.cmake
#
# Fails unless the demo exits 0 and its output shows that every feature it
# demonstrates ran: the registry tour (typed lookups, the ETYPE and ENOENT
# details, namespaces, dispatch, owners, wait_for, metadata, stats, the
# destroys), the services read from its config file, the database and the
# cache used by the cron job (cache-aside, the rate limiter), the JSON log
# lines (each one must parse, in pino's shape), the start in dependency
# order and the stop in reverse, a lazy service, a scope, and the clean
# shutdown line. The SQLite file goes into WORK (DEMO_DATA_DIR), fresh.
if(NOT DEMO OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DDEMO=path/to/roster-demo -DWORK=dir -P run_demo.cmake")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

include(${CMAKE_CURRENT_LIST_DIR}/run_program.cmake)
run_program(demo out err
  ${CMAKE_COMMAND} -E env DEMO_SECONDS=3 DEMO_DATA_DIR=${WORK}
  DEMO_CHAT__PORT=0 DEMO_ADMIN__PORT=0
  --unset=DEMO_SERVICE_DB_URL --unset=DEMO_SERVICE_CACHE_URL
  --unset=DEMO_SERVICE_EVENTS_URL ${DEMO})

# With the Socket.IO module the demo has one service more: its chat, on
# any free port here (DEMO_CHAT__PORT=0).
if(ADMIN)
  set(admin_markers "admin: open http://127.0.0.1:")
  if(HTTP)
    list(APPEND admin_markers "http client \"self\" -> http://127.0.0.1:")
  endif()
endif()
if(CHAT)
  set(STARTED 6)
  set(STOPPED 7)
  set(chat_markers "start chat: open http://127.0.0.1:" "stop chat (")
else()
  set(STARTED 5)
  set(STOPPED 6)
  set(chat_markers "")
endif()

# Plain substrings that must appear.
set(markers
  "db_pool_find(\"db\")   -> postgresql://localhost/app"
  "-> EEXIST: "
  "-> ETYPE: "
  "-> ENOENT: "
  "production/db -> postgresql://db.prod/app"
  "roster_ns_drop(\"test-7f3a\") removed 3 entries"
  "room:lobby holds 3 subscribers"
  "dispatched to 3 subscribers"
  "roster_owner_drop(alice) removed 3 entries"
  "dispatched to 2 subscribers"
  "wait_for(\"mailer\") woke after"
  "wait_for(\"smtp-relay\", 50 ms) -> ETIMEDOUT"
  "metadata of default/log: \"level=info\""
  "metadata of default/db: \"role=primary\""
  "metadata of default/cache: \"requests=3\""
  "tick 1: 2000 lookups ok, 0 failed"
  "[destroy] db_pool postgresql://db.prod/app"
  "demo.yaml (app.name=roster-demo, log.level=info)"
  "services.db.url    = sqlite://${WORK}/roster-demo.db"
  "services.cache.url = memory://cache?max_entries=1000"
  "start store (demo_visits on sqlite, cache memory://)"
  "start jobs (job \"visit\" on \"*/2 * * * * *\""
  "lifecycle: started ${STARTED} services"
  "all eager services ready: yes"
  "digraph"
  "audit before its first use: declared"
  "start audit (lazy"
  "in the scope:  clock -> the fake clock"
  "in the parent: clock -> the real clock"
  "visit 1: demo_visits holds 1 rows on sqlite (count loaded from the database"
  "visit 1: report sent (1 of 2 allowed in 10 s)"
  "stop store ("
  "lifecycle: stopped ${STOPPED} services"
  "audit after serving: stopped"
  "demo: clean shutdown")
list(APPEND markers ${chat_markers} ${admin_markers})
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

# Every JSON line parses, in pino's shape; collect their messages in order.
string(REPLACE ";" "\\;" _esc "${out}")
string(REPLACE "\n" ";" lines "${_esc}")
set(msgs "")
set(njson 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^{")
    math(EXPR njson "${njson} + 1")
    string(JSON level ERROR_VARIABLE jerr GET "${line}" level)
    if(jerr)
      string(APPEND missing "\n  a JSON log line that parses: ${line}")
      continue()
    endif()
    foreach(key time pid hostname msg)
      string(JSON v ERROR_VARIABLE jerr GET "${line}" ${key})
      if(jerr)
        string(APPEND missing "\n  '${key}' in the log line ${line}")
      endif()
    endforeach()
    string(JSON msg GET "${line}" msg)
    list(APPEND msgs "${msg}")
  endif()
endforeach()
if(njson LESS 12)
  string(APPEND missing "\n  at least 12 JSON log lines (got ${njson})")
endif()

# Start in dependency order, stop in reverse, from the log lines: each
# "X started" after its dependencies', each "X stopped" before theirs.
set(order "db<store" "cache<store" "store<jobs" "clock<jobs" "store<audit")
foreach(pair IN LISTS order)
  string(REPLACE "<" ";" pair "${pair}")
  list(GET pair 0 dep)
  list(GET pair 1 user)
  list(FIND msgs "${dep} started" s_dep)
  list(FIND msgs "${user} started" s_user)
  list(FIND msgs "${dep} stopped" e_dep)
  list(FIND msgs "${user} stopped" e_user)
  if(s_dep EQUAL -1 OR s_user EQUAL -1 OR e_dep EQUAL -1 OR e_user EQUAL -1)
    string(APPEND missing "\n  log lines '${dep} started/stopped' and '${user} started/stopped'")
  elseif(NOT s_dep LESS s_user)
    string(APPEND missing "\n  '${dep} started' before '${user} started'")
  elseif(NOT e_user LESS e_dep)
    string(APPEND missing "\n  '${user} stopped' before '${dep} stopped'")
  endif()
endforeach()

# The named HTTP client "self" read the admin endpoint's JSON: the
# self-check job, run once when serving begins, printed what it got (a
# registry with entries, ready). Without MongoDB named, no event store.
if(ADMIN AND HTTP AND NOT out MATCHES
   "self-check: GET /api/stats through the client \"self\": [1-9][0-9]* entries, ready: yes")
  string(APPEND missing "\n  the self-check through the HTTP client \"self\" (N entries, ready: yes)")
endif()
if(out MATCHES "services.events.url|event written to MongoDB")
  string(APPEND missing "\n  no MongoDB event store without DEMO_SERVICE_EVENTS_URL")
endif()

# The last line of output is the shutdown line.
if(NOT out MATCHES "demo: clean shutdown\n?$")
  string(APPEND missing "\n  'demo: clean shutdown' as the last line")
endif()

if(NOT missing STREQUAL "")
  message(FATAL_ERROR "demo output lacks:${missing}")
endif()
message("demo_runs: ok")
