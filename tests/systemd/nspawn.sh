#!/usr/bin/env bash
# hrctl as a systemd service, under a real systemd (252) booted in systemd-nspawn.
# Usage: HR_SOURCE=... HR_BUILD=... nspawn.sh SCENARIO   (CTest: systemd_SCENARIO, label systemd)
# Each scenario boots its own container (about 2 s), so the tests are independent. Every check
# reads systemd's own view (systemctl show, the journal) or the member's answers over TCP.
# Exit 77: skipped (not root, no systemd-nspawn, an hrctl without the feature); with
# HR_REQUIRE_SYSTEMD=1 a skip is a failure.
. "$(dirname "$0")/lib.sh"
scenario=${1:?usage: nspawn.sh SCENARIO}
sd_preflight
sd_need serve --ready-after # sd-notify: READY=1, STATUS=, the watchdog pings, exit 0 on stop
sd_need reload --config     # sd-sockets: [group] sections in the config, socket=, the fd store

case $scenario in
start)
  # active (running) only after READY: the member declares itself ready 5 s after it started,
  # and until then the unit is activating; StatusText names the group.
  # --ready-after 0: only process::ready() counts (the default, 1000 ms of running, would
  # make the member ready before its call).
  sd_boot
  sd_install_service <<<"[Service]
ExecStart=
ExecStart=$HRCTL serve --config /etc/hotrestart/%i.conf --on-give-up exit --ready-after 0"
  sd_config listen <<<""
  sed -i "s|^run = .*|run = $MEMBER web 5000|" "$ROOT/etc/hotrestart/t.conf"
  sd systemctl start --no-block "$UNIT"
  wait_serving >/dev/null # the member answers from its start, before it is ready
  expect_prop "$UNIT" ActiveState activating
  note "serving but not ready yet: activating (as it must be)"
  wait_prop "$UNIT" ActiveState active 30
  expect_prop "$UNIT" SubState running
  status=$(prop "$UNIT" StatusText)
  [[ $status == *web* ]] || fail "StatusText '$status' does not name the group web"
  journal_has 'web run 1' >/dev/null || fail "the member's run is not in the unit's journal"
  show "$UNIT"
  ;;

crashes)
  # 5 member crashes: hrctl restarts the group hot each time; systemd sees no restart.
  sd_boot
  sd_install_service </dev/null
  sd_config listen <<<""
  sd systemctl start "$UNIT"
  wait_serving >/dev/null
  ask hello >/dev/null
  main=$(prop "$UNIT" MainPID)
  for i in 1 2 3 4 5; do
    ask crash >/dev/null 2>&1 || true
    # wait for the next run (runs = i + 1)
    for _ in $(seq 300); do
      out=$(ask hello 2>/dev/null) && [ "$(field runs "$out")" = $((i + 1)) ] && break
      sleep 0.1
    done
    [ "$(field runs "$out")" = $((i + 1)) ] || fail "after crash $i: '$out'"
  done
  note "after 5 crashes: $out"
  # served: 1 (before) + 1 per wait above at least; the state survived every crash
  [ "$(field served "$out")" -ge 7 ] || fail "state lost: $out"
  expect_prop "$UNIT" NRestarts 0
  expect_prop "$UNIT" ActiveState active
  expect_prop "$UNIT" MainPID "$main"
  [ "$(group_restarts)" = 5 ] || fail "hrctl counts $(group_restarts) group restarts, not 5"
  show "$UNIT"
  ;;

