# Install rules: headers, the section backend's linker fragment, the ChorusOS library and its
# headers, the CMake package (hotrestartConfig.cmake, a SameMajorVersion version file, one
# exported-targets file per component), pkg-config files and the tools. Included by the top-level CMakeLists.txt
# when HOTRESTART_INSTALL is on.
#
# Components (find_package(hotrestart CONFIG COMPONENTS ...)) and their imported targets:
#   (always)  hotrestart::hotrestart   the core; needs tl-expected
#   mmap      hotrestart::mmap         banks in memory-mapped files; needs Threads
#   shm       hotrestart::shm          POSIX shared memory; needs Boost headers >= 1.74
#   section   hotrestart::section      bare-metal linker section (+ HOTRESTART_SECTION_LD_DIR)
#   baremetal hotrestart::baremetal    the controller in a firmware: reboot record, ladder, watchdog
#   posix     hotrestart::posix        the POSIX runtime for restartable programs (Linux)
#   chorus    hotrestart::chorus       the ChorusOS 5.0 API for C and C++: pmm/chPmm.h, hr/hr.h
#             hotrestart::chorus_static  and libhotrestart_chorus (shared; + static) (Linux)
#   hrctl     hotrestart::hrctl        the supervisor program (imported executable)
include(CMakePackageConfigHelpers)

# The package holds a compiled library (hotrestart_chorus), so its CMake and pkg-config files go
# under the library folder, as an architecture's files do (vcpkg's checks refuse a .pc file with
# link flags under share/).
set(HOTRESTART_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/hotrestart CACHE STRING
    "Where hotrestartConfig.cmake goes, relative to the prefix")
set(HOTRESTART_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig CACHE STRING
    "Where hotrestart.pc and hotrestart-chorus.pc go, relative to the prefix")
set(HOTRESTART_INSTALL_LDDIR ${CMAKE_INSTALL_DATADIR}/hotrestart/ld)
mark_as_advanced(HOTRESTART_INSTALL_CMAKEDIR HOTRESTART_INSTALL_PKGCONFIGDIR)

# component -> target built here (a component whose target is absent is not installed, and
# find_package reports it as not found: shm without Boost, posix/chorus/hrctl off Linux).
set(hr_component_targets
  mmap hotrestart_mmap
  shm hotrestart_shm
  section hotrestart_section
  baremetal hotrestart_baremetal
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
  elseif(hr_comp STREQUAL "chorus")
    # The libraries and their own include folder (install component hotrestart_chorus: the
    # shared library's runtime part; headers, static library and the .so link in development).
    if(TARGET hotrestart_chorus_static)
      set_target_properties(hotrestart_chorus_static PROPERTIES EXPORT_NAME chorus_static)
    endif()
    install(TARGETS ${HOTRESTART_CHORUS_TARGETS} EXPORT hotrestart-chorus
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT hotrestart_chorus
                    NAMELINK_COMPONENT hotrestart_development
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT hotrestart_development)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/chorus/compat/
            DESTINATION ${HOTRESTART_CHORUS_INCLUDEDIR} COMPONENT hotrestart_development)
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
if(TARGET hotrestart_baremetal)
  install(FILES ${PROJECT_SOURCE_DIR}/runtime/baremetal/ld/hotrestart_retained.ld
          DESTINATION ${HOTRESTART_INSTALL_LDDIR} COMPONENT hotrestart_development)
endif()

# bankdump reads a bank from a raw memory image (pmemsave, a debugger's dump): a plain program.
if(TARGET bankdump)
  install(TARGETS bankdump RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hotrestart_runtime)
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hotrestartConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hotrestartConfig.cmake
  INSTALL_DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR}
  PATH_VARS HOTRESTART_INSTALL_LDDIR CMAKE_INSTALL_INCLUDEDIR)
# Header-only, the package fits any architecture; with the compiled ChorusOS library it is the
# architecture of that library (CMake's 32/64-bit check).
if("chorus" IN_LIST HOTRESTART_INSTALLED_COMPONENTS)
  set(hr_arch_independent "")
else()
  set(hr_arch_independent ARCH_INDEPENDENT)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hotrestartConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ${hr_arch_independent})
install(FILES ${PROJECT_BINARY_DIR}/hotrestartConfig.cmake
              ${PROJECT_BINARY_DIR}/hotrestartConfigVersion.cmake
        DESTINATION ${HOTRESTART_INSTALL_CMAKEDIR} COMPONENT hotrestart_development)

# pkg-config: relocatable (prefix found from the .pc file's own folder).
# hr_pc_dir(VAR DIR): DIR as the .pc file writes it (relative to ${prefix} unless absolute).
function(hr_pc_dir var dir)
  if(IS_ABSOLUTE ${dir})
    set(${var} ${dir} PARENT_SCOPE)
  else()
    set(${var} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
hr_pc_dir(HOTRESTART_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
file(RELATIVE_PATH HOTRESTART_PC_TO_PREFIX
     ${CMAKE_INSTALL_PREFIX}/${HOTRESTART_INSTALL_PKGCONFIGDIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HOTRESTART_PC_TO_PREFIX "${HOTRESTART_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/hotrestart.pc.in ${PROJECT_BINARY_DIR}/hotrestart.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hotrestart.pc DESTINATION ${HOTRESTART_INSTALL_PKGCONFIGDIR}
        COMPONENT hotrestart_development)
# hotrestart-chorus.pc: C programs written for the ChorusOS API (its headers and the library;
# `pkg-config --static` adds what the static library needs: the C++ runtime and threads).
if("chorus" IN_LIST HOTRESTART_INSTALLED_COMPONENTS)
  hr_pc_dir(HOTRESTART_PC_CHORUS_INCLUDEDIR ${HOTRESTART_CHORUS_INCLUDEDIR})
  hr_pc_dir(HOTRESTART_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
  configure_file(${CMAKE_CURRENT_LIST_DIR}/hotrestart-chorus.pc.in
                 ${PROJECT_BINARY_DIR}/hotrestart-chorus.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/hotrestart-chorus.pc
          DESTINATION ${HOTRESTART_INSTALL_PKGCONFIGDIR} COMPONENT hotrestart_development)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/hotrestart
        COMPONENT hotrestart_development)
