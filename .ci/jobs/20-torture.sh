#!/usr/bin/env bash
# Kill -9 torture and the crash harnesses' negative controls. A Release build of the torture
# harness runs 4 worker processes on one bank while the parent SIGKILLs one at a random instant
# (at least 2,000 kills), checking the whole bank after every kill (consistency, space against
# the allocator's census, every byte, and every block the workers recorded as committed); then
# the crash-point enumeration (plain and torn stores), the builds with recovery switched off,
# which must be caught, and a planted lost block, which must be reported as lost. Budget:
# about 3 minutes on 2 loaded cores (171-199 s measured).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq cmake g++ make doctest-dev libexpected-dev >/dev/null
KILLS=${TORTURE_KILLS:-2000}

cmake -S . -B build/torture -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wconversion -Werror" \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF -DHOTRESTART_BUILD_EXAMPLES=OFF -DHOTRESTART_BUILD_TOOLS=OFF >/dev/null
cmake --build build/torture -j2 --target hr_torture hr_torture_norecovery test_crash bank_child \
  test_crash_norecovery bank_child_norecovery
t=build/torture/tests
bank=${TMPDIR:-/tmp}/hr-torture-ci.bank
[ -w /dev/shm ] && bank=/dev/shm/hr-torture-ci.bank

# 1. Torture: must survive every kill.
"$t/torture/hr_torture" run "$bank" --workers 4 --kills "$KILLS" --seed "$(date +%s)"

# 2. Crash-point enumeration, plain SIGKILLs and torn stores.
"$t/test_crash" | grep -E 'crash points enumerated|Status'

# 3. Negative controls: recovery switched off must be caught by both harnesses (torture: as
#    corruption, no other failure counts), and a block freed behind its writer's back must be
#    reported lost.
"$t/torture/hr_torture_norecovery" run "$bank.neg" --workers 4 --kills 3000 --seed 13 --expect-failure corrupt
"$t/torture/hr_torture" run "$bank.lost" --workers 4 --kills 300 --seed 17 --plant-loss --expect-failure lost
if "$t/torture/test_crash_norecovery" --test-case='SIGKILL?at?every?store*' --abort-after=3 >build/torture/neg.log 2>&1; then
  echo "torture job: crash enumeration did NOT catch the build without recovery" >&2
  exit 1
fi
grep -q 'corrupt' build/torture/neg.log || { tail -30 build/torture/neg.log; exit 1; }
echo "torture job: negative control detected by the crash enumeration: $(grep -m1 -Eo 'corrupt: [^(]*' build/torture/neg.log)"
echo "torture job: passed in $(( $(date +%s) - start ))s"
