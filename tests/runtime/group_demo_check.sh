#!/usr/bin/env bash
# Runs examples/group_demo/run.sh and checks the lines that tell its story.
# Usage: group_demo_check.sh RUN_SH HRCTL GROUP_DEMO
set -uo pipefail
out=$(timeout 120 bash "$1" "$2" "$3" 2>&1)
rc=$?
fail() { echo "FAIL [group_demo]: $*"; echo "--- output"; echo "$out"; exit 1; }
[ $rc -eq 0 ] || fail "run.sh exited $rc"
expect() { grep -q -- "$1" <<<"$out" || fail "missing: $1"; }
expect "group 0: started worker (pid [0-9]*) \[indirect\]"
expect "group 0 restarted (restart counter 1/3, restarts 1)"
expect "coordinator (pid [0-9]*): run 2 (restarted)"
# The first status shows the counter at 1, the second at 0: it decayed.
[ "$(grep -o 'restart counter [0-9]/3$' <<<"$out" | head -2 | tr '\n' ' ')" = "restart counter 1/3 restart counter 0/3 " ] ||
  fail "status snapshots: expected counter 1 then 0"
expect "group 0 restarted (restart counter 2/3, restarts 3)"
expect "site restart (restart counter reached max badness: group 0)"
expect "coordinator (pid [0-9]*): run 5 (restarted)"
expect "worker (pid [0-9]*): started again, working, then exiting cleanly"
expect "group 0 terminated"
expect "hrctl run exited 0: the group terminated cleanly"
echo "PASS [group_demo]"
