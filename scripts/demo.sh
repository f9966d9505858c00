#!/usr/bin/env bash
# The hot restart demo on the default mmap-file backend. Until the hrctl supervisor exists,
# this script plays its part: it runs the program, sees it crash, and runs it again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
hr_install "${hr_base_packages[@]}"
cmake --preset default >/dev/null
cmake --build --preset default --target hello_pmm >/dev/null
bank="${HOTRESTART_BANK:-/dev/shm/hotrestart-demo-$$.bank}"
rm -f "$bank"
trap 'rm -f "$bank"' EXIT
prog=build/default/examples/hello/hello_pmm
echo "demo: bank $bank"
run=1
while :; do
  echo "demo: run $run of $prog"
  set +e; "$prog" "$bank"; rc=$?; set -e
  if [ $rc -eq 0 ]; then echo "demo: exited cleanly"; break; fi
  if [ $rc -gt 128 ]; then
    echo "demo: crashed with signal $((rc - 128)) ($(kill -l $((rc - 128)))); restarting from the bank"
  else
    echo "demo: failed with exit status $rc"; exit 1
  fi
  run=$((run + 1))
  [ $run -le 3 ] || { echo "demo: still crashing after 3 runs"; exit 1; }
done
