#!/usr/bin/env bash
# End-to-end tests of hrctl on real programs with real signals. Usage: e2e.sh CASE HRCTL MEMBER HELLO
# Each case uses its own bank and temp dir; no wall-clock thresholds (only generous timeouts).
set -uo pipefail
case_name=$1 hrctl=$2 member=$3 hello=$4
dir=$(mktemp -d /tmp/hr-e2e.XXXXXX)
bank=/dev/shm/hr-e2e-$case_name-$$.bank
cleanup() {
  jobs -p | xargs -r kill -9 2>/dev/null
  rm -rf "$dir" "$bank"
}
trap cleanup EXIT
fail() { echo "FAIL [$case_name]: $*"; echo "--- out"; cat "$dir"/out* 2>/dev/null; echo "--- err"; cat "$dir"/err* 2>/dev/null; exit 1; }
expect_rc() { [ "$1" -eq "$2" ] || fail "exit status $1, expected $2 ($3)"; }
wait_for() {  # wait_for FILE PATTERN [seconds]
  local i
  for ((i = 0; i < ${3:-60} * 10; i++)); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "timed out waiting for '$2' in $1"
}
H() { timeout 120 "$hrctl" "$@"; }
# Under AddressSanitizer the programs' deliberate SIGSEGVs must stay signals (not "exit 1").
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
T=(--bank "$bank" --bank-size 32M)

case $case_name in
hello_seed)
  H run "${T[@]}" -- "$hello" >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "hello world"
  diff <(printf 'Hello world!\nThe process has been restarted.\nExample finished. Exit.\n') "$dir/out" || fail "output"
  grep -q "crash detected: hello_chorus_fixture .* SIGSEGV" "$dir/err" || fail "crash not reported"
  grep -q "group 0 terminated" "$dir/err" || fail "no termination"
  H blocks --bank "$bank" | grep -q "__HR_IMG_\|PM1" && fail "blocks left after termination"
  H check --bank "$bank" >/dev/null || fail "check"
  ;;
crash_modes)
  for mode in segv kill abort exit; do
    rm -f "$bank"
    H run "${T[@]}" -- "$member" --crash 1:$mode >"$dir/out" 2>"$dir/err"
    expect_rc $? 0 "crash by $mode"
    grep -q "run 2 restarted=1" "$dir/out" || fail "$mode: not restarted"
    grep -q "crash detected" "$dir/err" || fail "$mode: crash not detected"
  done
  grep -q "without the clean-exit call" "$dir/err" || fail "plain exit not treated as a failure"
  ;;
group_restart)
  "$hrctl" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go" --tag a >"$dir/out1" 2>"$dir/err1" &
  p1=$!
  wait_for "$dir/out1" "run 1 restarted=0 tag=a"
  "$hrctl" run --bank "$bank" -g 1 --name b -- "$member" --wait "$dir/go" --crash 1:segv --tag b >"$dir/out2" 2>"$dir/err2" &
  p2=$!
  wait_for "$dir/err2" "handed to the supervisor"
  # A delegated run's output comes to the hrctl run that asked for it, also after restarts.
  wait_for "$dir/out2" "run 1 restarted=0 tag=b"
  touch "$dir/go"
  wait "$p1"; expect_rc $? 0 "supervising hrctl run"
  wait "$p2"; expect_rc $? 0 "delegated hrctl run"
  grep -q "run 2 restarted=1 tag=a" "$dir/out1" || fail "member a not restarted with the group"
  grep -q "run 2 restarted=1 tag=b" "$dir/out2" || fail "member b not restarted (or its output not relayed)"
  grep -q "tag=b" "$dir/out1" && fail "the delegated member's output went to the supervising run"
  ;;
indirect_blocked)
  "$hrctl" run "${T[@]}" -g 2 -- "$member" --spawn 1:helper --wait "$dir/go" --crash 1:segv >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "spawned helper: status 0"
  wait_for "$dir/out" "helper run 1"
  H status --bank "$bank" | grep -q "helper .*indirect .*running" || fail "indirect member not running"
  touch "$dir/go"
  wait_for "$dir/err" "HR_CTRL: group 2 blocked, some members have not terminated: helper"
  grep -c "spawned helper" "$dir/out" | grep -q '^1$' || fail "indirect member spawned again"
  H status --bank "$bank" --json | grep -q '"state":"blocked"' || fail "status does not show blocked"
  H kill -g 2 --bank "$bank" >/dev/null || fail "kill -g"
  wait "$p"; expect_rc $? 12 "group killed"
  H blocks --bank "$bank" | grep -q "__HR_IMG_\|runs-" && fail "blocks left after kill -g"
  ;;
