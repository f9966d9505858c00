# The layers keep to their includes (docs/architecture.md). Run as a test:
#   cmake -DROOT=<source tree> -P layering_check.cmake
# Rules, checked on every #include of every header and source under each folder:
#   include/hotrestart (the core): only the C++ standard library's freestanding-friendly
#     headers, tl/expected.hpp, its own headers, and the optional user profile header; no OS
#     header, no backend, runtime or tool header;
#   backends/: no runtime (hotrestart/posix, hotrestart/chorus) or tool header;
#   runtime/posix: no tool header and no ChorusOS header (that layer is built on this one);
#   runtime/baremetal: the core's rule, plus the section backend and <csetjmp>: no OS header, no
#     other backend (mmap, shm), no POSIX runtime, ChorusOS or tool header.
# Fails naming every include that breaks a rule.
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<tree> -P layering_check.cmake")
endif()

# C++ standard headers the core may use (no <cstdio>, <thread>, <chrono>, <iostream>...).
set(core_std
  algorithm array atomic bit compare concepts cstddef cstdint cstring initializer_list iterator
  limits memory new optional span string_view type_traits utility
  # The compiler's own SSE2 intrinsics (freestanding: no OS, no library, no heap), for the
  # registry's group probe on x86 (policies/hash_registry.hpp).
  emmintrin.h)
set(problems "")

function(check_tree dir rule)
  file(GLOB_RECURSE files ${ROOT}/${dir}/*.hpp ${ROOT}/${dir}/*.h ${ROOT}/${dir}/*.cpp)
  foreach(f IN LISTS files)
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(l IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*" "\\1" inc "${l}")
      set(bad "")
      if(rule STREQUAL "core")
        if(l MATCHES "#[ \t]*include[ \t]*\"")
          if(inc MATCHES "^(hotrestart/|\\.\\./)?(backends|posix|chorus|tools)/")
            set(bad "a backend, runtime or tool header")
          endif()
        elseif(inc MATCHES "^hotrestart/(backends|posix|chorus|tools)/")
          set(bad "a backend, runtime or tool header")
        elseif(NOT inc MATCHES "^(hotrestart/|tl/expected\\.hpp$|hotrestart_user_config\\.hpp$)"
               AND NOT inc IN_LIST core_std)
          set(bad "not a header the core may use (an OS or hosted library header)")
        endif()
      elseif(rule STREQUAL "backends")
        if(inc MATCHES "^hotrestart/(posix|chorus|tools)/")
          set(bad "a runtime or tool header")
        endif()
      elseif(rule STREQUAL "baremetal")
        if(inc MATCHES "^hotrestart/(posix|chorus|tools)/")
          set(bad "a POSIX runtime, ChorusOS or tool header")
        elseif(inc MATCHES "^hotrestart/backends/" AND NOT inc MATCHES "^hotrestart/backends/section")
          set(bad "a backend other than the section backend")
        elseif(NOT inc MATCHES "^(hotrestart/|tl/expected\\.hpp$)" AND NOT inc IN_LIST core_std
               AND NOT inc STREQUAL "csetjmp")
          set(bad "not a header a firmware has (an OS or hosted library header)")
        endif()
      elseif(rule STREQUAL "runtime")
        if(inc MATCHES "^hotrestart/(tools|chorus)/" OR inc MATCHES "^(pmm|hr)/")
          set(bad "a tool or ChorusOS header")
        endif()
      endif()
      if(bad)
        file(RELATIVE_PATH rel ${ROOT} ${f})
        list(APPEND problems "${rel}: #include <${inc}>: ${bad}")
        set(problems "${problems}" PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
endfunction()

check_tree(include/hotrestart core)
check_tree(backends backends)
check_tree(runtime/posix runtime)
check_tree(runtime/baremetal baremetal)

if(problems)
  list(LENGTH problems n)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "layering: ${n} include(s) break the layers:\n  ${text}")
endif()
message(STATUS "layering: every include keeps to its layer")
