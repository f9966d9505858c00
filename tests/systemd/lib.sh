#!/usr/bin/env bash
# tests/systemd/lib.sh: sourced by nspawn.sh. Boots a throw-away systemd (the host's own, 252 on
# Debian 12) in a volatile container with the source and build trees bound at their own paths,
# installs the shipped hrctl@.service (its ExecStart pointed at the build's hrctl) plus a test
# drop-in, and gives the scenarios systemd's own view of the unit. Needs root and
# systemd-nspawn; without them a scenario exits 77 (skipped), or fails with HR_REQUIRE_SYSTEMD=1.
set -euo pipefail

: "${HR_SOURCE:?HR_SOURCE: the source tree}" "${HR_BUILD:?HR_BUILD: the build tree}"
HRCTL=${HR_HRCTL:-$HR_BUILD/tools/hrctl/hrctl}
MEMBER=${HR_MEMBER:-$HR_BUILD/tests/systemd/sd_member}
UNIT=hrctl@t.service
PORT=8080

sd_skip() {
  if [ "${HR_REQUIRE_SYSTEMD:-0}" = 1 ]; then
    echo "FAIL (HR_REQUIRE_SYSTEMD=1): cannot run: $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "-- $*"; }

sd_preflight() {
  [ "$(id -u)" -eq 0 ] || sd_skip "not root (systemd-nspawn needs root)"
  command -v systemd-nspawn >/dev/null || sd_skip "no systemd-nspawn (apt-get install systemd-container)"
  [ -x "$HRCTL" ] || fail "no hrctl at $HRCTL (build the hrctl target)"
  [ -x "$MEMBER" ] || fail "no test member at $MEMBER (build sd_member)"
}

# A feature of hrctl the scenario needs; absent (a branch without it) it is a skip, which
# HR_REQUIRE_SYSTEMD=1 turns into a failure.
sd_need() {
  local cmd=$1 opt=$2 help
  # (read whole first: grep -q would end the pipe early, SIGPIPE, and pipefail fail it)
  help=$("$HRCTL" "$cmd" --help 2>&1 || true)
  grep -q -- "$opt" <<<"$help" || sd_skip "this hrctl lacks '$cmd $opt'"
}

SD_DIR=""
NSPAWN_PID=""
C=""
# Boots the container; C is the pid of its systemd (PID 1 inside).
sd_boot() {
  SD_DIR=$(mktemp -d /tmp/hr-systemd.XXXXXX)
  trap sd_cleanup EXIT
  systemd-nspawn -D / --volatile=yes --private-network --register=no --keep-unit -b \
    --console=pipe --bind="$HR_SOURCE" --bind="$HR_BUILD" </dev/null >"$SD_DIR/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  local i s=""
  for i in $(seq 300); do
    C=$(ps -eo pid=,ppid= | awk -v p="$NSPAWN_PID" '$2==p{print $1}' | head -1)
    [ -n "$C" ] && s=$(nsenter -t "$C" -a systemctl is-active basic.target 2>/dev/null || true)
    [ "$s" = active ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || { cat "$SD_DIR/nspawn.log" >&2; fail "systemd-nspawn ended"; }
    sleep 0.1
  done
  [ "$s" = active ] || fail "basic.target not active in the container after 30 s"
  note "container up: systemd pid $C (host), $(sd systemctl --version | head -1)"
  ROOT=/proc/$C/root
  mkdir -p "$ROOT/etc/hotrestart" "$ROOT/etc/systemd/system/hrctl@.service.d" "$ROOT/run/hr-test"
}

# Runs a command inside the container.
sd() { nsenter -t "$C" -a "$@"; }

SD_OK=0
sd_cleanup() {
  local rc=$?
  if [ -n "$C" ] && kill -0 "$C" 2>/dev/null; then
    if [ "$SD_OK" != 1 ]; then
      echo "== systemctl status (on failure)" >&2
      sd systemctl status --no-pager -n0 "$UNIT" >&2 || true
      echo "== journal (on failure)" >&2
      sd journalctl --no-pager -o short-monotonic -n 200 >&2 || true
    fi
    sd systemctl poweroff >/dev/null 2>&1 || true
  fi
  if [ -n "$NSPAWN_PID" ]; then
    local i
    for i in $(seq 150); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$NSPAWN_PID" 2>/dev/null && kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null || true
  fi
  [ -n "$SD_DIR" ] && rm -rf "$SD_DIR"
  exit "$rc"
}

# The shipped template, pointed at the build's hrctl, and the test drop-in (StartLimitIntervalSec=0
# plus what the scenario adds, from stdin).
sd_install_service() {
  sed -e "s|@HRCTL@|$HRCTL|g" -e "s|@DOCDIR@|$HR_SOURCE/docs|g" \
    "$HR_SOURCE/dist/systemd/hrctl@.service.in" >"$ROOT/etc/systemd/system/hrctl@.service"
  {
    printf '[Unit]\nStartLimitIntervalSec=0\n'
    cat
  } >"$ROOT/etc/systemd/system/hrctl@.service.d/test.conf"
  sd systemctl daemon-reload
}

# The instance configuration: the bank in the unit's RuntimeDirectory (hrctl's default), one
# group "web" of one member serving PORT, from a socket unit (socket=1) or hrctl's --listen.
# Extra `key = value` lines for the group from stdin; SD_TUNABLES: lines before the section.
sd_config() {
  local how=$1 extra
  extra=$(cat)
  {
    if [ -n "${SD_TUNABLES:-}" ]; then echo "$SD_TUNABLES"; fi
    echo "[group web]"
    echo "run = $MEMBER web"
    if [ "$how" = socket ]; then echo "socket = web"; else echo "listen = 127.0.0.1:$PORT"; fi
    if [ -n "$extra" ]; then echo "$extra"; fi
  } >"$ROOT/etc/hotrestart/t.conf"
}

sd_install_socket() {
  cat >"$ROOT/etc/systemd/system/hrctl@t.socket" <<EOS
[Socket]
ListenStream=127.0.0.1:$PORT
FileDescriptorName=web
Backlog=1024
EOS
  sd systemctl daemon-reload
  sd systemctl start hrctl@t.socket
}

# systemd's view: prop UNIT NAME -> the value.
prop() { sd systemctl show -P "$2" "$1"; }
show() {
  note "$1: $(sd systemctl show -p ActiveState,SubState,NRestarts,Result,ExecMainStatus,MainPID,StatusText "$1" | tr '\n' ' ')"
}
# Waits up to SECS for UNIT's property NAME to equal VALUE.
wait_prop() {
  local unit=$1 name=$2 want=$3 secs=${4:-30} _ v=""
  for _ in $(seq $((secs * 10))); do
    v=$(prop "$unit" "$name")
    [ "$v" = "$want" ] && return 0
    sleep 0.1
  done
  show "$unit"
  fail "$unit: $name is '$v' after ${secs}s, not '$want'"
}
expect_prop() {
  local v
  v=$(prop "$1" "$2")
  [ "$v" = "$3" ] || { show "$1"; fail "$1: $2 is '$v', expected '$3'"; }
}

# One request to the member inside the container; the answer on stdout.
ask() { sd "$MEMBER" --client "$PORT" "${1:-hello}"; }
# Waits (up to 30 s) until the member answers; prints the answer.
wait_serving() {
  local _ out
  for _ in $(seq 300); do
    if out=$(ask hello 2>/dev/null); then
      echo "$out"
      return 0
    fi
    sleep 0.1
  done
  fail "the member does not answer on port $PORT"
}
# kill -9 of hrctl (the unit's main process) while a client loop connects again and again:
# waits for systemd's restart (NRestarts 1, active), stops the loop (its tally in
# $SD_DIR/loop), then sets `main` (the killed pid) and `after` (the member's answer now).
kill9_under_clients() {
  main=$(prop "$UNIT" MainPID)
  rm -f "$ROOT/run/hr-test/stop"
  sd "$MEMBER" --loop "$PORT" /run/hr-test/stop >"$SD_DIR/loop" &
  local loop=$!
  sleep 1
  sd kill -KILL "$main"
  wait_prop "$UNIT" NRestarts 1 30
  wait_prop "$UNIT" ActiveState active 30
  sleep 1
  touch "$ROOT/run/hr-test/stop"
  wait "$loop"
  after=$(wait_serving)
  note "before: $before; after: $after; client: $(cat "$SD_DIR/loop")"
}
field() { sed -nE "s/.*(^| )$1=([0-9]+).*/\2/p" <<<"$2"; }

# The group's restart counter as hrctl sees it (hrctl status --json on the instance's bank).
group_restarts() {
  sd env RUNTIME_DIRECTORY=/run/hotrestart/t "$HRCTL" status --json |
    python3 -c 'import json,sys; print([g for g in json.load(sys.stdin)["groups"] if g["name"]=="web"][0]["restarts"])'
}

journal() { sd journalctl --no-pager -o cat "$@"; }
# journal_has PATTERN: the unit's journal has a line matching PATTERN (grep -E -i); the lines on
# stdout. (The journal read whole first: grep -q ending a pipe early fails it under pipefail.)
journal_has() {
  local all
  all=$(journal -u "$UNIT")
  grep -E -i -- "$1" <<<"$all"
}
