#!/usr/bin/env bash
# Installs the Debian packages hotrestart needs, if any is missing. Sourced by the other
# scripts; usage on its own: scripts/deps.sh [extra packages...]
set -euo pipefail
# Building and testing the library, hrctl and the benchmarks.
# groff, man: runtime_cli_man; xfsprogs: snapshot_reflink_xfs; resource-agents: ocf_tester.
hr_base_packages=(cmake g++ make pkg-config python3 libexpected-dev doctest-dev libboost-dev
  libbenchmark-dev groff-base man-db xfsprogs resource-agents)
# The firmware tests: the Arm cross toolchain and QEMU (under a minute to install).
hr_firmware_packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-dev
  qemu-system-arm)

hr_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "hotrestart: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  hr_install "${hr_base_packages[@]}" "$@"
fi
