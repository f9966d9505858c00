#!/usr/bin/env bash
# The group demo: a direct coordinator and an indirect worker in restart group 0, a restart,
# the restart counter decaying (interval 1 s), then crashes in a row reaching max badness (3):
# a site restart, and finally a clean termination.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset default >/dev/null
cmake --build --preset default --target hrctl group_demo >/dev/null
hrctl=build/default/tools/hrctl/hrctl
bank=/dev/shm/hotrestart-group-demo-$$.bank
rm -f "$bank"
trap 'rm -f "$bank"' EXIT
"$hrctl" run --bank "$bank" --bank-size 16M --interval 1000 --max-badness 3 \
  -- build/default/examples/group_demo/group_demo 2>&1 &
p=$!
sleep 1.2; echo "--- status while run 2 sleeps (counter 1):"; "$hrctl" status --bank "$bank"
sleep 1.5; echo "--- status 1.5 s later (the counter decayed before run 2 crashed, then crashes in a row hit max badness: site restart):"; "$hrctl" status --bank "$bank"
wait $p && echo "--- hrctl run exited 0: the group terminated cleanly"
