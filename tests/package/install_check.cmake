# cmake -DBUILD_DIR=... -DPREFIX=... -DCOMPONENTS=mmap,shm,... -P install_check.cmake
# Installs the build tree into a fresh PREFIX and checks that the package's files are there.
cmake_minimum_required(VERSION 3.25)
string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
set(expected
  include/hotrestart/bank.hpp
  include/hotrestart/backends/mmap_file.hpp
  include/hotrestart/backends/section.hpp
  share/hotrestart/ld/hotrestart_bank.ld
  share/cmake/hotrestart/hotrestartConfig.cmake
  share/cmake/hotrestart/hotrestartConfigVersion.cmake
  share/cmake/hotrestart/hotrestart-core-targets.cmake
  share/cmake/hotrestart/hotrestart-mmap-targets.cmake
  share/cmake/hotrestart/hotrestart-section-targets.cmake
  share/pkgconfig/hotrestart.pc
  share/doc/hotrestart/LICENSE)
if("shm" IN_LIST COMPONENTS)
  list(APPEND expected include/hotrestart/backends/shm.hpp share/cmake/hotrestart/hotrestart-shm-targets.cmake)
endif()
if("chorus" IN_LIST COMPONENTS)
  list(APPEND expected include/pmm/chPmm.h include/hr/hr.h include/hotrestart/posix/process.hpp)
endif()
if("hrctl" IN_LIST COMPONENTS)
  list(APPEND expected bin/hrctl share/cmake/hotrestart/hotrestart-hrctl-targets.cmake
       share/man/man1/hrctl.1 share/bash-completion/completions/hrctl
       lib/systemd/system/hrctl@.service share/doc/hotrestart/systemd.md
       share/doc/hotrestart/examples/hrctl@example.socket share/doc/hotrestart/examples/example.conf)
  # The unit names the installed hrctl (made at install time, for this prefix).
  file(STRINGS ${PREFIX}/lib/systemd/system/hrctl@.service exec REGEX "^ExecStart=")
  # (A plain prefix comparison: PREFIX may hold regex characters, e.g. build/ci-g++-cxx23.)
  string(FIND "${exec}" "ExecStart=${PREFIX}/bin/hrctl serve " at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "hrctl@.service: '${exec}' does not run ${PREFIX}/bin/hrctl")
  endif()
endif()
foreach(f IN LISTS expected)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
list(LENGTH expected n)
message(STATUS "installed into ${PREFIX}: ${n} expected files present")