kill9)
  # kill -9 of hrctl: systemd restarts the service (NRestarts 1), the new hrctl adopts the member
  # (same pid, state kept, group restart counter unchanged), and a client connecting all along
  # to the socket-activated listener is never refused.
  sd_boot
  sd_install_service </dev/null
  sd_install_socket
  sd_config socket <<<""
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  restarts=$(group_restarts)
  kill9_under_clients
  [ "$(field pid "$before")" = "$(field pid "$after")" ] || fail "the member was not adopted (pid changed)"
  [ "$(field runs "$after")" = "$(field runs "$before")" ] || fail "the member ran again"
  [ "$(field served "$after")" -gt "$(field served "$before")" ] || fail "state lost"
  [ "$(group_restarts)" = "$restarts" ] || fail "group restarts $(group_restarts), were $restarts"
  grep -q ' refused=0 ' "$SD_DIR/loop" || fail "refused connections: $(cat "$SD_DIR/loop")"
  [ "$(field ok "$(cat "$SD_DIR/loop")")" -gt 0 ] || fail "the client loop got no answer"
  [ "$(prop "$UNIT" MainPID)" != "$main" ] || fail "MainPID unchanged"
  show "$UNIT"
  ;;

fdstore)
  # The same as kill9 with hrctl's own --listen socket: kept in systemd's fd store, taken back
  # by the restarted hrctl, so no connection is refused.
  sd_boot
  sd_install_service </dev/null
  sd_config listen <<<""
  # Negative control: the client loop counts refusals (nothing listens yet).
  sd "$MEMBER" --loop "$PORT" /run/hr-test/stop0 >"$SD_DIR/loop0" &
  loop=$!
  sleep 0.3
  touch "$ROOT/run/hr-test/stop0"
  wait "$loop"
  [ "$(field refused "$(cat "$SD_DIR/loop0")")" -gt 0 ] || fail "the client saw no refusal with nothing listening: $(cat "$SD_DIR/loop0")"
  note "control, nothing listening: $(cat "$SD_DIR/loop0")"
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  kill9_under_clients
  [ "$(field pid "$before")" = "$(field pid "$after")" ] || fail "the member was not adopted"
  grep -q ' refused=0 ' "$SD_DIR/loop" || fail "refused connections: $(cat "$SD_DIR/loop")"
  journal_has 'took back .* fd store' ||
    fail "the restarted hrctl did not take its socket back from the fd store"
  show "$UNIT"
  ;;

watchdog)
  # SIGSTOP of hrctl: its WATCHDOG=1 pings stop, systemd's watchdog fires, the service is
  # restarted and comes back hot (the member adopted, its state kept).
  sd_boot
  sd_install_service <<<$'[Service]\nWatchdogSec=2s'
  sd_config listen <<<""
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  sleep 5 # the pings keep it alive past 2 watchdog periods
  expect_prop "$UNIT" NRestarts 0
  main=$(prop "$UNIT" MainPID)
  sd kill -STOP "$main"
  wait_prop "$UNIT" NRestarts 1 30
  wait_prop "$UNIT" ActiveState active 30
  journal_has 'watchdog timeout' >/dev/null || fail "no watchdog timeout in the journal"
  after=$(wait_serving)
  note "before: $before; after: $after"
  [ "$(field pid "$before")" = "$(field pid "$after")" ] || fail "the member was not adopted"
  [ "$(field served "$after")" -gt "$(field served "$before")" ] || fail "state lost"
  show "$UNIT"
  ;;

hang)
  # A member that stops heart-beating is hrctl's job: it restarts the group hot; systemd's
  # watchdog (hrctl pings on) does not fire and NRestarts stays 0.
  sd_boot
  sd_install_service <<<$'[Service]\nWatchdogSec=2s'
  sd_config listen <<<"heartbeat = 1000"
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  main=$(prop "$UNIT" MainPID)
  ask hang >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    out=$(ask hello 2>/dev/null) && [ "$(field runs "$out")" = 2 ] && break
    sleep 0.1
  done
  note "before: $before; after: ${out:-}"
  [ "$(field runs "${out:-}")" = 2 ] || fail "the hung member was not restarted"
  [ "$(field served "$out")" -gt "$(field served "$before")" ] || fail "state lost"
  sleep 3
  expect_prop "$UNIT" NRestarts 0
  expect_prop "$UNIT" MainPID "$main"
  [ "$(group_restarts)" = 1 ] || fail "hrctl counts $(group_restarts) group restarts, not 1"
  show "$UNIT"
  ;;

