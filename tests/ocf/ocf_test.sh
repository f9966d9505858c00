#!/usr/bin/env bash
# The OCF resource agent ocf:hotrestart:hrctl (tools/ocf/hrctl) on real processes: a real bank
# under /dev/shm/hr-e2e-ocf-*, a real hrctl serve, real members (tests/runtime's hr_member),
# real signals. No cluster stack needed: the agent is run as Pacemaker runs it (an action as
# its argument, the parameters as OCF_RESKEY_*), with resource-agents' ocf-shellfuncs when
# installed, else with the agent's own fallback.
# Usage: ocf_test.sh CASE AGENT HRCTL MEMBER
#   tester    ocf-tester (resource-agents) passes on the agent (exit 77 without it, unless
#             HR_REQUIRE_OCF=1: then a failure)
#   agent     each return code the agent promises, on a real bank (docs/cluster.md)
#   agent_fallback  the same with ocf-shellfuncs out of reach (the agent's own fallback)
#   negative  the negative controls: planted copies of the agent that the checks of `agent`
#             must catch (give-up not mapped; a refused bank removed and created again; a
#             lease, hrctl exit 16, taken as final without waiting for it to expire)
# No wall-clock thresholds: only generous timeouts that catch a hang.
set -euo pipefail
case_name=$1 agent=$2 hrctl=$3 member=$4
dir=$(mktemp -d "/dev/shm/hr-e2e-ocf-$case_name.XXXXXX")
chmod 700 "$dir"
bank=$dir/web.bank
cleanup() {
  # Whatever a failed check left running on this test's bank: its supervisor, its members.
  local pids
  pids=$("$hrctl" status --bank "$bank" --json 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys
d=json.load(sys.stdin)
print(d["supervisor"] or "", *[m["pid"] for g in d["groups"] for m in g["members"] if m["alive"]])' 2>/dev/null) || true
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  # And any process started with this test's directory in its arguments (a supervisor of a
  # configuration here, members waiting for a file here), twice: a member restarted meanwhile.
  pkill -9 -f -- "$dir/" 2>/dev/null || true
  pkill -9 -f -- "$dir/" 2>/dev/null || true
  rm -rf "$dir" "${agent_dir:-}"
}
trap cleanup EXIT
fail() {
  echo "FAIL [$case_name]: $*"
  echo "--- agent log"; cat "$dir/log" 2>/dev/null || true
  echo "--- agent stderr"; cat "$dir/agent.err" 2>/dev/null || true
  exit 1
}
note() { echo "ocf [$case_name]: $*"; }

# The OCF return codes (the OCF specification; resource-agents' ocf-shellfuncs).
OCF_SUCCESS=0 OCF_ERR_GENERIC=1 OCF_ERR_UNIMPLEMENTED=3 OCF_ERR_INSTALLED=5
OCF_ERR_CONFIGURED=6 OCF_NOT_RUNNING=7

export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=hr_ocf_$case_name
export OCF_RESKEY_config=$dir/web.conf OCF_RESKEY_hrctl=$hrctl OCF_RESKEY_logfile=$dir/log
if [ "$case_name" = agent_fallback ]; then
  export OCF_FUNCTIONS_DIR=$dir/no-ocf-functions
elif [ -r "$OCF_ROOT/lib/heartbeat/ocf-shellfuncs" ]; then
  echo "ocf [$case_name]: with $OCF_ROOT/lib/heartbeat/ocf-shellfuncs"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"

# The configuration the resource runs: group web (a member that runs until told), group flaky
# (a member that crashes on every run once $dir/crash exists: hrctl gives up on it after one
# site restart). Small policy numbers so the give-up comes after a few runs.
cat >"$dir/web.conf" <<EOF
bank = $bank
bank-size = 16M
max-badness = 3
max-site-restarts = 1
interval = 60000

[group web]
run = $member --wait $dir/never

[group flaky]
run = $member --crash-always segv --wait $dir/crash
EOF

# ra [AGENT] ACTION: runs the agent (timeout: a hang fails), prints nothing, returns its code.
ra_with() {
  local a=$1 rc=0
  shift
  timeout 120 "$a" "$@" 2>>"$dir/agent.err" >"$dir/agent.out" || rc=$?
  [ "$rc" -ne 124 ] || fail "the agent's $* did not return within 120 s"
  return "$rc"
}
ra() { ra_with "$agent" "$@"; }
expect() {  # expect CODE WHY ACTION...
  local want=$1 why=$2 rc=0
  shift 2
  ra "$@" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$*: returned $rc, expected $want ($why)"
}
# One field of `hrctl status --json` (a Python expression over d, the parsed document).
field() {
  "$hrctl" status --bank "$bank" --json |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# until_field EXPR VALUE [SECONDS]: waits until field EXPR prints VALUE.
until_field() {
  local i v=
  for ((i = 0; i < ${3:-60} * 10; i++)); do
    v=$(field "$1" 2>/dev/null) || true
    [ "$v" = "$2" ] && return 0
    sleep 0.1
  done
  fail "timed out waiting for $1 = $2 (last: $v)"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
gone_within() {  # gone_within PID SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  return 1
}

# check_giveup AGENT: the group flaky crashes until hrctl gives up on it; the agent's monitor
# must then say OCF_ERR_GENERIC (so that migration-threshold moves or stops the resource).
# Returns 1 (with a message) when the agent says anything else.
check_giveup() {
  local a=$1 rc=0
  rm -f "$dir/crash"
  ra_with "$a" start || fail "start before the give-up: $?"
  ra_with "$a" monitor || fail "monitor before the give-up: $?"
  touch "$dir/crash"
  until_field '[g["hold"] for g in d["groups"] if g["name"]=="flaky"][0]' gave_up 120
  [ "$(field '[g["state"] for g in d["groups"] if g["name"]=="web"][0]')" = running ] ||
    fail "group web should run on after the give-up on flaky"
  ra_with "$a" monitor || rc=$?
  rm -f "$dir/crash"
  ra_with "$a" stop || fail "stop after the give-up: $?"
  if [ "$rc" -ne "$OCF_ERR_GENERIC" ]; then
    echo "give-up check: monitor returned $rc, expected $OCF_ERR_GENERIC"
    return 1
  fi
  # As Pacemaker recovers it (stop, start, here or on another node): the start resumes the
  # group given up on and returns only once it runs, so the first monitor succeeds.
  ra_with "$a" start || fail "start after the give-up: $?"
  [ "$(field '[g["hold"] for g in d["groups"] if g["name"]=="flaky"][0]')" = "" ] ||
    fail "start returned while flaky was still held as given up"
  ra_with "$a" monitor || fail "monitor right after the start that resumed flaky: $?"
  ra_with "$a" stop || fail "stop: $?"
  return 0
}

# check_refused AGENT: a bank hrctl refuses (its header overwritten; then a file that was never
# a bank) makes start fail with OCF_ERR_CONFIGURED or OCF_ERR_INSTALLED, leaves the file as it
# was and starts no supervisor. Returns 1 (with a message) otherwise.
check_refused() {
  local a=$1 before rc what
  rm -f "$bank"
  ra_with "$a" start || fail "start (to make the bank): $?"
  ra_with "$a" stop || fail "stop (to make the bank): $?"
  for what in header foreign; do
    if [ $what = header ]; then
      printf 'NOTABANK' | dd of="$bank" bs=1 seek=0 conv=notrunc status=none
    else
      rm -f "$bank"
      head -c 65536 /dev/urandom >"$bank"
      chmod 600 "$bank"
    fi
    before=$(sha "$bank")
    rc=0
    ra_with "$a" start || rc=$?
    if [ "$rc" -ne "$OCF_ERR_CONFIGURED" ] && [ "$rc" -ne "$OCF_ERR_INSTALLED" ]; then
      echo "refused check ($what): start returned $rc, expected $OCF_ERR_CONFIGURED or $OCF_ERR_INSTALLED"
      return 1
    fi
    if [ ! -f "$bank" ] || [ "$(sha "$bank")" != "$before" ]; then
      echo "refused check ($what): the refused bank was changed or replaced"
      return 1
    fi
    pgrep -f "$hrctl serve --config $dir/web.conf" >/dev/null &&
      { echo "refused check ($what): a supervisor runs"; return 1; }
    # A probe on this node says "not running"; the stop Pacemaker may send succeeds.
    OCF_RESKEY_CRM_meta_interval=0 ra_with "$a" monitor || rc=$?
    [ "$rc" -eq "$OCF_NOT_RUNNING" ] || { echo "refused check ($what): probe returned $rc"; return 1; }
    ra_with "$a" stop || { echo "refused check ($what): stop failed"; return 1; }
    [ "$(sha "$bank")" = "$before" ] || { echo "refused check ($what): stop changed the bank"; return 1; }
  done
  rm -f "$bank"
  return 0
}

# check_lease AGENT: another node's live lease on the bank (hrctl exit 16, docs/hrctl.md "One
# node at a time"), played by a wrapper whose `serve` exits 16 its first N times. A lease that
# expires within the start's time (N = 2: a failover after the lost node was fenced) must be
# waited out: the start succeeds. One live past the start's deadline is a refusal:
# OCF_ERR_INSTALLED (another node may run the resource), the bank unchanged, no supervisor.
check_lease() {
  local a=$1 rc=0 before
  cat >"$dir/hrctl-lease" <<EOF
#!/bin/sh
if [ "\$1" = serve ]; then
  n=\$(cat "$dir/lease-count" 2>/dev/null || echo 0)
  if [ "\$n" -lt "\$(cat "$dir/lease-refusals")" ]; then
    echo \$((n + 1)) >"$dir/lease-count"
    echo "hrctl: another node holds the bank's lease (test wrapper)" >&2
    exit 16
  fi
fi
exec "$hrctl" "\$@"
EOF
  chmod 755 "$dir/hrctl-lease"
  rm -f "$bank" "$dir/lease-count"
  echo 2 >"$dir/lease-refusals"
  OCF_RESKEY_hrctl=$dir/hrctl-lease ra_with "$a" start || rc=$?
  if [ "$rc" -ne 0 ] || [ "$(cat "$dir/lease-count")" != 2 ]; then
    echo "lease check: a lease that expires during the start: start returned $rc after $(cat "$dir/lease-count" 2>/dev/null) refusal(s), expected 0 after 2"
    ra_with "$a" stop || true
    return 1
  fi
  ra_with "$a" stop || fail "stop after the lease check: $?"
  before=$(sha "$bank")
  rm -f "$dir/lease-count"
  echo 1000000 >"$dir/lease-refusals"
  rc=0
  OCF_RESKEY_CRM_meta_timeout=8000 OCF_RESKEY_hrctl=$dir/hrctl-lease ra_with "$a" start || rc=$?
  if [ "$rc" -ne "$OCF_ERR_INSTALLED" ]; then
    echo "lease check: a lease live past the start's deadline: start returned $rc, expected $OCF_ERR_INSTALLED"
    return 1
  fi
  [ "$(sha "$bank")" = "$before" ] || { echo "lease check: the bank was changed"; return 1; }
  [ "$(field 'd["supervisor"]')" = 0 ] || { echo "lease check: a supervisor serves the bank"; return 1; }
  rm -f "$bank"
  return 0
}

case $case_name in
tester)
  if [ ! -x /usr/sbin/ocf-tester ]; then
    [ "${HR_REQUIRE_OCF:-0}" = 1 ] && fail "ocf-tester is missing (package resource-agents); HR_REQUIRE_OCF=1"
    echo "SKIP: no /usr/sbin/ocf-tester (package resource-agents)"
    exit 77
  fi
  # ocf-tester checks the agent's mode (0755) when run as root, by running it as nobody: a
  # copy of ours in a directory anyone may enter ($dir is 0700).
  agent_dir=$(mktemp -d /tmp/hr-ocf-agent.XXXXXX)
  chmod 755 "$agent_dir"
  install -m 0755 "$agent" "$agent_dir/hrctl"
  /usr/sbin/ocf-tester -v -n "$OCF_RESOURCE_INSTANCE" -o config="$dir/web.conf" -o hrctl="$hrctl" \
    -o logfile="$dir/log" "$agent_dir/hrctl" >"$dir/tester.out" 2>&1 || {
    cat "$dir/tester.out"
    fail "ocf-tester failed"
  }
  cat "$dir/tester.out"
  grep -q "passed all tests" "$dir/tester.out" || fail "ocf-tester did not say it passed"
  # It ran the resource for real: the bank exists and its groups ran.
  [ "$(field 'd["groups"][0]["members"][0]["runs"]')" -ge 1 ] || fail "no member ran"
  ;;
agent | agent_fallback)
  ra meta-data || fail "meta-data: $?"
  if command -v xmllint >/dev/null; then
    xmllint --noout "$dir/agent.out" || fail "meta-data is not well-formed XML"
    if [ -r /usr/share/resource-agents/ra-api-1.dtd ]; then
      (cd /usr/share/resource-agents && xmllint --noout --valid - <"$dir/agent.out") ||
        fail "meta-data does not follow ra-api-1.dtd"
    fi
  fi
  for p in config bank durable hrctl user options logfile; do
    grep -q "<parameter name=\"$p\"" "$dir/agent.out" || fail "meta-data lacks the parameter $p"
  done
  for a in start stop monitor validate-all meta-data; do
    grep -q "<action name=\"$a\"" "$dir/agent.out" || fail "meta-data lacks the action $a"
  done
  expect "$OCF_ERR_UNIMPLEMENTED" "an unknown action" frobnicate
  expect "$OCF_SUCCESS" "validate-all" validate-all
  OCF_RESKEY_config=$dir/missing.conf expect "$OCF_ERR_INSTALLED" "no configuration file" validate-all
  printf 'bogus-key = 1\n' >"$dir/bad.conf"
  OCF_RESKEY_config=$dir/bad.conf expect "$OCF_ERR_CONFIGURED" "a bad configuration file" validate-all
  OCF_RESKEY_durable=maybe expect "$OCF_ERR_CONFIGURED" "durable=maybe" validate-all
  OCF_RESKEY_durable=yes OCF_RESKEY_bank=$bank expect "$OCF_ERR_CONFIGURED" "durable bank on tmpfs" validate-all
  OCF_RESKEY_hrctl=$dir/no-hrctl expect "$OCF_ERR_INSTALLED" "no hrctl" validate-all
  OCF_RESKEY_hrctl=$dir/no-hrctl OCF_RESKEY_CRM_meta_interval=0 expect "$OCF_NOT_RUNNING" "probe without hrctl" monitor

  # Never started: not running, and stop succeeds. durable=yes does not create a missing bank.
  expect "$OCF_NOT_RUNNING" "no bank yet" monitor
  expect "$OCF_SUCCESS" "stop of a resource never started" stop
  OCF_RESKEY_durable=yes expect "$OCF_ERR_INSTALLED" "durable=yes, no bank" start
  [ ! -e "$bank" ] || fail "durable=yes: the start created a bank"

  # Start waits until the members run; a second start changes nothing.
  expect "$OCF_SUCCESS" "start" start
  sup=$(field 'd["supervisor"]')
  [ "$sup" -gt 0 ] || fail "no supervisor after start"
  [ "$(field '[m["state"] for g in d["groups"] for m in g["members"]]')" = "['running', 'running']" ] ||
    fail "start returned before both members ran"
  expect "$OCF_SUCCESS" "start of a running resource" start
  [ "$(field 'd["supervisor"]')" = "$sup" ] || fail "the second start replaced the supervisor"
  expect "$OCF_SUCCESS" "monitor of a healthy resource" monitor
  OCF_CHECK_LEVEL=10 expect "$OCF_SUCCESS" "monitor depth 10 (hrctl check)" monitor
  note "start, monitor (depths 0 and 10): ok"

  # A member crash is hrctl's business: the group restarts hot, the monitor stays at success.
  web='[g for g in d["groups"] if g["name"]=="web"][0]'
  old=$(field "${web}[\"members\"][0][\"pid\"]")
  kill -SEGV "$old"
  until_field "${web}[\"restarts\"]" 1
  until_field "${web}[\"members\"][0][\"runs\"]" 2
  until_field "${web}[\"members\"][0][\"alive\"]" True
  [ "$(field "${web}[\"members\"][0][\"pid\"]")" != "$old" ] || fail "the member was not restarted"
  expect "$OCF_SUCCESS" "monitor after a member crash handled by hrctl" monitor
  note "member crash: restarted by hrctl (restarts 1), monitor success"

  # The supervisor killed: its members run on; monitor fails; a start adopts them hot.
  member_pid=$(field "${web}[\"members\"][0][\"pid\"]")
  kill -9 "$sup"
  gone_within "$sup" 30 || fail "the supervisor did not end"
  expect "$OCF_ERR_GENERIC" "members without a supervisor" monitor
  expect "$OCF_SUCCESS" "start that adopts the members" start
  [ "$(field "${web}[\"members\"][0][\"pid\"]")" = "$member_pid" ] || fail "the start did not adopt the member"
  [ "$(field "${web}[\"members\"][0][\"runs\"]")" = 2 ] || fail "the adopted member was rerun"
  expect "$OCF_SUCCESS" "monitor after the adoption" monitor

  # Stop: graceful, idempotent; then not running.
  expect "$OCF_SUCCESS" "stop" stop
  gone_within "$member_pid" 30 || fail "a member runs after stop"
  expect "$OCF_NOT_RUNNING" "monitor after stop" monitor
  expect "$OCF_SUCCESS" "stop of a stopped resource" stop
  expect "$OCF_NOT_RUNNING" "monitor after the second stop" monitor
  # Started again: the held groups resume, no failure counted.
  expect "$OCF_SUCCESS" "start after stop" start
  [ "$(field "${web}[\"restarts\"]")" = 1 ] || fail "the resumed group counted a failure"
  # Stop with members left without a supervisor: they are adopted and stopped.
  sup=$(field 'd["supervisor"]')
  member_pid=$(field "${web}[\"members\"][0][\"pid\"]")
  kill -9 "$sup"
  gone_within "$sup" 30 || fail "the supervisor did not end"
  expect "$OCF_SUCCESS" "stop of members without a supervisor" stop
  gone_within "$member_pid" 30 || fail "a member left without its supervisor runs after stop"
  expect "$OCF_NOT_RUNNING" "monitor after that stop" monitor
  note "stop twice, monitor after stop, supervisor killed (adopt, stop): ok"

  check_giveup "$agent" || fail "give-up"
  note "give-up: monitor OCF_ERR_GENERIC"
  check_refused "$agent" || fail "refused bank"
  note "corrupt and foreign bank: start refused (OCF_ERR_CONFIGURED/INSTALLED), bank unchanged"
  check_lease "$agent" || fail "lease"
  note "another node's lease: waited out when it expires, OCF_ERR_INSTALLED when it does not"
  ;;
negative)
  # 1. The give-up mapping removed: the give-up check must fail.
  # shellcheck disable=SC2016
  sed 's/if \[ "\$GAVE" -gt 0 \]; then/if false; then/' "$agent" >"$dir/planted-giveup"
  chmod 755 "$dir/planted-giveup"
  ! cmp -s "$agent" "$dir/planted-giveup" || fail "the give-up fault was not planted"
  if check_giveup "$dir/planted-giveup"; then fail "the give-up check passed on an agent that ignores a give-up"; fi
  note "planted: give-up ignored -> caught"
  # 2. A refused bank removed and created again (what the agent must never do): caught.
  awk -v bank="$bank" '{ print }
    /^hrctl_start\(\) \{/ { print "\tread_status; [ \"$HR_STATUS_RC\" -eq 5 ] && rm -f \"" bank "\"" }' \
    "$agent" >"$dir/planted-recreate"
  chmod 755 "$dir/planted-recreate"
  ! cmp -s "$agent" "$dir/planted-recreate" || fail "the re-create fault was not planted"
  if check_refused "$dir/planted-recreate"; then fail "the refused-bank check passed on an agent that re-creates the bank"; fi
  note "planted: refused bank re-created -> caught"
  # 3. exit 16 taken as a final refusal at once (no wait for the lease to expire): caught.
  # shellcheck disable=SC2016
  sed 's/if \[ "\$hr_exit" -eq "\$HR_LEASE" \] && \[ \$((\$(now) + 2)) -lt "\$hr_end" \]; then/if false; then/' \
    "$agent" >"$dir/planted-lease"
  chmod 755 "$dir/planted-lease"
  ! cmp -s "$agent" "$dir/planted-lease" || fail "the lease fault was not planted"
  if check_lease "$dir/planted-lease"; then fail "the lease check passed on an agent that does not wait for a lease to expire"; fi
  note "planted: lease not waited out -> caught"
  ;;
*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ocf [$case_name]: passed"
