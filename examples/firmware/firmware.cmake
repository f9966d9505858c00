# The cross build of a hotrestart firmware, shared by this example (CMakeLists.txt) and the test
# firmwares (tests/firmware/cross): the core, the section backend and the bare-metal runtime as
# cross targets, and
# hr_firmware(), which links one ELF. Include it from a project configured with
# --toolchain examples/firmware/arm-none-eabi.cmake; HR_ROOT is the repository's root.
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Generic")
  message(FATAL_ERROR "build the firmware with --toolchain ${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake")
endif()
set(HR_FW_DIR ${CMAKE_CURRENT_LIST_DIR})

# tl/expected.hpp is the core's only dependency. The cross compiler does not search the host's
# /usr/include, and must not: a build-tree folder exposes just tl/.
find_path(HR_TL_EXPECTED_DIR tl/expected.hpp PATHS /usr/include /usr/local/include
          NO_CMAKE_FIND_ROOT_PATH NO_DEFAULT_PATH)
if(NOT HR_TL_EXPECTED_DIR)
  message(FATAL_ERROR "tl/expected.hpp not found (Debian: libexpected-dev); set HR_TL_EXPECTED_DIR")
endif()
set(hr_sysinc ${CMAKE_CURRENT_BINARY_DIR}/sysinc)
file(MAKE_DIRECTORY ${hr_sysinc})
file(CREATE_LINK ${HR_TL_EXPECTED_DIR}/tl ${hr_sysinc}/tl SYMBOLIC)

# The core and the section backend as the host build defines them.
add_library(hotrestart INTERFACE)
add_library(hotrestart::hotrestart ALIAS hotrestart)
target_include_directories(hotrestart INTERFACE ${HR_ROOT}/include)
target_include_directories(hotrestart SYSTEM INTERFACE ${hr_sysinc})
target_compile_features(hotrestart INTERFACE cxx_std_20)
add_subdirectory(${HR_ROOT}/backends/section ${CMAKE_CURRENT_BINARY_DIR}/section)
add_subdirectory(${HR_ROOT}/runtime/baremetal ${CMAKE_CURRENT_BINARY_DIR}/baremetal)

set(hr_fw_flags -mthumb -Os -g -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -ffunction-sections -fdata-sections -Wall -Wextra -Wpedantic -Wconversion -Werror)

# hr_firmware(NAME SOURCE main.cpp CPU cortex-m3 LINKER_SCRIPT board.ld [DEFINES ...]
#             [INCLUDES dir...]): one ELF, with the example's startup code, chip and console
# headers. The C++ objects are linked by the gcc driver: no libstdc++ is needed (or installed).
function(hr_firmware name)
  cmake_parse_arguments(ARG "" "SOURCE;CPU;LINKER_SCRIPT" "DEFINES;INCLUDES" ${ARGN})
  add_executable(${name} ${ARG_SOURCE} ${HR_FW_DIR}/startup.cpp)
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINKER_LANGUAGE C)
  target_compile_options(${name} PRIVATE -mcpu=${ARG_CPU} ${hr_fw_flags})
  target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  target_include_directories(${name} PRIVATE ${ARG_INCLUDES} ${HR_FW_DIR})
  target_link_libraries(${name} PRIVATE hotrestart::baremetal)
  target_link_options(${name} PRIVATE -mcpu=${ARG_CPU} -mthumb -nostartfiles --specs=nano.specs
    --specs=nosys.specs -Wl,--gc-sections -Wl,-Map=${name}.map -L${HR_FW_DIR}
    -T${ARG_LINKER_SCRIPT})
  set_target_properties(${name} PROPERTIES LINK_DEPENDS "${ARG_LINKER_SCRIPT};${HR_FW_DIR}/sections.ld")
endfunction()

set(hr_an385 ${HR_FW_DIR}/mps2_an385.ld)
set(hr_microbit ${HR_FW_DIR}/microbit.ld)
