#!/usr/bin/env bash
# A live check of the OCF agent ocf:hotrestart:hrctl (tools/ocf/hrctl) under a real Pacemaker
# (2.1) + Corosync (3.1), one node, booted in a systemd-nspawn container (docs/cluster.md).
#
# Usage: HR_SOURCE=... HR_HRCTL=... HR_MEMBER=... [HR_PCMK_CRM=1] pacemaker.sh [control]
#   HR_PCMK_CRM=1: the resource is created with crmsh (`crm configure primitive`, the form
#   docs/cluster.md gives; package crmsh), else as CIB XML with cibadmin.
#   control: the negative control: the same run with an agent whose give-up mapping is removed
#   (its monitor says OCF_SUCCESS after a give-up); step 3 must then see the resource still
#   Started with no fail count, which the run reports as the control caught.
# Needs root, systemd-nspawn, and the packages pacemaker, corosync, resource-agents on the host
# (the container runs the host's /usr). Exit 77: skipped (not root, a package missing), unless
# HR_REQUIRE_PACEMAKER=1 (.ci/jobs/57-pacemaker.sh): then a failure.
#
# What it asserts, each from Pacemaker's own view (crm_resource, crm_failcount, crm_mon):
#   1. the agent starts the resource: Pacemaker says it runs on the node;
#   2. a member crash (SIGSEGV) is handled by hrctl: the group restarts (hrctl's counter goes
#      up), the resource stays started and its fail count stays 0 across several monitors;
#   3. a group that keeps crashing until hrctl gives up on it makes the monitor fail: with
#      migration-threshold=1 on one node the resource ends Stopped with a fail count of 1 or
#      more, a failed monitor recorded, and no supervisor left on the bank.
#
# The container: --volatile=yes (a tmpfs root, the host's /usr read-only) with the host's user
# database bound (the hacluster user), /etc/alternatives (awk is an alternative), a corosync.conf
# of one node on 127.0.0.1, and a resource.d holding only the agent bound over
# /usr/lib/ocf/resource.d (a new directory cannot be made in the read-only /usr). /var starts
# empty: the directories Pacemaker needs are made before it starts. --private-network: only lo.
set -euo pipefail
: "${HR_SOURCE:?HR_SOURCE: the source tree}"
: "${HR_HRCTL:?HR_HRCTL: the hrctl to run}" "${HR_MEMBER:?HR_MEMBER: tests/runtime hr_member}"

# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2119  # (no extra file to require)
pcmk_require

dir=$(mktemp -d /tmp/hr-pacemaker.XXXXXX)
chmod 755 "$dir"
NSPAWN_PID="" C="" OK=0
sd() { nsenter -t "$C" -a "$@"; }
cleanup() {
  local rc=$? i
  if [ -n "$C" ] && kill -0 "$C" 2>/dev/null; then
    if [ "$OK" != 1 ]; then
      echo "== crm_mon (on failure)" >&2
      sd crm_mon -1 --failcounts >&2 2>&1 || true
      echo "== the agent's log and hrctl's (on failure)" >&2
      sd cat /run/hr-test/hrctl.log >&2 2>/dev/null || true
      sd journalctl --no-pager -n 80 -u pacemaker >&2 || true
    fi
    # Stop Pacemaker first (it stops the resource with the agent), then the container.
    timeout 60 nsenter -t "$C" -a systemctl stop pacemaker >/dev/null 2>&1 || true
    sd systemctl poweroff >/dev/null 2>&1 || true
  fi
  if [ -n "$NSPAWN_PID" ]; then
    for i in $(seq 150); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$NSPAWN_PID" 2>/dev/null && kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT

# The agent, alone in a resource.d of its own; corosync.conf: one node, node1, on 127.0.0.1.
agent_dir "$dir"
control=0
if [ "${1:-}" = control ]; then
  control=1
  # shellcheck disable=SC2016
  sed -i 's/if \[ "\$GAVE" -gt 0 \]; then/if false; then/' "$dir/resource.d/hotrestart/hrctl"
  ! cmp -s "$HR_SOURCE/tools/ocf/hrctl" "$dir/resource.d/hotrestart/hrctl" || fail "the fault was not planted"
  note "negative control: the agent's give-up mapping removed"
fi
corosync_conf "$dir/corosync/corosync.conf" hrtest "" "	node {
		name: node1
		nodeid: 1
		ring0_addr: 127.0.0.1
	}
