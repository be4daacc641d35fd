# run_program.cmake: included by the scripts that run a program and check
# its output (run_demo.cmake, run_example.cmake).
#
# run_program(<label> <out-var> <err-var> <command>...): runs the command
# (for at most 50 s), prints its output under "---- <label> stdout ----"
# (and its stderr, when there is any), and stops the script unless it
# exited 0. The output and stderr go into <out-var> and <err-var>.
function(run_program label out_var err_var)
  execute_process(
    COMMAND ${ARGN}
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    RESULT_VARIABLE rc
    TIMEOUT 50)
  message("---- ${label} stdout ----\n${out}")
  if(NOT err STREQUAL "")
    message("---- ${label} stderr ----\n${err}")
  endif()
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "${label} exited with '${rc}', want 0")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
endfunction()
