#!/usr/bin/env bash
# hrctl@.service against a plain Restart=always unit, under a real systemd 252 booted in
# systemd-nspawn (the library of tests/systemd). Both serve the same program
# (tests/systemd/sd_member: it answers each connection with its pid and counters) from a socket
# unit, so systemd holds the port in both cases. Medians of N (20) runs of:
#   start:  `systemctl start` until it returns (hrctl: READY=1) and until the first answer;
#           hrctl cold (no bank) and warm (the bank kept by the previous stop), plain
#   hrctl killed (kill -9 of hrctl): until a request is answered, until the unit is active again
#   member killed (kill -9 of the serving process): until another pid answers; hrctl restarts
#           its member hot, systemd restarts the plain unit's process (RestartSec=100ms, the
#           default, as in the shipped unit)
# Needs root. Usage: bench/systemd_restart.sh [BUILD_DIR] (default build/default, with hrctl and
# sd_member built). Prints a Markdown table; the figures and their discussion: bench/systemd.md.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
export HR_SOURCE=$src HR_BUILD=${1:-$src/build/default}
HR_BUILD=$(cd "$HR_BUILD" && pwd)
export HR_REQUIRE_SYSTEMD=1
N=${N:-20}
. "$src/tests/systemd/lib.sh"
sd_preflight
sd_boot

# The shipped unit with a socket unit on 8080; a fast-decaying policy so that 20 member kills in
# a row are plain restarts (no escalation, no added backoff).
sd_install_service </dev/null
sd_install_socket
SD_TUNABLES="interval = 100" sd_config socket <<<""
cat >"$ROOT/etc/systemd/system/plain.socket" <<EOS
[Socket]
ListenStream=127.0.0.1:8081
Backlog=1024
EOS
cat >"$ROOT/etc/systemd/system/plain.service" <<EOS
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=$MEMBER plain
Restart=always
EOS
sd systemctl daemon-reload
sd systemctl start plain.socket

# Inside the container: one bash that runs every measurement and prints "NAME MICROSECONDS" lines.
sd env N="$N" MEMBER="$MEMBER" bash -s >"$SD_DIR/raw" <<'EOS'
set -euo pipefail
us() { echo $(( $(date +%s%N) / 1000 )); }
first_answer() { until "$MEMBER" --client "$1" hello >/dev/null 2>&1; do :; done; }
main_pid() { systemctl show -P MainPID "$1"; }
for i in $(seq "$N"); do
  for mode in cold warm; do
    systemctl stop hrctl@t.service
    [ $mode = cold ] && rm -f /run/hotrestart/t/default.bank
    t0=$(us); systemctl start hrctl@t.service; t1=$(us); first_answer 8080; t2=$(us)
    echo "start_active_hrctl_$mode $((t1 - t0))"
    echo "start_answer_hrctl_$mode $((t2 - t0))"
  done
  systemctl stop plain.service
  t0=$(us); systemctl start plain.service; t1=$(us); first_answer 8081; t2=$(us)
  echo "start_active_plain $((t1 - t0))"
  echo "start_answer_plain $((t2 - t0))"
done
for i in $(seq "$N"); do
  old=$(main_pid hrctl@t.service)
  t0=$(us)
  echo "hrctl_killed_answer $("$MEMBER" --recover 8080 "$old" 0)"
  until [ "$(systemctl is-active hrctl@t.service)" = active ] && [ "$(main_pid hrctl@t.service)" != "$old" ]; do :; done
  echo "hrctl_killed_active $(( $(us) - t0 ))"
  sleep 0.3
done
for i in $(seq "$N"); do
  member=$("$MEMBER" --client 8080 hello | sed -E 's/^pid=([0-9]+).*/\1/')
  echo "member_killed_hrctl $("$MEMBER" --recover 8080 "$member" 1)"
  sleep 0.3
  echo "member_killed_plain $("$MEMBER" --recover 8081 "$(main_pid plain.service)" 1)"
  sleep 0.3
done
echo "state_hrctl $("$MEMBER" --client 8080 hello)"
echo "state_plain $("$MEMBER" --client 8081 hello)"
echo "nrestarts_hrctl $(systemctl show -P NRestarts hrctl@t.service)"
EOS
SD_OK=1
python3 - "$SD_DIR/raw" "$N" <<'EOP'
import statistics, sys
rows = {}
extra = []
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition(" ")
    if v.isdigit():
        rows.setdefault(k, []).append(int(v) / 1000.0)
    else:
        extra.append(line.strip())
names = [
    ("start_active_hrctl_cold", "`systemctl start` returns (READY=1), hrctl, new bank"),
    ("start_answer_hrctl_cold", "start to the first answer, hrctl, new bank"),
    ("start_active_hrctl_warm", "`systemctl start` returns (READY=1), hrctl, bank kept"),
    ("start_answer_hrctl_warm", "start to the first answer, hrctl, bank kept"),
    ("start_active_plain", "`systemctl start` returns, plain unit (Type=simple: at the fork)"),
    ("start_answer_plain", "start to the first answer, plain unit"),
    ("hrctl_killed_answer", "kill -9 hrctl to an answer (the member goes on)"),
    ("hrctl_killed_active", "kill -9 hrctl to the unit active again (new hrctl's READY=1)"),
    ("member_killed_hrctl", "kill -9 of the member to an answer by its next run, hrctl (state kept)"),
    ("member_killed_plain", "kill -9 of the plain unit's process to an answer by the next (state lost)"),
]
print(f"| measured (N = {sys.argv[2]}) | median ms | min | max |")
print("|---|---|---|---|")
for k, label in names:
    v = rows.get(k, [])
    if v:
        print(f"| {label} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} |")
print()
for e in extra:
    print("- " + e)
EOP