giveup)
  # A group that keeps crashing: hrctl gives up (--on-give-up exit: status 8), the unit does not
  # restart (RestartPreventExitStatus=8) and its OnFailure= unit runs.
  sd_boot
  cat >"$ROOT/etc/systemd/system/hr-escalate@.service" <<'EOS'
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "%i failed" > /run/hr-test/escalated'
EOS
  sd_install_service <<<$'OnFailure=hr-escalate@%n.service'
  SD_TUNABLES=$'max-badness = 2\nmax-site-restarts = 1' sd_config listen <<<""
  sed -i "s|^run = .*|run = $MEMBER web 0 crash|" "$ROOT/etc/hotrestart/t.conf"
  sd systemctl start --no-block "$UNIT"
  wait_prop "$UNIT" ActiveState failed 120
  expect_prop "$UNIT" ExecMainStatus 8
  expect_prop "$UNIT" Result exit-code
  expect_prop "$UNIT" NRestarts 0
  for _ in $(seq 100); do [ -e "$ROOT/run/hr-test/escalated" ] && break; sleep 0.1; done
  [ -e "$ROOT/run/hr-test/escalated" ] || fail "the OnFailure= unit did not run"
  note "marker: $(cat "$ROOT/run/hr-test/escalated")"
  show "$UNIT"
  ;;

badconfig)
  # A configuration error (exit 2) is not restarted (RestartPreventExitStatus=): restarting
  # cannot fix the file. The journal names the file and line.
  sd_boot
  sd_install_service </dev/null
  sd_config listen <<<"no-such-key = 1"
  sd systemctl start "$UNIT" && fail "the start with a bad configuration succeeded"
  wait_prop "$UNIT" ActiveState failed 30
  expect_prop "$UNIT" ExecMainStatus 2
  expect_prop "$UNIT" NRestarts 0
  journal_has 't\.conf:[0-9]+: ' || fail "the journal does not name the file and line"
  show "$UNIT"
  ;;

stop)
  # systemctl stop: SIGTERM to hrctl alone (KillMode=process), which stops the member gracefully
  # and exits 0: Result=success, the bank kept in the preserved RuntimeDirectory.
  sd_boot
  sd_install_service </dev/null
  sd_config listen <<<""
  sd systemctl start "$UNIT"
  wait_serving >/dev/null
  sd systemctl stop "$UNIT"
  expect_prop "$UNIT" ActiveState inactive
  expect_prop "$UNIT" Result success
  expect_prop "$UNIT" ExecMainStatus 0
  journal_has 'web stopped gracefully' >/dev/null || fail "the member was not stopped gracefully"
  [ -f "$ROOT/run/hotrestart/t/default.bank" ] || fail "the bank is gone"
  sd pgrep -f "$MEMBER web" >/dev/null && fail "a member outlived the stop"
  # Started again, the group comes back from the kept bank with its state.
  sd systemctl start "$UNIT"
  out=$(wait_serving)
  [ "$(field served "$out")" -ge 2 ] || fail "the state did not survive stop+start: $out"
  note "after stop and start: $out"
  show "$UNIT"
  ;;

