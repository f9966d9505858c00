#!/usr/bin/env bash
# Kill -9 torture and the crash harnesses' negative controls. The torture harness (built with
# optimisation) runs 4 worker processes on one bank while the parent SIGKILLs one at a random
# instant (at least 2,000 kills), checking the whole bank after every kill (consistency, space against
# the allocator's census, every byte, and every block the workers recorded as committed); then
# the crash-point enumeration (plain and torn stores), the builds with recovery switched off,
# which must be caught, and a planted lost block, which must be reported as lost. Budget:
# about 3 minutes on 2 loaded cores (171-199 s measured).
. "$(dirname "$0")/../lib.sh"
ci_install cmake g++ make doctest-dev libexpected-dev libboost-dev libbenchmark-dev
KILLS=${TORTURE_KILLS:-2000}

# The main suite's build (the default preset: RelWithDebInfo, warnings as errors) when .ci/run
# made it; the job builds what it needs either way.
cmake --preset default >/dev/null
cmake --build build/default -j2 --target hr_torture hr_torture_norecovery test_crash bank_child \
  test_crash_norecovery bank_child_norecovery test_crash_nomarker bank_child_nomarker
t=build/default/tests
bank=${TMPDIR:-/tmp}/hr-torture-ci.bank
[ -w /dev/shm ] && bank=/dev/shm/hr-torture-ci.bank

# 1. Torture: must survive every kill.
"$t/torture/hr_torture" run "$bank" --workers 4 --kills "$KILLS" --seed "$(date +%s)"

# 2. Crash-point enumeration, plain SIGKILLs and torn stores, and of the conversion from bank
#    format 2 (the committed fixture).
"$t/test_crash" | grep -E 'crash points|Status'

# 3. Negative controls: recovery switched off must be caught by both harnesses (torture: as
#    corruption or a lost block, whichever the check meets first; it stops at the first), and a
#    block freed behind its writer's back must be reported lost.
"$t/torture/hr_torture_norecovery" run "$bank.neg" --workers 4 --kills 10000 --seed 13 --expect-failure corrupt,lost
"$t/torture/hr_torture" run "$bank.lost" --workers 4 --kills 300 --seed 17 --plant-loss --expect-failure lost
if "$t/torture/test_crash_norecovery" --test-case='SIGKILL?at?every?store*' --abort-after=3 >build/default/torture-neg.log 2>&1; then
  echo "torture job: crash enumeration did NOT catch the build without recovery" >&2
  exit 1
fi
grep -q 'corrupt' build/default/torture-neg.log || { tail -30 build/default/torture-neg.log; exit 1; }
echo "torture job: negative control detected by the crash enumeration: $(grep -m1 -Eo 'corrupt: [^(]*' build/default/torture-neg.log)"
# The conversion converted without the state word that brackets it must be caught.
if "$t/torture/test_crash_nomarker" --test-case='conversion*' --abort-after=3 >build/default/convert-neg.log 2>&1; then
  echo "torture job: the conversion's crash enumeration did NOT catch the conversion without its state word" >&2
  exit 1
fi
grep -q 'FAILURE' build/default/convert-neg.log || { tail -30 build/default/convert-neg.log; exit 1; }
echo "torture job: negative control detected by the conversion's crash enumeration"
echo "torture job: passed in $(( $(date +%s) - start ))s"
