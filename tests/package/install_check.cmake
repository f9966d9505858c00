# cmake -DBUILD_DIR=... -DPREFIX=... -DCOMPONENTS=mmap,shm,... -DLIBDIR=lib -DCHORUS_STATIC=0|1
#       -P install_check.cmake
# Installs the build tree into a fresh PREFIX and checks that the package's files are there (and
# that the ChorusOS headers are only in their own folder).
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
  share/hotrestart/ld/hotrestart_retained.ld
  include/hotrestart/baremetal.hpp
  include/hotrestart/baremetal/record_format.hpp
  ${LIBDIR}/cmake/hotrestart/hotrestartConfig.cmake
  ${LIBDIR}/cmake/hotrestart/hotrestartConfigVersion.cmake
  ${LIBDIR}/cmake/hotrestart/hotrestart-core-targets.cmake
  ${LIBDIR}/cmake/hotrestart/hotrestart-mmap-targets.cmake
  ${LIBDIR}/cmake/hotrestart/hotrestart-section-targets.cmake
  ${LIBDIR}/cmake/hotrestart/hotrestart-baremetal-targets.cmake
  ${LIBDIR}/pkgconfig/hotrestart.pc
  share/doc/hotrestart/LICENSE)
if("shm" IN_LIST COMPONENTS)
  list(APPEND expected include/hotrestart/backends/shm.hpp ${LIBDIR}/cmake/hotrestart/hotrestart-shm-targets.cmake)
endif()
if("chorus" IN_LIST COMPONENTS)
  list(APPEND expected include/hotrestart/chorus-compat/pmm/chPmm.h
       include/hotrestart/chorus-compat/hr/hr.h include/hotrestart/chorus-compat/hotrestart_chorus.h
       include/hotrestart/posix/process.hpp ${LIBDIR}/libhotrestart_chorus.so
       ${LIBDIR}/libhotrestart_chorus.so.0 ${LIBDIR}/pkgconfig/hotrestart-chorus.pc
       ${LIBDIR}/cmake/hotrestart/hotrestart-chorus-targets.cmake)
  if(CHORUS_STATIC)
    list(APPEND expected ${LIBDIR}/libhotrestart_chorus.a)
  endif()
endif()
if("hrctl" IN_LIST COMPONENTS)
  list(APPEND expected bin/hrctl ${LIBDIR}/cmake/hotrestart/hotrestart-hrctl-targets.cmake
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
  # The OCF resource agent (tools/ocf, docs/cluster.md): where Pacemaker looks, executable,
  # its default hrctl the installed one.
  set(agent ${PREFIX}/lib/ocf/resource.d/hotrestart/hrctl)
  if(NOT EXISTS ${agent} OR IS_DIRECTORY ${agent})
    message(FATAL_ERROR "not installed: lib/ocf/resource.d/hotrestart/hrctl")
  endif()
  execute_process(COMMAND test -x ${agent} RESULT_VARIABLE not_x)
  if(not_x)
    message(FATAL_ERROR "the OCF agent ${agent} is not executable")
  endif()
  file(STRINGS ${agent} def REGEX "^OCF_RESKEY_hrctl_default=")
  if(NOT def STREQUAL "OCF_RESKEY_hrctl_default=\"${PREFIX}/bin/hrctl\"")
    message(FATAL_ERROR "the OCF agent's default hrctl is '${def}', not ${PREFIX}/bin/hrctl")
  endif()
  list(APPEND expected share/doc/hotrestart/cluster.md)
endif()
foreach(f IN LISTS expected)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
# No top-level ChorusOS folders: only hotrestart::chorus adds their include folder.
foreach(d include/pmm include/hr share/cmake/hotrestart share/pkgconfig)
  if(EXISTS ${PREFIX}/${d})
    message(FATAL_ERROR "installed where nothing should be: ${d}")
  endif()
endforeach()
list(LENGTH expected n)
message(STATUS "installed into ${PREFIX}: ${n} expected files present")