reload)
  # systemctl reload: hrctl re-reads the configuration and upgrades the group whose program
  # file changed, hot (the state kept), with no refused connection.
  sd_boot
  sd_install_service </dev/null
  cp "$MEMBER" "$ROOT/run/hr-test/member"
  sd_config listen <<<""
  sed -i "s|^run = .*|run = /run/hr-test/member web|" "$ROOT/etc/hotrestart/t.conf"
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  sd "$MEMBER" --loop "$PORT" /run/hr-test/stop >"$SD_DIR/loop" &
  loop=$!
  # A new program file: the same member with a byte appended (another file, the same behaviour).
  cp "$MEMBER" "$ROOT/run/hr-test/member.new"
  printf 'v2' >>"$ROOT/run/hr-test/member.new"
  mv "$ROOT/run/hr-test/member.new" "$ROOT/run/hr-test/member"
  sd systemctl reload "$UNIT"
  for _ in $(seq 300); do
    out=$(ask hello 2>/dev/null) && [ "$(field pid "$out")" != "$(field pid "$before")" ] && break
    sleep 0.1
  done
  touch "$ROOT/run/hr-test/stop"
  wait "$loop"
  note "before: $before; after: $out; client: $(cat "$SD_DIR/loop")"
  [ "$(field pid "$out")" != "$(field pid "$before")" ] || fail "the group was not upgraded"
  [ "$(field served "$out")" -gt "$(field served "$before")" ] || fail "state lost"
  grep -q ' refused=0 ' "$SD_DIR/loop" || fail "refused connections: $(cat "$SD_DIR/loop")"
  expect_prop "$UNIT" NRestarts 0
  expect_prop "$UNIT" ActiveState active
  show "$UNIT"
  ;;

sandbox)
  # The hardening drop-in of docs/systemd.md ("Sandboxing") leaves hrctl working: the default
  # bank under ProtectSystem=strict, image memfds executed under MemoryDenyWriteExecute=, the
  # syscalls in @system-service; a crash restarts hot, a kill -9 of hrctl is adopted.
  # (ProtectHome= and PrivateTmp= are left out here: the build tree may be under /home or /tmp.)
  sd_boot
  sd_install_service <<<$'[Service]\nProtectSystem=strict\nMemoryDenyWriteExecute=yes\nNoNewPrivileges=yes\nSystemCallFilter=@system-service\nProtectKernelTunables=yes\nProtectControlGroups=yes\nRestrictSUIDSGID=yes'
  sd_config listen <<<""
  sd systemctl start "$UNIT"
  before=$(wait_serving)
  ask crash >/dev/null 2>&1 || true
  for _ in $(seq 300); do
    out=$(ask hello 2>/dev/null) && [ "$(field runs "$out")" = 2 ] && break
    sleep 0.1
  done
  [ "$(field runs "${out:-}")" = 2 ] || fail "no hot restart under the sandbox: ${out:-}"
  main=$(prop "$UNIT" MainPID)
  sd kill -KILL "$main"
  wait_prop "$UNIT" NRestarts 1 30
  wait_prop "$UNIT" ActiveState active 30
  after=$(wait_serving)
  note "before: $before; after a crash and a kill -9 of hrctl: $after"
  [ "$(field pid "$after")" = "$(field pid "$out")" ] || fail "the member was not adopted"
  [ "$(field served "$after")" -gt "$(field served "$out")" ] || fail "state lost"
  show "$UNIT"
  ;;

no_notify)
  # Negative control: the same start with the notification socket hidden from hrctl stays
  # activating until TimeoutStartSec=, then fails with Result=timeout.
  sd_boot
  sd_install_service <<<"[Service]
ExecStart=
ExecStart=/usr/bin/env -u NOTIFY_SOCKET $HRCTL serve --config /etc/hotrestart/%i.conf --on-give-up exit
TimeoutStartSec=10s
Restart=no"
  sd_config listen <<<""
  sd systemctl start --no-block "$UNIT"
  wait_serving >/dev/null # hrctl runs the member...
  sleep 3
  expect_prop "$UNIT" ActiveState activating # ...but systemd never hears READY
  note "serving, still activating after 3 s"
  wait_prop "$UNIT" Result timeout 30
  note "then: $(prop "$UNIT" ActiveState), Result=timeout"
  show "$UNIT"
  ;;

*) fail "unknown scenario $scenario" ;;
esac
SD_OK=1
note "scenario $scenario passed"
