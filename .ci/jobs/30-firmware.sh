#!/usr/bin/env bash
# Firmware under QEMU: installs the Arm cross toolchain and QEMU, builds the host tree with the
# firmware tests mandatory, then runs the firmware test, the pmemsave dump through bankdump, the
# negative controls (each must be detected), the section backend's host tests and the
# Cortex-M0+/M3/M4/M33 compile matrix.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq gcc-arm-none-eabi libnewlib-arm-none-eabi \
  libstdc++-arm-none-eabi-dev qemu-system-arm python3 >/dev/null
echo "firmware job: toolchain and QEMU installed after $(( $(date +%s) - start ))s"

cmake -S . -B build/firmware -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wconversion -Werror" \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF -DHOTRESTART_REQUIRE_FIRMWARE=ON >/dev/null
cmake --build build/firmware -j2 --target hr_firmware_cross bankdump test_section test_shm
ctest --test-dir build/firmware --output-on-failure -j2 \
  -R '^(firmware_|test_section$|test_shm$)'
# A skipped firmware test would pass silently: refuse any.
if ctest --test-dir build/firmware -N -R '^firmware_' | grep -q 'Total Tests: 0'; then
  echo "firmware job: no firmware tests registered" >&2
  exit 1
fi
echo "firmware job: passed in $(( $(date +%s) - start ))s"
