# The targets exported from the build tree (CMake's export()), so that a project can use this
# build without installing it:
#   find_package(hotrestart CONFIG REQUIRED COMPONENTS mmap)   # hotrestart_DIR=<build>/hotrestart-build
# The same target names and component rules as the installed package (cmake/install.cmake),
# with the headers and the section backend's linker fragment taken from the source tree.
set(hr_bt_dir ${PROJECT_BINARY_DIR}/hotrestart-build)
set(hr_bt_targets hotrestart)
set(hr_bt_components "")
foreach(hr_pair mmap:hotrestart_mmap shm:hotrestart_shm section:hotrestart_section
                posix:hotrestart_posix chorus:hotrestart_chorus hrctl:hrctl)
  string(REPLACE ":" ";" hr_pair "${hr_pair}")
  list(GET hr_pair 0 hr_comp)
  list(GET hr_pair 1 hr_target)
  if(TARGET ${hr_target})
    set_target_properties(${hr_target} PROPERTIES EXPORT_NAME ${hr_comp})
    list(APPEND hr_bt_targets ${hr_target})
    list(APPEND hr_bt_components ${hr_comp})
  endif()
endforeach()
if(TARGET hotrestart_chorus_static)
  set_target_properties(hotrestart_chorus_static PROPERTIES EXPORT_NAME chorus_static)
  list(APPEND hr_bt_targets hotrestart_chorus_static)
endif()
export(TARGETS ${hr_bt_targets} NAMESPACE hotrestart:: FILE ${hr_bt_dir}/hotrestart-targets.cmake)
set(HOTRESTART_BT_COMPONENTS "${hr_bt_components}")
set(HOTRESTART_BT_SOURCE_DIR "${PROJECT_SOURCE_DIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/hotrestartBuildTreeConfig.cmake.in
               ${hr_bt_dir}/hotrestartConfig.cmake @ONLY)
include(CMakePackageConfigHelpers)
# (Architecture-independent unless it holds the compiled ChorusOS library, as installed.)
if(TARGET hotrestart_chorus)
  set(hr_bt_arch "")
else()
  set(hr_bt_arch ARCH_INDEPENDENT)
endif()
write_basic_package_version_file(${hr_bt_dir}/hotrestartConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ${hr_bt_arch})
