# SPDX-License-Identifier: MIT
# Included by Conan's CMakeDeps inside find_package(hotrestart ...) (cmake_build_modules), after
# the generated config has defined every target of the package: the COMPONENTS check that the
# project's own hotrestartConfig.cmake makes, with its messages. A name that is no component of
# hotrestart, or one this package was built without (hrctl, chorus off Linux, shm without the
# option), marks hotrestart_<name>_FOUND false; if it was REQUIRED, hotrestart_FOUND is set false
# with hotrestart_NOT_FOUND_MESSAGE, and find_package fails naming it (config mode: CMakeDeps
# does not set hotrestart_FOUND after its build modules).
set(_hotrestart_known mmap shm section baremetal posix chorus hrctl)
foreach(_hr_c IN LISTS hotrestart_FIND_COMPONENTS)
  if(NOT _hr_c IN_LIST _hotrestart_known)
    set(_hr_why "hotrestart: unknown component '${_hr_c}' (known: ${_hotrestart_known})")
  elseif(NOT TARGET hotrestart::${_hr_c})
    set(_hr_why "hotrestart: component '${_hr_c}' was not installed (its dependencies or platform were missing when hotrestart was built)")
  else()
    set(hotrestart_${_hr_c}_FOUND TRUE)
    continue()
  endif()
  set(hotrestart_${_hr_c}_FOUND FALSE)
  if(hotrestart_FIND_REQUIRED_${_hr_c})
    set(hotrestart_FOUND FALSE)
    set(hotrestart_NOT_FOUND_MESSAGE "${_hr_why}")
  elseif(NOT hotrestart_FIND_QUIETLY)
    message(STATUS "${_hr_why}")
  endif()
endforeach()
unset(_hr_c)
unset(_hr_why)
unset(_hotrestart_known)
