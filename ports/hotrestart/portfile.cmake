# vcpkg overlay port for hotrestart, built from this repository:
#   vcpkg install hotrestart[shm,tools] --overlay-ports=<repo>/ports
# A registry port would take the sources with vcpkg_from_github (REF, SHA512) instead.
set(VCPKG_BUILD_TYPE release)  # header-only: one install is enough
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    tools HOTRESTART_BUILD_TOOLS)
if("shm" IN_LIST FEATURES)
  list(APPEND FEATURE_OPTIONS -DCMAKE_REQUIRE_FIND_PACKAGE_Boost=ON)
else()
  list(APPEND FEATURE_OPTIONS -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON)
endif()

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DHOTRESTART_INSTALL=ON
    -DHOTRESTART_BUILD_TESTS=OFF
    -DHOTRESTART_BUILD_EXAMPLES=OFF
    -DHOTRESTART_BUILD_BENCHMARKS=OFF
    # Programs where vcpkg wants them; the exported hotrestart::hrctl points there too.
    "-DCMAKE_INSTALL_BINDIR=tools/${PORT}"
    ${FEATURE_OPTIONS})
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME hotrestart CONFIG_PATH share/cmake/hotrestart)
vcpkg_fixup_pkgconfig()
if(NOT "tools" IN_LIST FEATURES)
  file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/tools")
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/doc")
# The systemd unit names hrctl by an absolute path in this staging tree: a system's package
# manager ships units, vcpkg does not (docs/systemd.md).
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib/systemd" "${CURRENT_PACKAGES_DIR}/debug/lib/systemd")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
