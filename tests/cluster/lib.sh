# shellcheck shell=bash
# What the live Pacemaker checks (pacemaker.sh: one node; pacemaker_2nodes.sh: two) share:
# the skip rule, waits, the checks before a run, a node booted in a systemd-nspawn container,
# the state Pacemaker's package would have made in the container's empty /var, and the files
# the nodes read (corosync.conf, the hrctl configuration). Sourced after `set -euo pipefail`;
# needs HR_SOURCE, HR_HRCTL and HR_MEMBER.

# Exit 77 (skipped), or a failure under HR_REQUIRE_PACEMAKER=1 (.ci/jobs/57-pacemaker.sh).
skip() {
  if [ "${HR_REQUIRE_PACEMAKER:-0}" = 1 ]; then
    echo "FAIL (HR_REQUIRE_PACEMAKER=1): cannot run: $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}
note() { echo "-- $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# until_true SECONDS WHAT COMMAND...: waits until COMMAND succeeds.
until_true() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "timed out after ${secs}s waiting for: $what"
}

# pcmk_require [FILE...]: root, the cluster stack and the hacluster user (and FILE...), or skip.
pcmk_require() {
  local t
  [ "$(id -u)" -eq 0 ] || skip "not root (systemd-nspawn needs root)"
  for t in /usr/bin/systemd-nspawn /usr/sbin/pacemakerd /usr/sbin/corosync \
    /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs "$@"; do
    [ -e "$t" ] || skip "no $t (apt-get install systemd-container pacemaker corosync resource-agents iproute2)"
  done
  getent passwd hacluster >/dev/null || skip "no hacluster user (the pacemaker package makes it)"
}

# agent_dir DIR: DIR/resource.d holding only the agent (bound over /usr/lib/ocf/resource.d: a
# new directory cannot be made in the container's read-only /usr), and DIR/corosync.
agent_dir() {
  mkdir -p "$1/resource.d/hotrestart" "$1/corosync"
  install -m 0755 "$HR_SOURCE/tools/ocf/hrctl" "$1/resource.d/hotrestart/hrctl"
}

# corosync_conf FILE CLUSTER QUORUM_LINES NODE_LINES: a corosync.conf without crypto, logging
# to syslog (the container's journal).
corosync_conf() {
  cat >"$1" <<EOF
totem {
	version: 2
	cluster_name: $2
	crypto_cipher: none
	crypto_hash: none
}
logging {
	to_stderr: yes
	to_logfile: no
	to_syslog: yes
}
quorum {
	provider: corosync_votequorum
$3}
nodelist {
$4}
EOF
}

# web_conf BANK: the hrctl configuration of the checks: group web (a member that runs until
# told), group flaky (crashes on every run once /run/hr-test/crash exists, so that hrctl gives
# up on it after one site restart).
web_conf() {
  cat <<EOF
bank = $1
bank-size = 16M
max-badness = 3
max-site-restarts = 1
interval = 60000

[group web]
run = $HR_MEMBER --wait /run/hr-test/never

[group flaky]
run = $HR_MEMBER --crash-always segv --wait /run/hr-test/crash
EOF
}

# node_binds DIR [BIND...]: sets the array `binds`: the source tree, hrctl and the member read
# only, the agent's resource.d, DIR/corosync as /etc/corosync, /etc/alternatives (awk is an
# alternative) and the host's user database (the hacluster user), then BIND...
node_binds() {
  local d=$1 f
  shift
  binds=(--bind-ro="$HR_SOURCE" --bind-ro="$(dirname "$HR_HRCTL")" --bind-ro="$(dirname "$HR_MEMBER")"
    --bind-ro="$d/resource.d:/usr/lib/ocf/resource.d" --bind-ro="$d/corosync:/etc/corosync"
    --bind-ro=/etc/alternatives "$@")
  for f in passwd group shadow nsswitch.conf; do binds+=(--bind-ro="/etc/$f"); done
}

# container_systemd NSPAWN_PID LOG: prints the pid of the container's systemd once its
# basic.target is active (at most 30 s); fails with the nspawn log if the container ended.
container_systemd() {
  local np=$1 log=$2 c="" s=""
  for _ in $(seq 300); do
    c=$(ps -eo pid=,ppid= | awk -v p="$np" '$2==p{print $1}' | head -1)
    [ -n "$c" ] && s=$(nsenter -t "$c" -a systemctl is-active basic.target 2>/dev/null || true)
    if [ "$s" = active ]; then
      echo "$c"
      return 0
    fi
    kill -0 "$np" 2>/dev/null || { cat "$log" >&2; fail "systemd-nspawn ended"; }
    sleep 0.1
  done
  fail "basic.target not active in the container after 30 s"
}

# pacemaker_state PID [NVPAIR_XML]: in the container of systemd PID, what Pacemaker's package
# would have made in /var, and a first CIB: dc-deadtime 2 s (not the 20 s wait before a node
# elects itself), stonith off (no fencing device here; a real cluster must fence:
# docs/cluster.md), then NVPAIR_XML. The wait for network-online.target (which corosync.service
# requires, and which waits 2 minutes for a network the container never brings) is masked.
pacemaker_state() {
  nsenter -t "$1" -a sh -c 'mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine \
    /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /var/log/pacemaker /var/lib/corosync \
    /var/log/corosync /var/log/crmsh &&
    cat >/var/lib/pacemaker/cib/cib.xml &&
    chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker &&
    chmod 750 /var/lib/pacemaker/cib && chmod 600 /var/lib/pacemaker/cib/cib.xml &&
    mkdir -p -m 700 /run/hr-test /dev/shm/hr-pcmk' <<EOF
<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.8" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        ${2:-}
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF
  nsenter -t "$1" -a systemctl mask --runtime --quiet systemd-networkd-wait-online.service
}
