#!/usr/bin/env bash
# The OCF resource agent ocf:hotrestart:hrctl (tools/ocf/hrctl, docs/cluster.md): the CTest
# label ocf with resource-agents installed, so that ocf-tester runs and must pass
# (HR_REQUIRE_OCF=1: its skip fails the job). The agent-level tests also run in the main
# suite (they need no cluster stack). Reuses build/default from the main suite when it is
# there. Budget: under a minute (the package install, then 4 tests of about 10 s).
. "$(dirname "$0")/../lib.sh"
ci_install resource-agents libxml2-utils python3 cmake g++ make libexpected-dev doctest-dev libboost-dev

b=build/default
[ -f "$b/CMakeCache.txt" ] || cmake --preset default >/dev/null
cmake --build "$b" -j2 --target hrctl hr_member
n=$(ctest --test-dir "$b" -N -L '^ocf$' | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
[ "$n" -ge 4 ] || { echo "ocf job: only $n ocf tests registered" >&2; exit 1; }
HR_REQUIRE_OCF=1 ctest --test-dir "$b" -L '^ocf$' --output-on-failure
echo "ocf job: $n tests passed in $(( $(date +%s) - start ))s"
