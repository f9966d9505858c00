#!/usr/bin/env bash
# Compilers and language modes, warnings as errors (-Wall -Wextra -Wpedantic -Wconversion):
#   1. g++ 12, C++23: the core's tests, the controller, typed blocks, the section backend, the
#      durable-mode power cuts, hrctl and the package tests build and run; every public header
#      compiles alone, also with -fno-exceptions -fno-rtti (and the ChorusOS headers as C99 and
#      C11). 2. clang 16, C++23: the same core tests and every header alone (hrctl and the
#      package are C++20 code that clang 14 builds whole in .ci/run; built again here they
#      cost minutes and found nothing g++ 23 and clang 14 did not).
#   3. -fno-exceptions -fno-rtti (g++): a consumer of the installed package (mmap and section
#      components) builds and runs; the core's heap-trapping tests run in the main suite.
# C++20 is the main suite's (g++ 12, the whole tree) and .ci/run's clang 14 run (the whole
# tree). Debug builds (-O0) keep compile time down. Budget: about 5 minutes on 2 quiet cores.
. "$(dirname "$0")/../lib.sh"
ci_install cmake g++ make libexpected-dev doctest-dev libboost-dev \
  clang-16 pkg-config
stamp() { echo "compilers job: $1 after $(( $(date +%s) - start ))s"; }
warn="-Wall -Wextra -Wpedantic -Wconversion -Werror"
common=(-DCMAKE_BUILD_TYPE=Debug -DHOTRESTART_BUILD_BENCHMARKS=OFF)
tests=(test_names test_allocator test_registry test_bank test_validation test_noheap
  test_controller test_controller_noexceptions test_controller_bank test_typed test_typed_noheap
  test_section test_power_cut test_trust test_archetypes)
regex="^($(IFS='|'; echo "${tests[*]}")|package_.*|bank_non_model_.*|controller_non_model_.*|nodiscard_result_.*)\$"
subset() {  # C++ COMPILER, STANDARD, C COMPILER, full|core
  local b=build/ci-$1-cxx$2 tools=(hrctl bankdump hotrestart_chorus_static) re=$regex
  if [ "$4" = core ]; then
    tools=()
    re="^($(IFS='|'; echo "${tests[*]}")|bank_non_model_.*|controller_non_model_.*|nodiscard_result_.*)\$"
  fi
  cmake -S . -B "$b" "${common[@]}" -DCMAKE_CXX_COMPILER="$1" -DCMAKE_CXX_STANDARD="$2" \
    -DCMAKE_C_COMPILER="$3" -DCMAKE_CXX_FLAGS="$warn" -DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror" \
    -DHOTRESTART_FIRMWARE_TESTS=OFF >/dev/null
  cmake --build "$b" -j2 --target "${tests[@]}" "${tools[@]}" hotrestart_chorus hr_headers_alone
  ctest --test-dir "$b" --output-on-failure -j2 -R "$re"
  # Fewer tests than the list would mean some were not registered (a skipped folder).
  local n
  n=$(ctest --test-dir "$b" -N -R "$re" | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
  [ "$n" -ge "${#tests[@]}" ] || { echo "compilers job: $1 C++$2: only $n tests" >&2; exit 1; }
  stamp "$1 C++$2 passed ($n tests)"
}
# (Debian's clang 16 spells C++23 -std=c++2b; CMake knows.)
subset g++ 23 gcc full
subset clang++-16 23 clang-16 core

# 3. No exceptions, no RTTI: a consumer of the package installed by step 1.
prefix=build/ci-g++-cxx23/tests/package/prefix
[ -f "$prefix/lib/cmake/hotrestart/hotrestartConfig.cmake" ] || {
  echo "compilers job: step 1 did not install the package" >&2
  exit 1
}
ctest --build-and-test tests/package/find_package build/ci-noexcept --build-generator "Unix Makefiles" \
  --build-options -DCMAKE_PREFIX_PATH="$PWD/$prefix" -DHR_COMPONENTS=mmap,section \
  -DCMAKE_CXX_FLAGS="$warn -fno-exceptions -fno-rtti" \
  --test-command "$PWD/build/ci-noexcept/consumer" "$PWD/build/ci-noexcept/consumer.bank"
stamp "-fno-exceptions -fno-rtti consumer passed"
echo "compilers job: passed in $(( $(date +%s) - start ))s"
