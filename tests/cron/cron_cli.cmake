# cron_cli.cmake: `roster cron next` prints the right lines and exits with
# the right codes. Run as: cmake -DROSTER=<path to roster> -P cron_cli.cmake
if(NOT ROSTER)
  message(FATAL_ERROR "pass -DROSTER=<path to the roster tool>")
endif()

set(failures 0)

# check(<name> <want exit code> <want stdout, lines joined by ;> <stderr
# substring or ""> ARGS...)
function(check name want_rc want_out want_err)
  execute_process(COMMAND ${ROSTER} cron ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE "\n" ";" lines "${out}")
  list(FILTER lines EXCLUDE REGEX "^$")
  set(ok TRUE)
  if(NOT rc EQUAL want_rc)
    set(ok FALSE)
  endif()
  if(NOT "${lines}" STREQUAL "${want_out}")
    set(ok FALSE)
  endif()
  if(want_err AND NOT err MATCHES "${want_err}")
    set(ok FALSE)
  endif()
  if(NOT ok)
    message(SEND_ERROR "${name}: exit ${rc} (want ${want_rc})\n"
            "stdout: ${out}\nwant:   ${want_out}\nstderr: ${err}\n"
            "want in stderr: ${want_err}")
  else()
    message(STATUS "ok: ${name}")
  endif()
endfunction()

check(weekdays 0
  "2026-03-06T16:15:00-05:00;2026-03-06T16:30:00-05:00;2026-03-06T16:45:00-05:00"
  "" next "*/15 9-17 * * mon-fri" -n 3 --tz America/New_York
  --from 2026-03-06T16:00:00-05:00)
check(weekend_skipped 0
  "2026-03-09T09:00:00-04:00"
  "" next "*/15 9-17 * * mon-fri" -n 1 --tz America/New_York
  --from 2026-03-06T17:45:00-05:00)
check(dst_jump 0
  "2026-03-07T02:30:00-05:00;2026-03-08T03:00:00-04:00;2026-03-09T02:30:00-04:00"
  "" next "30 2 * * *" -n 3 --tz=America/New_York --from=2026-03-07T00:00:00Z)
check(lord_howe 0
  "2026-04-05T01:40:00+11:00;2026-04-05T01:40:00+10:30;2026-04-05T02:00:00+10:30"
  "" next "*/20 * * * *" -n 3 --tz Australia/Lord_Howe
  --from 2026-04-05T01:30:00+11:00)
check(default_count 0
  "2026-01-01T01:00:00+00:00;2026-01-01T02:00:00+00:00;2026-01-01T03:00:00+00:00;2026-01-01T04:00:00+00:00;2026-01-01T05:00:00+00:00"
  "" next @hourly --tz UTC --from 2026-01-01T00:00:00Z)
check(seconds 0
  "2026-01-01T00:00:20+00:00;2026-01-01T00:00:40+00:00"
  "" next "*/20 * * * * *" -n 2 --tz UTC --from 2026-01-01T00:00:00Z)
check(local_from 0
  "2026-07-01T12:00:00+05:30"
  "" next "0 12 * * *" -n 1 --tz Asia/Kolkata --from 2026-07-01T00:00:00)
# invalid expressions: the column, the message and a caret; exit 2
check(out_of_range 2 ""
  "column 5: day-of-month 32 is out of range 1-31\n  0 0 32 \\* \\*\n      \\^"
  next "0 0 32 * *" --tz UTC)
check(field_count 2 "" "column 8: too few fields" next "* * * *")
check(junk 2 "" "column 10: unexpected 'x'" next "0 0 * * 1x")
check(name 2 "" "unknown month name 'foo'" next "0 0 * foo *")
check(step 2 "" "step 0" next "*/0 * * * *")
# other bad input: exit 2
check(bad_zone 2 "" "unknown time zone 'Mars/Base'" next @daily --tz Mars/Base)
check(bad_from 2 "" "--from: time 'yesterday'" next @daily --from yesterday)
check(bad_count 2 "" "-n wants a number" next @daily -n 0)
check(no_value 2 "" "--tz needs a value" next @daily --tz)
check(no_expr 2 "" "no expression" next)
check(two_exprs 2 "" "one expression only" next "* * * * *" "* * * * *")
check(bad_sub 2 "" "unknown subcommand 'prev'" prev "* * * * *")
# valid but never fires: exit 1
check(never 1 "" "never fires" next "0 0 30 2 *" --tz UTC)

execute_process(COMMAND ${ROSTER} cron --help RESULT_VARIABLE rc
                OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: roster cron next")
  message(SEND_ERROR "cron --help: exit ${rc}, ${out}")
endif()
