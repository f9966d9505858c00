# A negative control as a ctest: runs CMD (a ;-list) and passes only if it fails (non-zero
# exit or a signal) AND its output matches REGEX, the failure the harness must report. A
# control that fails for another reason (a crash, a missing file, an infrastructure error)
# does not pass.
#   cmake -DCMD="prog;arg..." -DREGEX=... -P expect_failure.cmake
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(APPEND out "${err}")
string(LENGTH "${out}" n)
if(n GREATER 4000)
  math(EXPR from "${n} - 4000")
  string(SUBSTRING "${out}" ${from} 4000 tail)
else()
  set(tail "${out}")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "negative control NOT detected: the command succeeded\n${tail}")
endif()
if(NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "negative control failed for another reason (${rc}); expected /${REGEX}/\n${tail}")
endif()
string(REGEX MATCH "${REGEX}[^\n]*" what "${out}")
message(STATUS "negative control detected (${rc}): ${what}")
