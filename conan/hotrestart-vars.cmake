# SPDX-License-Identifier: MIT
# Included by Conan's CMakeDeps after find_package(hotrestart) (cmake_build_modules): the
# variables that the project's own hotrestartConfig.cmake sets, for the same consumer code.
get_filename_component(_hotrestart_root "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(HOTRESTART_INCLUDE_DIR "${_hotrestart_root}/include")
set(HOTRESTART_SECTION_LD_DIR "${_hotrestart_root}/share/hotrestart/ld")
set(HOTRESTART_SECTION_LINKER_FRAGMENT "${HOTRESTART_SECTION_LD_DIR}/hotrestart_bank.ld")
unset(_hotrestart_root)
