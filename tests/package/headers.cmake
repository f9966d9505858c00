# Every public header compiles on its own: one generated translation unit per header (included
# twice, for the include guard), built with the target that provides the header and nothing
# else. The core's headers, the section and mmap backends' and the bare-metal runtime's are also
# built with -fno-exceptions -fno-rtti. Not part of `all`: build the target hr_headers_alone (the compilers
# CI job does, in C++20 and C++23, with g++ and clang).
set(hr_header_sets
  hotrestart ${PROJECT_SOURCE_DIR}/include
  hotrestart_mmap ${PROJECT_SOURCE_DIR}/backends/mmap/include
  hotrestart_shm ${PROJECT_SOURCE_DIR}/backends/shm/include
  hotrestart_section ${PROJECT_SOURCE_DIR}/backends/section/include
  hotrestart_baremetal ${PROJECT_SOURCE_DIR}/runtime/baremetal/include
  hotrestart_posix ${PROJECT_SOURCE_DIR}/runtime/posix/include
  hotrestart_chorus ${PROJECT_SOURCE_DIR}/runtime/chorus/compat
  hotrestart_bank_image ${PROJECT_SOURCE_DIR}/tools/bankdump/include)
# Targets whose headers promise to build without exceptions and RTTI.
set(hr_noexcept_targets hotrestart hotrestart_mmap hotrestart_section hotrestart_baremetal)

# hr_header_tus(VAR EXT HEADERS...): one generated translation unit per header, which includes
# it twice (the include guard), named .EXT (cpp, or c for C); their paths in VAR.
function(hr_header_tus var ext)
  set(tus "")
  foreach(h IN LISTS ARGN)
    string(MAKE_C_IDENTIFIER ${h} id)
    set(tu ${CMAKE_CURRENT_BINARY_DIR}/headers_alone/${id}.${ext})
    file(CONFIGURE OUTPUT ${tu} CONTENT
         "/* Generated: ${h} compiles on its own (and twice). */\n#include <${h}>\n#include <${h}>\n")
    list(APPEND tus ${tu})
  endforeach()
  set(${var} ${tus} PARENT_SCOPE)
endfunction()

add_custom_target(hr_headers_alone)
list(LENGTH hr_header_sets hr_n)
math(EXPR hr_last "${hr_n} - 1")
foreach(hr_i RANGE 0 ${hr_last} 2)
  math(EXPR hr_j "${hr_i} + 1")
  list(GET hr_header_sets ${hr_i} hr_target)
  list(GET hr_header_sets ${hr_j} hr_dir)
  if(NOT TARGET ${hr_target})
    continue()
  endif()
  file(GLOB_RECURSE hr_headers RELATIVE ${hr_dir} CONFIGURE_DEPENDS ${hr_dir}/*.hpp ${hr_dir}/*.h)
  list(FILTER hr_headers EXCLUDE REGEX "(^|/)detail/")
  hr_header_tus(hr_sources cpp ${hr_headers})
  add_library(hr_headers_${hr_target} OBJECT EXCLUDE_FROM_ALL ${hr_sources})
  target_link_libraries(hr_headers_${hr_target} PRIVATE ${hr_target})
  add_dependencies(hr_headers_alone hr_headers_${hr_target})
  if(hr_target IN_LIST hr_noexcept_targets AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    add_library(hr_headers_${hr_target}_noexcept OBJECT EXCLUDE_FROM_ALL ${hr_sources})
    target_link_libraries(hr_headers_${hr_target}_noexcept PRIVATE ${hr_target})
    target_compile_options(hr_headers_${hr_target}_noexcept PRIVATE -fno-exceptions -fno-rtti)
    add_dependencies(hr_headers_alone hr_headers_${hr_target}_noexcept)
  endif()
endforeach()

# The ChorusOS headers are C headers too: each also compiles alone as C99 and C11, pedantic.
if(TARGET hotrestart_chorus)
  file(GLOB_RECURSE hr_headers RELATIVE ${PROJECT_SOURCE_DIR}/runtime/chorus/compat CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/runtime/chorus/compat/*.h)
  hr_header_tus(hr_sources c ${hr_headers})
  foreach(hr_std 99 11)
    add_library(hr_headers_chorus_c${hr_std} OBJECT EXCLUDE_FROM_ALL ${hr_sources})
    target_link_libraries(hr_headers_chorus_c${hr_std} PRIVATE hotrestart_chorus)
    set_target_properties(hr_headers_chorus_c${hr_std} PROPERTIES C_STANDARD ${hr_std}
                          C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
    target_compile_options(hr_headers_chorus_c${hr_std} PRIVATE -Wall -Wextra -Wpedantic -Werror)
    add_dependencies(hr_headers_alone hr_headers_chorus_c${hr_std})
  endforeach()
endif()

# One translation unit with every public header, for clang-tidy (each header analysed once).
set(hr_all_tu ${CMAKE_CURRENT_BINARY_DIR}/headers_alone/all_public_headers.cpp)
set(hr_all_content "// Generated: every public header, for clang-tidy.\n")
set(hr_all_targets "")
foreach(hr_i RANGE 0 ${hr_last} 2)
  math(EXPR hr_j "${hr_i} + 1")
  list(GET hr_header_sets ${hr_i} hr_target)
  list(GET hr_header_sets ${hr_j} hr_dir)
  if(NOT TARGET ${hr_target})
    continue()
  endif()
  list(APPEND hr_all_targets ${hr_target})
  file(GLOB_RECURSE hr_headers RELATIVE ${hr_dir} CONFIGURE_DEPENDS ${hr_dir}/*.hpp ${hr_dir}/*.h)
  list(FILTER hr_headers EXCLUDE REGEX "(^|/)detail/")
  list(SORT hr_headers)
  foreach(hr_h IN LISTS hr_headers)
    string(APPEND hr_all_content "#include <${hr_h}>\n")
  endforeach()
endforeach()
file(CONFIGURE OUTPUT ${hr_all_tu} CONTENT "${hr_all_content}")
add_library(hr_headers_all OBJECT EXCLUDE_FROM_ALL ${hr_all_tu})
target_link_libraries(hr_headers_all PRIVATE ${hr_all_targets})
