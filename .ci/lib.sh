#!/usr/bin/env bash
# Sourced by every CI job (`. "$(dirname "$0")/../lib.sh"`): strict mode, the repository's
# root as the working directory, the job's start time in $start, and ci_install PACKAGES...,
# which installs Debian packages as root or through sudo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive

ci_install() {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get install -y -qq "$@" >/dev/null
  fi
}
