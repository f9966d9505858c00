# cmake -DCC=<C compiler> -DSEED=<hello.cpp> -DINCLUDE=<runtime/chorus/compat> -DOUT=<dir>
#       -P seed_compile_check.cmake
# The seed's hello world compiled as a C user would: `cc -std=c99 -Wall -Wextra -x c`, and as
# C11. It must compile; no diagnostic may name one of our headers; the only warning allowed is
# the seed's own unused variable `any` (its text is kept unchanged).
cmake_minimum_required(VERSION 3.25)
file(MAKE_DIRECTORY ${OUT})
foreach(std c99 c11)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C ${CC} -std=${std} -Wall -Wextra -x c -I${INCLUDE} -c ${SEED}
                          -o ${OUT}/hello_${std}.o
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the seed does not compile as ${std}:\n${err}")
  endif()
  if(err MATCHES "${INCLUDE}")
    message(FATAL_ERROR "a diagnostic from the ChorusOS headers (${std}):\n${err}")
  endif()
  string(REGEX MATCHALL "warning: [^\n]*" warnings "${err}")
  set(allowed 0)
  foreach(w IN LISTS warnings)
    if(w MATCHES "unused variable 'any'")
      math(EXPR allowed "${allowed} + 1")
    else()
      message(FATAL_ERROR "the seed compiled as ${std} has a warning: ${w}\n${err}")
    endif()
  endforeach()
  # The object defines main and calls the library's API (the calls are real C symbols).
  if(NOT EXISTS ${OUT}/hello_${std}.o)
    message(FATAL_ERROR "no object file for ${std}")
  endif()
  message(STATUS "${std}: compiled, ${allowed} warning(s), all the seed's own unused `any`")
endforeach()
