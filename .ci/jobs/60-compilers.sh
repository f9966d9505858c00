#!/usr/bin/env bash
# Compilers and language modes, warnings as errors (-Wall -Wextra -Wpedantic -Wconversion):
#   1. g++ 12, C++23: the whole tree builds (every test, example, tool; the cross-built
#      firmwares are the firmware job's); the fast tests run (all but the runtime end-to-end,
#      torture, firmware and fuzzing ones, which the main suite runs in C++20); every public
#      header compiles alone, also with -fno-exceptions -fno-rtti.
#   2. clang 16, C++23, and 3. clang 16, C++20: the core's tests, the controller, typed blocks,
#      the section backend, hrctl and the package tests build and run; every public header
#      alone (+ no exceptions).
#   4. -fno-exceptions -fno-rtti (g++): a consumer of the installed package (mmap and section
#      components) builds and runs; the core's heap-trapping tests run in the main suite.
# (The main suite is g++ 12 C++20 and .ci/run adds clang 14 C++20.) Debug builds (-O0) keep
# compile time down. Budget: about 6 minutes on 2 quiet cores from scratch (242 s measured
# before step 3 ran tests; step 3 adds 2 to 6 minutes with the load), plus installing clang-16
# the first time. Measured 979 s from scratch with three other builds sharing the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq cmake g++ make libexpected-dev doctest-dev libboost-dev \
  clang-16 pkg-config >/dev/null
stamp() { echo "compilers job: $1 after $(( $(date +%s) - start ))s"; }
warn="-Wall -Wextra -Wpedantic -Wconversion -Werror"
common=(-DCMAKE_BUILD_TYPE=Debug -DHOTRESTART_BUILD_BENCHMARKS=OFF)
# The long-running suites, already covered in C++20 by the main suite.
slow='^(runtime_|torture_|firmware_|fuzz_|lookup_bench|crash_enumeration)'

# 1. g++ 12, C++23, everything but the cross-built firmwares (their own flags, not C++23; the
#    firmware job builds and runs them).
cmake -S . -B build/ci-gcc-cxx23 "${common[@]}" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=23 \
  -DCMAKE_CXX_FLAGS="$warn" -DHOTRESTART_FIRMWARE_TESTS=OFF >/dev/null
cmake --build build/ci-gcc-cxx23 -j2
cmake --build build/ci-gcc-cxx23 -j2 --target hr_headers_alone
ctest --test-dir build/ci-gcc-cxx23 --output-on-failure -j2 -E "$slow"
stamp "g++ 12 C++23 passed"

# 2. and 3. clang 16, C++23 then C++20: the same subset in both. (Debian's clang 16 spells C++23
# -std=c++2b; CMake knows.)
clang_tests=(test_names test_allocator test_registry test_bank test_validation test_noheap
  test_controller test_controller_noexceptions test_controller_bank test_typed test_typed_noheap
  test_section)
regex="^($(IFS='|'; echo "${clang_tests[*]}")|package_.*|bank_non_model_.*|controller_non_model_.*)\$"
clang16() {
  local b=build/ci-clang16-cxx$1
  cmake -S . -B "$b" "${common[@]}" -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_CXX_STANDARD="$1" \
    -DCMAKE_CXX_FLAGS="$warn" >/dev/null
  cmake --build "$b" -j2 --target "${clang_tests[@]}" hrctl bankdump hr_headers_alone
  ctest --test-dir "$b" --output-on-failure -j2 -R "$regex"
  # Fewer tests than the list would mean some were not registered (a skipped folder).
  local n
  n=$(ctest --test-dir "$b" -N -R "$regex" | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
  [ "$n" -ge "${#clang_tests[@]}" ] || { echo "compilers job: clang 16 C++$1: only $n tests" >&2; exit 1; }
  stamp "clang 16 C++$1 passed ($n tests)"
}
clang16 23
clang16 20

# 4. No exceptions, no RTTI: a consumer of the package installed by step 1.
prefix=build/ci-gcc-cxx23/tests/package/prefix
[ -f "$prefix/share/cmake/hotrestart/hotrestartConfig.cmake" ] || {
  echo "compilers job: step 1 did not install the package" >&2
  exit 1
}
ctest --build-and-test tests/package/find_package build/ci-noexcept --build-generator "Unix Makefiles" \
  --build-options -DCMAKE_PREFIX_PATH="$PWD/$prefix" -DHR_COMPONENTS=mmap,section \
  -DCMAKE_CXX_FLAGS="$warn -fno-exceptions -fno-rtti" \
  --test-command "$PWD/build/ci-noexcept/consumer" "$PWD/build/ci-noexcept/consumer.bank"
stamp "-fno-exceptions -fno-rtti consumer passed"
echo "compilers job: passed in $(( $(date +%s) - start ))s"