supervisor_killed)
  "$hrctl" run "${T[@]}" -- "$member" --wait "$dir/go" --crash 1:segv >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "run 1"
  kill -9 $p; wait $p 2>/dev/null
  H status --bank "$bank" | grep -q "supervisor not running" || fail "status after supervisor death"
  "$hrctl" run --bank "$bank" -- "$member" --wait "$dir/go" --crash 1:segv >>"$dir/out" 2>"$dir/err2" &
  p=$!
  wait_for "$dir/err2" "adopted member"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "adopting supervisor"
  grep -q "run 2 restarted=1" "$dir/out" || fail "adopted member not restarted after its crash"
  ;;
exe_replaced)
  cp "$member" "$dir/prog"
  "$hrctl" run "${T[@]}" -- "$dir/prog" --wait "$dir/go" --crash 1:segv --tag original >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "run 1"
  printf '#!/bin/sh\necho REPLACED\n' >"$dir/prog.new"; chmod +x "$dir/prog.new"; mv "$dir/prog.new" "$dir/prog"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "run on the image"
  grep -q "run 2 restarted=1 tag=original" "$dir/out" || fail "restart did not run the image kept in the bank"
  grep -q REPLACED "$dir/out" && fail "the file on disk was run"
  ;;
escalation)
  H run "${T[@]}" --max-badness 3 --max-site-restarts 2 -- "$member" --crash-always segv >"$dir/out" 2>"$dir/err"
  expect_rc $? 8 "gave up"
  grep -q "site restart (restart counter reached max badness: group 0)" "$dir/err" || fail "no site restart"
  grep -q "giving up" "$dir/err" || fail "no give-up message"
  H check --bank "$bank" >/dev/null || fail "bank damaged"
  H blocks --bank "$bank" | grep -q "__HR_IMG_0" || fail "image lost"
  ;;
bad_input)
  H run "${T[@]}" -- "$dir/nope" 2>"$dir/err"; expect_rc $? 3 "missing program"
  touch "$dir/noexec"; H run "${T[@]}" -- "$dir/noexec" 2>"$dir/err"; expect_rc $? 3 "not executable"
  grep -q "not executable" "$dir/err" || fail "message"
  H run "${T[@]}" --max-blocks 4 -- "$member" 2>"$dir/err"; expect_rc $? 7 "too small"
  grep -q "sizing rule" "$dir/err" || fail "sizing rule not in the message"
  H run --bank "$bank" --bank-size 64K -- "$member" 2>"$dir/err"; expect_rc $? 7 "too small bank"
  rm -f "$bank"; H run --bank "$bank" --bank-size 1M -- "$hello" 2>"$dir/err"; expect_rc $? 7 "2x rule"
  grep -q "2 x the size of the restartable processes" "$dir/err" || fail "2x rule message"
  rm -f "$bank"
  ln -s "$dir/target" "$dir/link.bank"; H run --bank "$dir/link.bank" -- "$member" 2>"$dir/err"; expect_rc $? 6 "symlink"
  H status --bank "$dir/link.bank" 2>"$dir/err"; expect_rc $? 6 "symlink status"
  head -c 100000 /dev/urandom >"$dir/foreign.bank"; H status --bank "$dir/foreign.bank" 2>"$dir/err"; expect_rc $? 5 "foreign"
  H run --bank "$dir/foreign.bank" -- "$member" 2>"$dir/err"; expect_rc $? 5 "foreign run"
  cmp -s <(head -c 100000 "$dir/foreign.bank") "$dir/foreign.bank" || fail "foreign file changed"
  if [ "$(id -u)" -ne 0 ]; then
    mkdir "$dir/ro"; chmod 555 "$dir/ro"; H run --bank "$dir/ro/x.bank" -- "$member" 2>"$dir/err"; expect_rc $? 6 "unwritable"
  fi
  H run "${T[@]}" -- "$member" >/dev/null 2>&1; expect_rc $? 0 "make a bank"
  H kill -g 5 --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "unknown group"
  H kill 999999 --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "unknown pid"
  H restart --bank "$bank" 2>"$dir/err"; expect_rc $? 10 "no supervisor"
  H run --bank "$bank" -g 40 -- "$member" 2>"$dir/err"; expect_rc $? 4 "group out of range"
  H frobnicate 2>/dev/null; expect_rc $? 2 "unknown command"
  for c in run serve kill restart upgrade status blocks check; do H $c --help >/dev/null || fail "$c --help"; done
  ;;
