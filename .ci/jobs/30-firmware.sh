#!/usr/bin/env bash
# Firmware under QEMU: installs the Arm cross toolchain and QEMU, builds the host tree with the
# firmware tests mandatory, then runs (CTest, label firmware) the hot-restart firmware (its boot
# sequence; the pmemsave dump after a reset without a fault, read by bankdump and by hrctl
# blocks/check --image; a run without semihosting, as on a board without a debugger), the cycle
# firmware on a Cortex-M0 (microbit, the interrupt-mask lock) and a Cortex-M3 (a chip reset at
# every crash point of create and free), the negative controls (each must be detected with its
# own symptom) and the Cortex-M0+/M3/M4/M33 compile matrix. The section backend's host tests (a
# reset at every store, plain and torn, with its negative control) and shm's are in the main
# suite. Budget: about 2 minutes on 2 cores after the main suite (eight firmwares built, 11
# QEMU runs; the packages first).
. "$(dirname "$0")/../lib.sh"
ci_install gcc-arm-none-eabi libnewlib-arm-none-eabi \
  libstdc++-arm-none-eabi-dev qemu-system-arm python3 cmake g++ make doctest-dev libexpected-dev \
  libboost-dev libbenchmark-dev
echo "firmware job: toolchain and QEMU installed after $(( $(date +%s) - start ))s"

# The main suite's build (default preset), configured again now that the toolchain is here:
# its host targets are already built when .ci/run made it.
cmake --preset default -DHOTRESTART_REQUIRE_FIRMWARE=ON >/dev/null
cmake --build build/default -j2 --target hr_firmware_cross bankdump hrctl
ctest --test-dir build/default --output-on-failure -j2 -R '^firmware_'
# A test that is not registered would pass silently: count them (tests/firmware/CMakeLists.txt).
n=$(ctest --test-dir build/default -N -R '^firmware_' | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
[ "$n" -ge 15 ] || { echo "firmware job: only $n firmware tests registered" >&2; exit 1; }
echo "firmware job: passed in $(( $(date +%s) - start ))s"
