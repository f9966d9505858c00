# Install rules: headers, the section backend's linker fragment, the CMake package
# (hotrestartConfig.cmake, a SameMajorVersion version file, one exported-targets file per
# component), a pkg-config file and the hrctl program. Included by the top-level CMakeLists.txt
# when HOTRESTART_INSTALL is on.
#
# Components (find_package(hotrestart CONFIG COMPONENTS ...)) and their imported targets:
#   (always)  hotrestart::hotrestart   the core; needs tl-expected
#   mmap      hotrestart::mmap         banks in memory-mapped files; needs Threads
#   shm       hotrestart::shm          POSIX shared memory; needs Boost headers >= 1.74
#   section   hotrestart::section      bare-metal linker section (+ HOTRESTART_SECTION_LD_DIR)
#   posix     hotrestart::posix        the POSIX runtime for restartable programs (Linux)
#   chorus    hotrestart::chorus       the ChorusOS 5.0 API: pmm/chPmm.h, hr/hr.h (Linux)
#   hrctl     hotrestart::hrctl        the supervisor program (imported executable)
include(CMakePackageConfigHelpers)

set(HOTRESTART_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/hotrestart CACHE STRING
    "Where hotrestartConfig.cmake goes, relative to the prefix (header-only: arch-independent)")
set(HOTRESTART_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_DATADIR}/pkgconfig CACHE STRING
    "Where hotrestart.pc goes, relative to the prefix")
set(HOTRESTART_INSTALL_LDDIR ${CMAKE_INSTALL_DATADIR}/hotrestart/ld)
mark_as_advanced(HOTRESTART_INSTALL_CMAKEDIR HOTRESTART_INSTALL_PKGCONFIGDIR)

# component -> target built here (a component whose target is absent is not installed, and
# find_package reports it as not found: shm without Boost, posix/chorus/hrctl off Linux).
set(hr_component_targets
  mmap hotrestart_mmap
  shm hotrestart_shm
  section hotrestart_section
  posix hotrestart_posix
  chorus hotrestart_chorus
  hrctl hrctl)

# Headers: the core's and every header folder of the components that exist.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT hotrestart_development)
install(TARGETS hotrestart EXPORT hotrestart-core)
install(EXPORT hotrestart-core NAMESPACE hotrestart:: FILE hotrestart-core-targets.cmake
        DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR} COMPONENT hotrestart_development)

set(HOTRESTART_INSTALLED_COMPONENTS "")
list(LENGTH hr_component_targets hr_n)
math(EXPR hr_last "${hr_n} - 1")
foreach(hr_i RANGE 0 ${hr_last} 2)
  math(EXPR hr_j "${hr_i} + 1")
  list(GET hr_component_targets ${hr_i} hr_comp)
  list(GET hr_component_targets ${hr_j} hr_target)
  if(NOT TARGET ${hr_target})
    continue()
  endif()
  list(APPEND HOTRESTART_INSTALLED_COMPONENTS ${hr_comp})
  set_target_properties(${hr_target} PROPERTIES EXPORT_NAME ${hr_comp})
  if(hr_comp STREQUAL "hrctl")
    install(TARGETS hrctl EXPORT hotrestart-hrctl
            RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hotrestart_runtime)
  else()
    install(TARGETS ${hr_target} EXPORT hotrestart-${hr_comp})
    get_target_property(hr_src ${hr_target} SOURCE_DIR)
    if(EXISTS ${hr_src}/include)
      install(DIRECTORY ${hr_src}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
              COMPONENT hotrestart_development)
    endif()
  endif()
  install(EXPORT hotrestart-${hr_comp} NAMESPACE hotrestart:: FILE hotrestart-${hr_comp}-targets.cmake
          DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR} COMPONENT hotrestart_development)
endforeach()

# The section backend's linker fragment: users INCLUDE hotrestart_bank.ld, and the installed
# target puts its folder on the linker's search path as the build-tree target does.
if(TARGET hotrestart_section)
  install(FILES ${PROJECT_SOURCE_DIR}/backends/section/ld/hotrestart_bank.ld
          DESTINATION ${HOTRESTART_INSTALL_LDDIR} COMPONENT hotrestart_development)
  target_link_directories(hotrestart_section INTERFACE
    $<INSTALL_INTERFACE:$<INSTALL_PREFIX>/${HOTRESTART_INSTALL_LDDIR}>)
endif()

# bankdump reads a bank from a raw memory image (pmemsave, a debugger's dump): a plain program.
if(TARGET bankdump)
  install(TARGETS bankdump RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hotrestart_runtime)
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hotrestartConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hotrestartConfig.cmake
  INSTALL_DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR}
  PATH_VARS HOTRESTART_INSTALL_LDDIR CMAKE_INSTALL_INCLUDEDIR)
# Header-only: the package fits any architecture (no 32/64-bit check).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hotrestartConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/hotrestartConfig.cmake
              ${PROJECT_BINARY_DIR}/hotrestartConfigVersion.cmake
        DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR} COMPONENT hotrestart_development)

# pkg-config: relocatable (prefix found from the .pc file's own folder).
if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(HOTRESTART_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(HOTRESTART_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
file(RELATIVE_PATH HOTRESTART_PC_TO_PREFIX
     ${CMAKE_INSTALL_PREFIX}/${HOTRESTART_INSTALL_PKGCONFIGDIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HOTRESTART_PC_TO_PREFIX "${HOTRESTART_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/hotrestart.pc.in ${PROJECT_BINARY_DIR}/hotrestart.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hotrestart.pc DESTINATION ${HOTRESTART_INSTALL_PKGCONFIGDIR}
        COMPONENT hotrestart_development)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/hotrestart
        COMPONENT hotrestart_development)