listen)
  "$hrctl" run "${T[@]}" --listen 127.0.0.1:0 -- "$member" --serve 3 --crash 4:exit >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/err" "listening on 127.0.0.1:"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  pids=()
  for i in $(seq 1 8); do
    exec 5<>"/dev/tcp/127.0.0.1/$port" || fail "connection $i refused"
    read -r line <&5 || fail "no answer on connection $i"
    exec 5<&-
    pids+=("$line")
  done
  [ "$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)" -ge 3 ] || fail "expected answers from 3 runs: ${pids[*]}"
  kill -TERM $p; wait $p
  ;;
kill_pid_restart)
  "$hrctl" run "${T[@]}" -- "$member" --wait "$dir/go" >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "run 1"
  pid=$(H status --bank "$bank" --json | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
  [ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "no pid in status --json"
  H kill "$pid" --bank "$bank" >/dev/null || fail "kill PID"
  wait_for "$dir/out" "run 2 restarted=1"
  H restart --bank "$bank" >/dev/null || fail "restart"
  wait_for "$dir/out" "run 3 restarted=1"
  grep -q "site restart (requested)" "$dir/err" || fail "no site restart message"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "clean end"
  ;;
upgrade)
  "$hrctl" run "${T[@]}" -- "$member" --wait "$dir/go" --tag v1 >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "run 1"
  cp "$member" "$dir/member"
  H upgrade --bank "$bank" -g 0 --name hr_member -- "$dir/member" --wait "$dir/go" --tag v2 >/dev/null || fail "upgrade"
  wait_for "$dir/out" "run 2 restarted=1 tag=v2"
  # An upgrade restarts the group without counting a failure (controller restart_group).
  H status --bank "$bank" --json | grep -q '"restarts":0,"counter":0' || fail "the upgrade counted as a failure"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "after upgrade"
  ;;
heartbeat_exit0_sigterm)
  H run "${T[@]}" --heartbeat 500 -- "$member" --hang 1 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "hang restarted"
  grep -q "hang detected" "$dir/err" || fail "hang not detected"
  rm -f "$bank"
  H run "${T[@]}" --exit0-clean -- "$member" --plain >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "exit0 clean"
  grep -q "run 2" "$dir/out" && fail "exit 0 restarted under --exit0-clean"
  rm -f "$bank" "$dir/out" "$dir/err"  # else wait_for below can match the previous step's output
  "$hrctl" run "${T[@]}" --stop-timeout 2000 -- "$member" --wait "$dir/never" >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/out" "run 1"
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  grep -q "stopping the group" "$dir/err" || fail "no graceful stop"
  printf 'bank-size = 16M\nmax-badness = 7\n' >"$dir/conf"
  rm -f "$bank"
  H run --bank "$bank" --config "$dir/conf" -- "$member" >/dev/null 2>&1 || fail "config"
  H status --bank "$bank" | grep -q "max badness 7" || fail "config not applied"
  ;;
