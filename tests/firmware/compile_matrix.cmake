# Compiles compile_matrix.cpp for one Cortex-M core, then refuses calls into libatomic (or the
# __sync builtins), which bare-metal Cortex-M toolchains do not provide.
# -DCXX= -DNM= -DFLAGS= -DSOURCE= -DOUT= -DINCLUDES= -DSYSINC=
set(incs "")
foreach(dir IN LISTS INCLUDES)
  list(APPEND incs -I${dir})
endforeach()
execute_process(
  COMMAND ${CXX} -std=c++20 ${FLAGS} -Os -fno-exceptions -fno-rtti -Wall -Wextra -Wpedantic
          -Wconversion -Werror ${incs} -isystem ${SYSINC} -c ${SOURCE} -o ${OUT}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compile failed for ${FLAGS}")
endif()
execute_process(COMMAND ${NM} -u ${OUT} OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${OUT}")
endif()
string(REGEX MATCHALL "__(atomic|sync)_[A-Za-z0-9_]+" atomics "${undefined}")
if(atomics)
  message(FATAL_ERROR "${FLAGS}: calls libatomic, which Cortex-M lacks: ${atomics}")
endif()
string(REPLACE "\n" " " undefined "${undefined}")
message(STATUS "${FLAGS}: compiled; undefined symbols: ${undefined}")
