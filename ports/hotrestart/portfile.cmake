# vcpkg overlay port for hotrestart, built from this repository:
#   vcpkg install hotrestart[shm,tools] --overlay-ports=<repo>/ports
# A registry port would take the sources with vcpkg_from_github (REF, SHA512) instead.
# Release and debug builds: the package holds a compiled library (hotrestart_chorus, Linux),
# shared or static after the triplet's VCPKG_LIBRARY_LINKAGE.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    tools HOTRESTART_BUILD_TOOLS)
if("shm" IN_LIST FEATURES)
  list(APPEND FEATURE_OPTIONS -DCMAKE_REQUIRE_FIND_PACKAGE_Boost=ON)
else()
  list(APPEND FEATURE_OPTIONS -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON)
endif()
string(COMPARE EQUAL "${VCPKG_LIBRARY_LINKAGE}" "dynamic" chorus_shared)
string(COMPARE EQUAL "${VCPKG_LIBRARY_LINKAGE}" "static" chorus_static)

# vcpkg_cmake_configure passes -DCMAKE_INSTALL_BINDIR=bin after these options, so the programs
# are installed to bin/ and moved to tools/${PORT} below (vcpkg_copy_tools), where
# vcpkg_cmake_config_fixup points the exported hotrestart::hrctl. The debug build needs no
# programs (only the release ones are shipped): OPTIONS_DEBUG turns them off there.
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DHOTRESTART_INSTALL=ON
    -DHOTRESTART_BUILD_TESTS=OFF
    -DHOTRESTART_BUILD_EXAMPLES=OFF
    -DHOTRESTART_BUILD_BENCHMARKS=OFF
    -DHOTRESTART_CHORUS_SHARED=${chorus_shared}
    -DHOTRESTART_CHORUS_STATIC=${chorus_static}
    # Where vcpkg's checks want .pc files with link flags (also the project's default).
    -DHOTRESTART_INSTALL_PKGCONFIGDIR=lib/pkgconfig
    ${FEATURE_OPTIONS}
  OPTIONS_DEBUG
    -DHOTRESTART_BUILD_TOOLS=OFF)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME hotrestart CONFIG_PATH lib/cmake/hotrestart)
vcpkg_fixup_pkgconfig()
if("tools" IN_LIST FEATURES)
  vcpkg_copy_tools(TOOL_NAMES hrctl bankdump AUTO_CLEAN)
endif()

file(REMOVE_RECURSE
  "${CURRENT_PACKAGES_DIR}/debug/include"
  "${CURRENT_PACKAGES_DIR}/debug/share"
  "${CURRENT_PACKAGES_DIR}/share/doc")
# The systemd unit names hrctl by an absolute path in this staging tree: a system's package
# manager ships units, vcpkg does not (docs/systemd.md).
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib/systemd" "${CURRENT_PACKAGES_DIR}/debug/lib/systemd")
# The OCF resource agent likewise (docs/cluster.md): a cluster node's package ships it.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib/ocf" "${CURRENT_PACKAGES_DIR}/debug/lib/ocf")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