"

t0=$(date +%s)
node_binds "$dir"
systemd-nspawn -D / --volatile=yes --private-network --register=no --keep-unit -b --machine=hrnode1 \
  --console=pipe "${binds[@]}" </dev/null >"$dir/nspawn.log" 2>&1 &
NSPAWN_PID=$!
C=$(container_systemd "$NSPAWN_PID" "$dir/nspawn.log")
note "container up ($(($(date +%s) - t0)) s): systemd pid $C on the host"

# /var is empty: what Pacemaker's package would have made, and a first CIB (one node, so no
# quorum to wait for). Then corosync and pacemaker.
pacemaker_state "$C" '<nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="ignore"/>'
sd systemctl start corosync pacemaker
until_true 90 "a DC elected" sh -c "nsenter -t $C -a crm_mon -1 | grep -q 'partition with quorum'"
note "Pacemaker up ($(($(date +%s) - t0)) s): $(sd crm_mon -1 | grep 'Current DC')"

# The resource: hrctl's configuration of groups web and flaky (lib.sh, web_conf).
web_conf /dev/shm/hr-pcmk/web.bank | sd sh -c 'cat >/run/hr-test/web.conf'
if [ "${HR_PCMK_CRM:-0}" = 1 ]; then
  sd crm configure primitive hr ocf:hotrestart:hrctl \
    params config=/run/hr-test/web.conf hrctl="$HR_HRCTL" logfile=/run/hr-test/hrctl.log \
    op start timeout=90s op stop timeout=60s op monitor interval=2s timeout=30s \
    op monitor interval=30s timeout=60s OCF_CHECK_LEVEL=10 \
    meta migration-threshold=1
else
sd cibadmin -C -o resources -X "<primitive id=\"hr\" class=\"ocf\" provider=\"hotrestart\" type=\"hrctl\">
  <instance_attributes id=\"hr-ia\">
    <nvpair id=\"hr-config\" name=\"config\" value=\"/run/hr-test/web.conf\"/>
    <nvpair id=\"hr-hrctl\" name=\"hrctl\" value=\"$HR_HRCTL\"/>
    <nvpair id=\"hr-log\" name=\"logfile\" value=\"/run/hr-test/hrctl.log\"/>
  </instance_attributes>
  <meta_attributes id=\"hr-meta\">
    <nvpair id=\"hr-mt\" name=\"migration-threshold\" value=\"1\"/>
  </meta_attributes>
  <operations>
    <op id=\"hr-monitor\" name=\"monitor\" interval=\"2s\" timeout=\"20s\"/>
    <op id=\"hr-start\" name=\"start\" interval=\"0\" timeout=\"60s\"/>
    <op id=\"hr-stop\" name=\"stop\" interval=\"0\" timeout=\"60s\"/>
  </operations>
</primitive>"
fi
note "resource: $(sd cibadmin -Q -o resources | tr -s ' \n' ' ')"

