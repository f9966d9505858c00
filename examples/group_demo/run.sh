#!/usr/bin/env bash
# The group demo: a direct coordinator and an indirect worker in restart group 0, a restart,
# the restart counter decaying (interval 1.5 s), then crashes in a row reaching max badness
# (3): a site restart, and finally a clean termination. The program and this script meet
# through files, so the story is the same on a slow machine.
# Usage: run.sh [HRCTL GROUP_DEMO [HRCTL_RUN_OPTION...]]   (without arguments: builds both with
#        the default preset; options such as --standby go to hrctl run)
set -euo pipefail
if [ $# -ge 2 ]; then
  hrctl=$1 demo=$2
  shift 2
else
  cd "$(dirname "$0")/../.."
  cmake --preset default >/dev/null
  cmake --build --preset default --target hrctl group_demo >/dev/null
  hrctl=build/default/tools/hrctl/hrctl demo=build/default/examples/group_demo/group_demo
fi
dir=$(mktemp -d /tmp/hotrestart-group-demo.XXXXXX)
bank=/dev/shm/hotrestart-group-demo-$$.bank
trap 'rm -rf "$dir" "$bank"' EXIT
wait_file() { for ((i = 0; i < 600; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done; echo "timed out waiting for $1"; exit 1; }
counter() { "$hrctl" status --bank "$bank" | sed -n 's/.*restart counter \([0-9]*\)\/.*/\1/p'; }

"$hrctl" run --bank "$bank" --bank-size 16M --interval 1500 --max-badness 3 "$@" -- "$demo" "$dir" 2>&1 &
p=$!
wait_file "$dir/run2"
echo "--- status while run 2 waits (restart counter 1 after the first crash):"
"$hrctl" status --bank "$bank"
for ((i = 0; i < 600 && $(counter) != 0; i++)); do sleep 0.1; done
echo "--- status after an interval without a crash (the counter decayed to 0):"
"$hrctl" status --bank "$bank"
echo "--- now three crashes in a row: the counter reaches max badness 3, a site restart"
touch "$dir/decayed"
if wait $p; then
  echo "--- hrctl run exited 0: the group terminated cleanly"
else
  echo "--- hrctl run exited $?"
  exit 1
fi
