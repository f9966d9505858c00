#!/usr/bin/env bash
# The OCF agent ocf:hotrestart:hrctl under a live Pacemaker 2.1 + Corosync 3.1, one node in a
# systemd-nspawn container (tests/cluster/pacemaker.sh, docs/cluster.md "What was run"): the
# agent starts the resource; a member crash is handled by hrctl with Pacemaker's fail count 0;
# a give-up makes the monitor fail and, with migration-threshold=1, Pacemaker stops the
# resource (Stopped, fail count 1); the resource made with crmsh. Then the negative control: an agent whose give-up mapping
# is removed leaves the resource Started with fail count 0, and the run says so. Then two
# nodes (tests/cluster/pacemaker_2nodes.sh): the give-up moves the resource to the other node.
# Needs root (the container). HR_REQUIRE_PACEMAKER=1: a skip fails the job. Reuses build/default
# from the main suite when it is there. Budget: 4 minutes; measured here: 80 s for the three
# runs (about 25 s each, most of it the containers' start and stop), plus the packages'
# install when they are not there yet.
. "$(dirname "$0")/../lib.sh"
ci_install systemd-container pacemaker corosync resource-agents crmsh python3 cmake g++ make \
  libexpected-dev doctest-dev libboost-dev

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
b=build/default
[ -f "$b/CMakeCache.txt" ] || cmake --preset default >/dev/null
cmake --build "$b" -j2 --target hrctl hr_member
for run in check control; do
  # The check creates the resource with crmsh (docs/cluster.md's command), the control with
  # cibadmin (Pacemaker's own CLI): both ways are run.
  args=() crm=1
  [ $run = control ] && args=(control) crm=0
  "${sudo[@]}" env HR_REQUIRE_PACEMAKER=1 HR_PCMK_CRM=$crm HR_SOURCE="$PWD" HR_HRCTL="$PWD/$b/tools/hrctl/hrctl" \
    HR_MEMBER="$PWD/$b/tests/runtime/hr_member" \
    timeout 200 bash tests/cluster/pacemaker.sh "${args[@]}"
done
# Two nodes (two containers joined by a veth pair in network namespaces of their own, one
# bank on a directory both see): a give-up on the first node moves the resource to the second,
# which resumes the groups from the bank the first left.
"${sudo[@]}" env HR_REQUIRE_PACEMAKER=1 HR_SOURCE="$PWD" HR_HRCTL="$PWD/$b/tools/hrctl/hrctl" \
  HR_MEMBER="$PWD/$b/tests/runtime/hr_member" timeout 200 bash tests/cluster/pacemaker_2nodes.sh
echo "pacemaker job: passed in $(( $(date +%s) - start ))s"