image)
  # A bank left with a group in it (gave up after escalation), copied: a copy is a valid image.
  H run "${T[@]}" --max-badness 2 --max-site-restarts 1 -- "$member" --crash-always segv >/dev/null 2>&1
  expect_rc $? 8 "gave up"
  cp "$bank" "$dir/img"
  H blocks --image "$dir/img" >"$dir/out" || fail "blocks --image"
  grep -q "__HR_IMG_0 .*image of hr_member" "$dir/out" || fail "image block not listed"
  H check --image "$dir/img" >"$dir/out"; expect_rc $? 0 "check a clean image"
  H check --image "$dir/img" --json | grep -q '"problems":\[\]' || fail "check --json on a clean image"
  H blocks --image "$dir/img" --json | grep -q '"name":"__HR_controller"' || fail "blocks --json"
  # The same bank at an offset inside a larger dump (as pmemsave of a RAM range writes it).
  { head -c 8192 /dev/urandom; cat "$dir/img"; head -c 4096 /dev/zero; } >"$dir/dump"
  size=$(stat -c %s "$dir/img")
  H check --image "$dir/dump" --offset 8192 --length "$size" >"$dir/out"; expect_rc $? 0 "check at an offset"
  H check --image "$dir/dump" 2>"$dir/err"; expect_rc $? 5 "no bank at offset 0"
  # A corrupted copy: one byte of the program's bytes in its image block flipped.
  cp "$dir/img" "$dir/bad"
  elf=$(grep -obUaP '\x7fELF' "$dir/bad" | head -1 | cut -d: -f1)
  [ -n "$elf" ] || fail "no ELF image in the bank copy"
  printf '\xAA' | dd of="$dir/bad" bs=1 seek=$((elf + 4096)) conv=notrunc status=none
  H check --image "$dir/bad" >"$dir/out"; expect_rc $? 11 "check a corrupted image"
  grep -q "checksum mismatch" "$dir/out" || fail "corruption not named"
  H check --image "$dir/bad" --json >"$dir/out"; expect_rc $? 11 "check --json on a corrupted image"
  grep -q '"problems":\[".*checksum mismatch' "$dir/out" || fail "check --json does not name the corruption"
  cmp -s "$dir/img" "$bank" || fail "the bank changed"
  H check --image "$dir/nope" 2>"$dir/err"; expect_rc $? 1 "missing image file"
  H check --image "$dir/img" --bank "$bank" 2>"$dir/err"; expect_rc $? 2 "--image with --bank"
  H status --image "$dir/img" 2>"$dir/err"; expect_rc $? 2 "status --image"
  ;;
prefix)
  H run "${T[@]}" --prefix -- "$member" --crash 1:segv >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "run --prefix"
  grep -Eq '^\[0 hr_member [0-9]+\] .*run 1 restarted=0$' "$dir/out" || fail "run 1 not prefixed"
  grep -Eq '^\[0 hr_member [0-9]+\] .*run 2 restarted=1$' "$dir/out" || fail "run 2 not prefixed"
  grep -v '^\[0 hr_member [0-9]*\] ' "$dir/out" | grep -q . && fail "a line without the prefix"
  [ "$(sed -n 's/^\[0 hr_member \([0-9]*\)\].*/\1/p' "$dir/out" | sort -u | wc -l)" -eq 2 ] || fail "expected two pids"
  # A line without its newline, on stderr, written just before a crash: still prefixed, not lost.
  rm -f "$bank"
  H run "${T[@]}" --prefix --exit0-clean -- /bin/sh -c 'printf "one\ntwo" >&2; exit 0' >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "run --prefix sh"
  grep -Eq '^\[0 sh [0-9]+\] one$' "$dir/err" || fail "stderr not prefixed"
  grep -Eq '^\[0 sh [0-9]+\] two$' "$dir/err" || fail "last partial line lost"
  # Without --prefix: unchanged. A delegated run with --prefix: prefixed, in its own output.
  rm -f "$bank"
  "$hrctl" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go" --tag a >"$dir/out1" 2>"$dir/err1" &
  p1=$!
  wait_for "$dir/out1" "run 1 restarted=0 tag=a"
  grep -q '^\[' "$dir/out1" && fail "prefixed without --prefix"
  "$hrctl" run --bank "$bank" -g 2 --prefix --name b -- "$member" --wait "$dir/go" --tag b >"$dir/out2" 2>"$dir/err2" &
  p2=$!
  wait_for "$dir/out2" "run 1 restarted=0 tag=b"
  grep -Eq '^\[2 b [0-9]+\] .*run 1 restarted=0 tag=b$' "$dir/out2" || fail "delegated run not prefixed"
  touch "$dir/go"
  wait "$p2"; expect_rc $? 0 "delegated run"
  wait "$p1"; expect_rc $? 0 "supervising run"
  ;;
*) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
