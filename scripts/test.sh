#!/usr/bin/env bash
# Builds hotrestart and runs the whole test suite (CTest). Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
hr_install "${hr_base_packages[@]}"
cmake --workflow --preset default