# Pacemaker's own view of the resource.
# (crm_resource --locate names the node while the start is still in flight: crm_mon tells.)
running() { sd crm_mon -1 2>/dev/null | grep -Eq 'hr[[:space:]]+\(ocf:hotrestart:hrctl\):[[:space:]]+Started node1'; }
failcount() { sd crm_failcount --query -r hr -N node1 2>/dev/null | sed -n 's/.*value=\([^ ]*\).*/\1/p'; }
status() { sd "$HR_HRCTL" status --bank /dev/shm/hr-pcmk/web.bank --json; }
field() { status | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
web='[g for g in d["groups"] if g["name"]=="web"][0]'

# 1. started by the agent.
until_true 60 "crm_mon: hr Started on node1" running
[ "$(failcount)" = 0 ] || fail "fail count $(failcount) after the start"
note "1. started ($(($(date +%s) - t0)) s): $(sd crm_mon -1 | grep 'ocf:hotrestart:hrctl' | tr -s ' \t' ' ')"

# 2. a member crash: hrctl restarts the group; Pacemaker's fail count stays 0.
old=$(field "${web}[\"members\"][0][\"pid\"]")
sd kill -SEGV "$old"
for _ in $(seq 150); do [ "$(field "${web}[\"restarts\"]")" = 1 ] && break; sleep 0.2; done
[ "$(field "${web}[\"restarts\"]")" = 1 ] || fail "hrctl did not restart group web after the crash"
[ "$(field "${web}[\"members\"][0][\"pid\"]")" != "$old" ] || fail "the crashed member was not restarted"
sleep 7 # three monitor intervals (2 s) at least: each must pass
running || fail "the resource is not running after a member crash hrctl handled"
[ "$(failcount)" = 0 ] || fail "fail count $(failcount) after a crash hrctl handled (expected 0)"
sd crm_mon -1 --failcounts | grep -q 'Failed Resource Actions' && fail "crm_mon lists a failed action"
note "2. member crash: hrctl restarts=$(field "${web}[\"restarts\"]"), Pacemaker fail count $(failcount), still Started"

# 3. give-up: flaky crashes until hrctl gives up; the monitor fails; migration-threshold=1 on a
#    single node: the resource is stopped and stays Stopped with its fail count.
sd touch /run/hr-test/crash
if [ $control = 1 ]; then
  # The give-up happens (hrctl's view); Pacemaker is never told: still Started, fail count 0.
  for _ in $(seq 300); do
    [ "$(field '[g["hold"] for g in d["groups"] if g["name"]=="flaky"][0]')" = gave_up ] && break
    sleep 0.2
  done
  [ "$(field '[g["hold"] for g in d["groups"] if g["name"]=="flaky"][0]')" = gave_up ] ||
    fail "control: hrctl did not give up on flaky"
  sleep 10 # five monitor intervals
  if running && [ "$(failcount)" = 0 ]; then
    note "control caught: after the give-up the planted agent leaves hr Started, fail count 0"
    OK=1
    exit 0
  fi
  fail "control: Pacemaker reacted to a give-up the planted agent does not report"
fi
until_true 120 "Pacemaker stops hr after the give-up" sh -c "nsenter -t $C -a crm_resource --locate -r hr 2>&1 | grep -q 'NOT running'"
until_true 60 "a fail count for hr" sh -c "nsenter -t $C -a crm_failcount --query -r hr -N node1 | grep -Eq 'value=([1-9]|INFINITY)'"
fc=$(failcount)
sd crm_mon -1 --failcounts >"$dir/crm_mon"
sd crm_mon -1 --inactive | grep -Eq 'hr[[:space:]]+\(ocf:hotrestart:hrctl\):[[:space:]]+Stopped' ||
  fail "crm_mon --inactive does not show hr Stopped: $(sd crm_mon -1 --inactive)"
grep -q "hr 2s-interval monitor on node1 returned 'error' (hrctl gave up on group(s) flaky" "$dir/crm_mon" ||
  fail "crm_mon records no failed monitor naming the give-up: $(cat "$dir/crm_mon")"
grep -q "hr: migration-threshold=1 fail-count=[1-9]" "$dir/crm_mon" ||
  fail "crm_mon --failcounts shows no fail count: $(cat "$dir/crm_mon")"
[ "$(field 'd["supervisor"]')" = 0 ] || fail "a supervisor still serves the bank after the stop"
[ "$(field '[g["hold"] for g in d["groups"] if g["name"]=="flaky"][0]')" = gave_up ] ||
  fail "the group flaky is not held as given up"
sleep 5
running && fail "Pacemaker started hr again on node1 (migration-threshold=1)"
note "3. give-up: Pacemaker fail count $fc, resource Stopped; crm_mon:"
grep -E 'fail-count|returned' "$dir/crm_mon" | sed 's/^ */   /'
OK=1
note "passed in $(($(date +%s) - t0)) s"
