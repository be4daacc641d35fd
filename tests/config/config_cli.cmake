# config_cli.cmake: runs `roster config dump` and `roster config check` on
# the files in tests/config/data and checks their exit codes and output.
#
#   cmake -DROSTER=path/to/roster -DDATA=tests/config/data -P config_cli.cmake
#
# Each case runs the tool in DATA (so provenance shows short paths), then
# checks the exit code and that stdout/stderr hold (or lack) some strings.
if(NOT ROSTER OR NOT DATA)
  message(FATAL_ERROR "usage: cmake -DROSTER=... -DDATA=... -P config_cli.cmake")
endif()

set(failures "")

# run(NAME RC <code> ARGS <args...> [ENV <k=v...>] [OUT <strings>]
#     [ERR <strings>] [NOT_OUT <strings>])
function(run name)
  cmake_parse_arguments(R "" "RC" "ARGS;ENV;OUT;ERR;NOT_OUT" ${ARGN})
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env ${R_ENV} ${ROSTER} config ${R_ARGS}
    WORKING_DIRECTORY ${DATA}
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    RESULT_VARIABLE rc
    TIMEOUT 30)
  set(bad "")
  if(NOT rc STREQUAL "${R_RC}")
    string(APPEND bad "\n    exit code ${rc}, want ${R_RC}")
  endif()
  foreach(s IN LISTS R_OUT)
    string(FIND "${out}" "${s}" pos)
    if(pos EQUAL -1)
      string(APPEND bad "\n    stdout lacks: ${s}")
    endif()
  endforeach()
  foreach(s IN LISTS R_NOT_OUT)
    string(FIND "${out}" "${s}" pos)
    if(NOT pos EQUAL -1)
      string(APPEND bad "\n    stdout has: ${s}")
    endif()
  endforeach()
  foreach(s IN LISTS R_ERR)
    string(FIND "${err}" "${s}" pos)
    if(pos EQUAL -1)
      string(APPEND bad "\n    stderr lacks: ${s}")
    endif()
  endforeach()
  if(bad STREQUAL "")
    message("ok: ${name}")
  else()
    message("FAILED: ${name}:${bad}\n  ---- stdout ----\n${out}\n  ---- stderr ----\n${err}")
    set(failures "${failures} ${name}" PARENT_SCOPE)
  endif()
endfunction()

# dump: every layer, provenance, redaction
run(dump_layers RC 0
  ARGS dump --file app.yaml --file override.toml --env-file app.env
       --prefix APP --set name=cli --provenance
  ENV APP_HTTP__HOST=10.0.0.1
  OUT "\"name\": \"cli\"" "\"port\": 9090" "\"host\": \"10.0.0.1\""
      "\"max\": \"16\"" "\"format\": \"json\""
      "postgresql://app:***@db.local:5432/app"
      "\"http.port\": \"override.toml:3:8\""
      "\"http.timeout\": \"app.yaml:6:12\""
      "\"http.host\": \"env APP_HTTP__HOST\""
      "\"log.format\": \"app.env:2\""
      "\"name\": \"override\""
  NOT_OUT "s3cret")
run(dump_secrets RC 0
  ARGS dump --file app.yaml --show-secrets --compact
  OUT "postgresql://app:s3cret@db.local" "{\"name\":\"demo\",\"http\":{")
run(dump_plain RC 0
  ARGS dump --file app.yaml
  OUT "\"level\": \"info\""
  NOT_OUT "provenance")
# without --prefix the environment is not read
run(dump_no_prefix RC 0
  ARGS dump --file app.yaml
  ENV APP_HTTP__PORT=1
  OUT "\"port\": 8080")
run(dump_missing_ok RC 0
  ARGS dump --file app.yaml --file absent.yaml --missing-ok
  OUT "\"name\": \"demo\"")
run(dump_missing RC 1
  ARGS dump --file app.yaml --file absent.yaml
  ERR "cannot open config file 'absent.yaml': No such file or directory")
run(dump_broken RC 1
  ARGS dump --file broken.toml
  ERR "broken.toml:2:8: expected a value after '='")

# check: valid, invalid values (every problem listed), strict
run(check_ok RC 0
  ARGS check --file app.yaml --file override.toml --env-file app.env
       --prefix APP --schema schema.yaml --strict
  OUT "ok: the configuration is valid")
run(check_values RC 1
  ARGS check --file bad_values.yaml --schema schema.yaml
  ERR "bad_values.yaml:3:9: http.port: 70000 is out of range [1, 65535]"
      "bad_values.yaml:4:12: http.timeout: is an integer (5); want a duration"
      "bad_values.yaml:6:10: log.level: \"loud\" is not one of: debug, info, warn, error")
run(check_env RC 1
  ARGS check --file app.yaml --prefix APP --schema schema.yaml
  ENV APP_HTTP__PORT=zero
  ERR "env APP_HTTP__PORT: http.port: is text (\"zero\"); want an integer")
run(check_strict RC 1
  ARGS check --file app.yaml --set typo.key=1 --schema schema.yaml --strict
  ERR "override: typo.key: unknown key")
run(check_parse RC 1
  ARGS check --file app.yaml --file broken.toml
  ERR "broken.toml:2:8: expected a value after '='")
run(check_required RC 1
  ARGS check --file override.toml --schema schema.yaml
  ERR "name: required, but not set")
run(check_long_default RC 0
  ARGS check --file app.yaml --schema long_default.yaml
  OUT "ok: the configuration is valid")

# a FIFO is refused at once, never waited on (TIMEOUT would end a wait)
set(fifo "${CMAKE_CURRENT_BINARY_DIR}/config_cli_fifo.yaml")
file(REMOVE "${fifo}")
execute_process(COMMAND mkfifo "${fifo}" RESULT_VARIABLE mkfifo_rc)
if(NOT mkfifo_rc EQUAL 0)
  message(FATAL_ERROR "mkfifo ${fifo} failed")
endif()
run(dump_fifo RC 1
  ARGS dump --file "${fifo}"
  ERR "config file '${fifo}' is not a regular file (a FIFO)")
file(REMOVE "${fifo}")

# bad usage
run(usage_none RC 2 ERR "usage: roster config dump")
run(usage_sub RC 2 ARGS frob ERR "unknown subcommand 'frob'")
run(usage_option RC 2 ARGS dump --bogus ERR "unknown option '--bogus'")
run(usage_value RC 2 ARGS dump --file ERR "--file needs a value")
run(usage_format RC 2 ARGS dump --file app.conf
  ERR "cannot tell the format of config file 'app.conf'")
run(usage_strict RC 2 ARGS check --strict ERR "--strict needs --schema")
run(usage_check_only RC 2 ARGS dump --schema schema.yaml
  ERR "unknown option '--schema'")
run(help RC 0 ARGS --help OUT "exit status: 0 valid, 1 invalid")

if(NOT failures STREQUAL "")
  message(FATAL_ERROR "config_cli failed:${failures}")
endif()
message("config_cli: ok")
