#!/usr/bin/env bash
# End-to-end tests of hrctl on real programs with real signals.
# Usage: e2e.sh CASE HRCTL MEMBER HELLO CHORUS_CALLS [NOTIFY_LISTENER]
# Each case uses its own bank and temp dir; no wall-clock thresholds (only generous timeouts
# that catch a hang).
set -uo pipefail
case_name=$1 hrctl=$2 member=$3 hello=$4 chorus=${5:-} listener=${6:-}
# shellcheck source=tests/runtime/lib.sh
. "$(dirname "$0")/lib.sh"

case $case_name in
hello_seed)
  H run "${T[@]}" -- "$hello" >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "hello world"
  diff <(printf 'Hello world!\nThe process has been restarted.\nExample finished. Exit.\n') "$dir/out" || fail "output"
  grep -q "crash detected: $(basename "$hello") .* SIGSEGV" "$dir/err" || fail "crash not reported"
  grep -q "group 0 terminated" "$dir/err" || fail "no termination"
  blocks_lack "__HR_IMG_\|PM1" "blocks left after termination"
  blocks_have "__HR_runtime_x .*hrctl runtime" "the runtime's extension block not shown as the runtime's"
  H check --bank "$bank" >/dev/null || fail "check"
  ;;
hello_pipe)
  # Output intact when stdout is a pipe (what it printed before the crash is not lost).
  H run "${T[@]}" -- "$hello" 2>"$dir/err" | cat >"$dir/out"
  expect_rc "${PIPESTATUS[0]}" 0 "hello world, stdout a pipe"
  diff <(printf 'Hello world!\nThe process has been restarted.\nExample finished. Exit.\n') "$dir/out" || fail "output through a pipe"
  grep -q "crash detected: $(basename "$hello") .* SIGSEGV" "$dir/err" || fail "crash not reported"
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
  launch "1" "run 1 restarted=0 tag=a" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p1=$launched
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
  launch "" "spawned helper: status 0" run "${T[@]}" -g 2 -- "$member" --spawn 1:helper --wait "$dir/go" --crash 1:segv; p=$launched
  wait_for "$dir/out" "helper run 1"
  H status --bank "$bank" | grep -q "helper .*indirect .*running" || fail "indirect member not running"
  touch "$dir/go"
  wait_for "$dir/err" "HR_CTRL: group 2 blocked, some members have not terminated: helper"
  grep -c "spawned helper" "$dir/out" | grep -q '^1$' || fail "indirect member spawned again"
  H status --bank "$bank" --json | grep -q '"state":"blocked"' || fail "status does not show blocked"
  H kill -g 2 --bank "$bank" >/dev/null || fail "kill -g"
  wait "$p"; expect_rc $? 12 "group killed"
  blocks_lack "__HR_IMG_\|runs-" "blocks left after kill -g"
  ;;
supervisor_killed)
  launch "" "run 1" run "${T[@]}" -- "$member" --wait "$dir/go" --crash 1:segv; p=$launched
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
  launch "" "run 1" run "${T[@]}" -- "$dir/prog" --wait "$dir/go" --crash 1:segv --tag original; p=$launched
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
  grep -q "group 0: giving up" "$dir/err" || fail "no give-up message"
  H check --bank "$bank" >/dev/null || fail "bank damaged"
  blocks_have "__HR_IMG_0" "image lost"
  blocks_have "runs-0 .*__HR_GROUP_0" "the group's state lost"
  [ "$(status_field 'd["groups"][0]["hold"]')" = gave_up ] || fail "the group is not held after give-up"
  ;;
bad_input)
  H run "${T[@]}" -- "$dir/nope" 2>"$dir/err"; expect_rc $? 3 "missing program"
  touch "$dir/noexec"; H run "${T[@]}" -- "$dir/noexec" 2>"$dir/err"; expect_rc $? 3 "not executable"
  grep -q "not executable" "$dir/err" || fail "message"
  H run "${T[@]}" --max-blocks 4 -- "$member" 2>"$dir/err"; expect_rc $? 7 "too small"
  grep -q "sizing rule" "$dir/err" || fail "sizing rule not in the message"
  H run --bank "$bank" --bank-size 64K -- "$member" 2>"$dir/err"; expect_rc $? 7 "too small bank"
  # A bank just under twice the program's size (the size depends on the compiler and flags; the
  # member, not the hello world: that one is a few KiB now that the ChorusOS calls are a library).
  small=$(( ( $(stat -c %s "$member") * 2 - 65536 ) / 4096 * 4096 ))
  [ "$small" -gt 0 ] || fail "the member is too small for this check ($(stat -c %s "$member") bytes)"
  rm -f "$bank"; H run --bank "$bank" --bank-size "$small" -- "$member" 2>"$dir/err"; expect_rc $? 7 "2x rule"
  grep -q "2 x the size of the restartable processes" "$dir/err" || fail "2x rule message"
  rm -f "$bank"
  ln -s "$dir/target" "$dir/link.bank"; H run --bank "$dir/link.bank" -- "$member" 2>"$dir/err"; expect_rc $? 6 "symlink"
  H status --bank "$dir/link.bank" 2>"$dir/err"; expect_rc $? 6 "symlink status"
  head -c 100000 /dev/urandom >"$dir/foreign.bank"; before=$(sha "$dir/foreign.bank")
  H status --bank "$dir/foreign.bank" 2>"$dir/err"; expect_rc $? 5 "foreign"
  grep -q "no hotrestart bank here" "$dir/err" || fail "foreign: message"
  grep -q "is not a bank file at all" "$dir/err" || fail "foreign: advice"
  H run --bank "$dir/foreign.bank" -- "$member" 2>"$dir/err"; expect_rc $? 5 "foreign run"
  H kill -g 0 --bank "$dir/foreign.bank" 2>"$dir/err"; expect_rc $? 5 "foreign kill -g"
  [ "$(sha "$dir/foreign.bank")" = "$before" ] || fail "foreign file changed"
  # A symbolic link to a valid bank is refused as well (not only a dangling one).
  H run "${T[@]}" -- "$member" >/dev/null 2>&1; expect_rc $? 0 "make a bank"
  ln -s "$bank" "$dir/valid-link.bank"; H status --bank "$dir/valid-link.bank" 2>"$dir/err"; expect_rc $? 6 "symlink to a bank"
  grep -q "not a symbolic link" "$dir/err" || fail "symlink: message"
  H status --bank "$dir/none.bank" 2>"$dir/err"; expect_rc $? 4 "no bank at that path"
  grep -q "cannot open bank $dir/none.bank" "$dir/err" || fail "missing bank: message"
  H kill -g 5 --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "unknown group"
  H kill 999999 --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "unknown pid"
  H restart --bank "$bank" 2>"$dir/err"; expect_rc $? 10 "no supervisor"
  H run --bank "$bank" -g 40 -- "$member" 2>"$dir/err"; expect_rc $? 4 "group out of range"
  H frobnicate 2>/dev/null; expect_rc $? 2 "unknown command"
  printf 'frobnicate = 1\n' >"$dir/bad.conf"; H run --bank "$bank" --config "$dir/bad.conf" -- "$member" 2>"$dir/err"; expect_rc $? 2 "unknown config key"
  grep -q "bad.conf:1: unknown key 'frobnicate'" "$dir/err" || fail "config key: message"
  printf '# tunables\nbank-size\n' >"$dir/bad.conf"; H run --bank "$bank" --config "$dir/bad.conf" -- "$member" 2>"$dir/err"; expect_rc $? 2 "bad config line"
  grep -q "bad.conf:2: expected key = value" "$dir/err" || fail "config line: message"
  H run --bank "$dir/p.bank" --policy fancy -- "$member" 2>"$dir/err"; expect_rc $? 2 "bad policy"
  grep -q "bad value 'fancy' for --policy" "$dir/err" || fail "policy: message"
  H run --bank "$dir/p.bank" --policy backoff --backoff-base 500 --backoff-cap 100 -- "$member" 2>"$dir/err"; expect_rc $? 2 "backoff cap below base"
  grep -q "backoff-cap must be >= --backoff-base" "$dir/err" || fail "backoff tunables: message"
  [ ! -e "$dir/p.bank" ] || fail "a bank was created for refused tunables"
  for c in run serve kill stop restart upgrade status blocks check; do H $c --help >/dev/null || fail "$c --help"; done
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
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  ;;
kill_pid_restart)
  launch "" "run 1" run "${T[@]}" -- "$member" --wait "$dir/go"; p=$launched
  pid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
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
  launch "" "run 1" run "${T[@]}" -- "$member" --wait "$dir/go" --tag v1; p=$launched
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
  launch "" "run 1" run "${T[@]}" --stop-timeout 2000 -- "$member" --wait "$dir/never"; p=$launched
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  grep -q "stopping the group" "$dir/err" || fail "no graceful stop"
  [ "$(status_field 'd["groups"][0]["hold"]')" = stopped ] || fail "the stopped group is not held"
  # The next hrctl run of the group resumes it: a restart that counts no failure.
  touch "$dir/never"
  H run --bank "$bank" -- "$member" --wait "$dir/never" >>"$dir/out" 2>"$dir/err2"; expect_rc $? 0 "resumed"
  grep -q "group 0: resumed (it was held: stopped on request)" "$dir/err2" || fail "not resumed"
  grep -q "run 2 restarted=1" "$dir/out" || fail "the resumed member did not run again"
  grep -q "crash detected" "$dir/err2" && fail "the stopped member was taken for a crash"
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
  # An image file others may write is refused as a bank would be (docs/security.md).
  chmod 666 "$dir/img"
  H check --image "$dir/img" 2>"$dir/err"; expect_rc $? 6 "an image file writable by others"
  grep -q "chmod 600" "$dir/err" || fail "no fix named for the image file"
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
  launch "1" "run 1 restarted=0 tag=a" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p1=$launched
  grep -q '^\[' "$dir/out1" && fail "prefixed without --prefix"
  launch "2" "run 1 restarted=0 tag=b" run --bank "$bank" -g 2 --prefix --name b -- "$member" --wait "$dir/go" --tag b; p2=$launched
  grep -Eq '^\[2 b [0-9]+\] .*run 1 restarted=0 tag=b$' "$dir/out2" || fail "delegated run not prefixed"
  touch "$dir/go"
  wait "$p2"; expect_rc $? 0 "delegated run"
  wait "$p1"; expect_rc $? 0 "supervising run"
  ;;
serve)
  # The long-running mode: every hrctl run on the bank is delegated to it.
  "$hrctl" serve "${T[@]}" >"$dir/serve.out" 2>"$dir/serve.err" &
  s=$!
  wait_for "$dir/serve.err" "created"
  H serve --bank "$bank" 2>"$dir/err"; expect_rc $? 9 "a second supervisor"
  grep -q "another supervisor (pid $s) serves" "$dir/err" || fail "busy: message"
  H run --bank "$bank" -g 3 -- "$member" --crash 1:segv >"$dir/out1" 2>"$dir/err1"; expect_rc $? 0 "delegated run under serve"
  grep -q "run 2 restarted=1" "$dir/out1" || fail "not restarted (or its output not relayed)"
  grep -q "group 3 restarted" "$dir/serve.err" || fail "the restart was not the serving supervisor's"
  grep -q "handed to the supervisor" "$dir/err1" || fail "not delegated"
  # A named group, killed: its hrctl run exits 12.
  launch "2" "run 1" run --bank "$bank" -g web -- "$member" --wait "$dir/go"; r=$launched
  H status --bank "$bank" | grep -q "^group 0 (web): running" || fail "named group not in status"
  H kill -g web --bank "$bank" >/dev/null || fail "kill -g NAME"
  wait $r; expect_rc $? 12 "named group killed"
  # SIGTERM to the server: every group with members running is stopped and held; the waiting
  # hrctl run of such a group exits 128+15.
  launch "3" "run 1" run --bank "$bank" -g api -- "$member" --wait "$dir/go"; r=$launched
  kill -TERM $s; wait $s; expect_rc $? 143 "serve stopped"
  wait $r; expect_rc $? 143 "the stopped group's hrctl run"
  grep -q "took its place" "$dir/err3" && fail "the waiting run took over a stopped group"
  H status --bank "$bank" | grep -q "^group 0 (api): held (stopped on request" || fail "stopped group not held"
  touch "$dir/go"
  H run --bank "$bank" -g api -- "$member" --wait "$dir/go" >"$dir/out4" 2>"$dir/err4"; expect_rc $? 0 "resume after serve"
  grep -q "run 2 restarted=1" "$dir/out4" || fail "the held group did not run again"
  ;;
group_names)
  launch "1" "run 1" run "${T[@]}" -g web -- "$member" --wait "$dir/go"; p=$launched
  [ "$(status_field '[g["gid"] for g in d["groups"] if g["name"] == "web"]')" = "[0]" ] || fail "group web is not group 0"
  H kill -g nosuch --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "unknown group name"
  H kill -g web --bank "$bank" >/dev/null || fail "kill -g web"
  wait $p; expect_rc $? 12 "named group killed"
  # A new named group gets the id again: it starts clean (nothing of the killed one's outcome).
  H run --bank "$bank" -g other -- "$member" >"$dir/out2" 2>"$dir/err2"; expect_rc $? 0 "a new group on a recycled id"
  grep -q "group 0: started hr_member" "$dir/err2" || fail "the id was not recycled"
  grep -q "run 1 restarted=0" "$dir/out2" || fail "a new member on a recycled process id was told it was restarted"
  # Two members in one named group: the second joins it.
  launch "3" "run 1" run --bank "$bank" -g pair --name a -- "$member" --wait "$dir/go2"; p=$launched
  launch "4" "run 1" run --bank "$bank" -g pair --name b -- "$member" --wait "$dir/go2"; q=$launched
  [ "$(status_field '[len(g["members"]) for g in d["groups"] if g["name"] == "pair"]')" = "[2]" ] || fail "b did not join group pair"
  touch "$dir/go2"
  wait $q; expect_rc $? 0 "b"
  wait $p; expect_rc $? 0 "a"
  ;;
bank_version)
  H run "${T[@]}" -- "$member" >/dev/null 2>&1; expect_rc $? 0 "make a bank"
  cp "$bank" "$dir/orig.bank"
  # The bank format's version word (bytes 8..11, docs/format.md) of another version.
  printf '\x63\x00\x00\x00' | dd of="$bank" bs=1 seek=8 conv=notrunc status=none
  before=$(sha "$bank")
  for c in status check; do
    H $c --bank "$bank" >/dev/null 2>"$dir/err"; expect_rc $? 5 "$c: other format version"
    grep -q "bank written by another format version" "$dir/err" || fail "$c: message"
  done
  H run --bank "$bank" -- "$member" >/dev/null 2>"$dir/err"; expect_rc $? 5 "run: other format version"
  grep -q "refusing this bank (nothing in it was changed)" "$dir/err" || fail "run: message"
  grep -q "has format version 99, this hrctl supports" "$dir/err" || fail "run: which versions"
  grep -q "converts only a runtime block of the previous versions" "$dir/err" || fail "run: what it can convert"
  H kill -g 0 --bank "$bank" 2>"$dir/err"; expect_rc $? 5 "kill -g: other format version"
  [ "$(sha "$bank")" = "$before" ] || fail "the refused bank was changed"
  # The runtime block ("HHRT", then its version word) written by another hrctl version.
  cp "$dir/orig.bank" "$bank"
  off=$(grep -obUaP 'HHRT\x04\x00\x00\x00' "$bank" | head -1 | cut -d: -f1)
  [ -n "$off" ] || fail "no runtime block found in the bank file"
  printf '\x01' | dd of="$bank" bs=1 seek=$((off + 4)) conv=notrunc status=none
  before=$(sha "$bank")
  H status --bank "$bank" 2>"$dir/err"; expect_rc $? 5 "status: other runtime version"
  grep -q "runtime block written by another hrctl version" "$dir/err" || fail "runtime version: message"
  H run --bank "$bank" -- "$member" >/dev/null 2>"$dir/err"; expect_rc $? 5 "run: other runtime version"
  H serve --bank "$bank" 2>"$dir/err"; expect_rc $? 5 "serve: other runtime version"
  H check --bank "$bank" >/dev/null 2>"$dir/err"; expect_rc $? 5 "check: other runtime version"
  cp "$bank" "$dir/img"
  H check --image "$dir/img" >"$dir/out"; expect_rc $? 11 "check --image: other runtime version"
  grep -q "runtime block: .*runtime block written by another hrctl version" "$dir/out" || fail "check --image does not name the runtime block"
  [ "$(sha "$bank")" = "$before" ] || fail "the refused bank was changed (runtime block)"
  H status --bank "$bank" 2>"$dir/err"
  grep -q "has runtime block version 1, this hrctl supports 4" "$dir/err" || fail "runtime version: which versions"
  # Each refusal says what to do about it: a bank cut short, a creation that died half-way.
  cp "$dir/orig.bank" "$dir/cut.bank"
  truncate -s $(($(stat -c %s "$dir/orig.bank") / 2)) "$dir/cut.bank"
  H status --bank "$dir/cut.bank" 2>"$dir/err"; expect_rc $? 5 "status: a bank cut short"
  grep -q "the file was cut.*Restore it from a copy" "$dir/err" || fail "cut: advice"
  cp "$dir/orig.bank" "$dir/init.bank"
  printf 'TINI' | dd of="$dir/init.bank" bs=1 seek=96 conv=notrunc status=none  # state word "INIT"
  H status --bank "$dir/init.bank" 2>"$dir/err"; expect_rc $? 5 "status: an interrupted creation"
  grep -q "died half-way.*create the bank again" "$dir/err" || fail "interrupted creation: advice"
  ;;
unwritable)
  # As root (CI): a directory nobody may create files in (sysfs), an immutable bank file
  # (chattr +i) and a bank on a read-only bind mount (a mount namespace).
  H run --bank "/sys/hr-e2e-$$.bank" -- "$member" 2>"$dir/err"; expect_rc $? 6 "new bank under /sys"
  grep -q "not writable" "$dir/err" || fail "sysfs: message"
  mkdir "$dir/ro"
  b2=$dir/ro/x.bank
  H run --bank "$b2" --bank-size 32M -- "$member" >/dev/null 2>&1; expect_rc $? 0 "make a bank"
  before=$(sha "$b2")
  ran=0
  if chattr +i "$b2" 2>/dev/null; then
    ran=1
    H run --bank "$b2" -- "$member" 2>"$dir/err"; expect_rc $? 6 "immutable bank: run"
    grep -q "not writable" "$dir/err" || fail "immutable: message"
    H status --bank "$b2" 2>"$dir/err"; expect_rc $? 6 "immutable bank: status"
    chattr -i "$b2"
  fi
  if unshare -m true 2>/dev/null; then
    ran=$((ran + 1))
    unshare -m bash -c 'mount --bind -o ro "$1" "$1" && exec "$2" run --bank "$1/x.bank" -- "$3"' _ \
      "$dir/ro" "$hrctl" "$member" 2>"$dir/err"
    expect_rc $? 6 "read-only mount: run"
    grep -q "not writable" "$dir/err" || fail "read-only mount: message"
  fi
  [ $ran -ge 1 ] || fail "neither chattr +i nor a mount namespace works here: cannot make a bank unwritable for root"
  [ "$(sha "$b2")" = "$before" ] || fail "the unwritable bank was changed"
  ;;
heartbeat_alive)
  # A member that calls process::heartbeat() keeps running past the deadline (2.3x it).
  H run "${T[@]}" --heartbeat 1500 -- "$member" --beat 20 3500 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "heartbeating member"
  grep -q "hang detected" "$dir/err" && fail "a heartbeating member was taken for hung"
  grep -q "heartbeats over 3500 ms" "$dir/out" || fail "the member did not run its course"
  [ "$(grep -c ' run ' "$dir/out")" -eq 1 ] || fail "the member was restarted"
  ;;
exit0_restart)
  # Exit 0 without the clean-exit call and without --exit0-clean: a failure, the group restarts.
  H run "${T[@]}" -- "$member" --plain-first 1 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "restarted after exit 0"
  grep -q "exited with status 0 without the clean-exit call" "$dir/err" || fail "exit 0 not taken for a failure"
  grep -q "run 2 restarted=1" "$dir/out" || fail "not restarted after exit 0"
  ;;
stop_timeout_kill)
  launch "" "run 1" run "${T[@]}" --stop-timeout 300 -- "$member" --ignore-term --wait "$dir/never"; p=$launched
  pid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  t=$(grep -n "SIGTERM sent" "$dir/err" | head -1 | cut -d: -f1)
  k=$(grep -n "still running after SIGTERM: SIGKILL" "$dir/err" | head -1 | cut -d: -f1)
  [ -n "$t" ] && [ -n "$k" ] && [ "$k" -gt "$t" ] || fail "no SIGKILL after SIGTERM for a member that ignores it"
  kill -0 "$pid" 2>/dev/null && fail "the member ($pid) still runs"
  [ "$(status_field 'd["groups"][0]["hold"]')" = stopped ] || fail "not held"
  [ "$(status_field 'd["groups"][0]["members"][0]["state"]')" = stopped ] || fail "the member is not shown stopped"
  ;;
chorus_calls)
  # The ChorusOS calls beyond the hello world, in a program under hrctl run (group 0), which
  # also kills group 1 with hrKillGroup.
  launch "" "chorus run 1" run "${T[@]}" -g 0 -- "$chorus" "$dir" 1; p=$launched
  launch "1" "run 1" run --bank "$bank" -g 1 -- "$member" --wait "$dir/never"; v=$launched
  touch "$dir/victim"
  wait $v; expect_rc $? 12 "group 1 killed by hrKillGroup"
  wait_for "$dir/out" "hrKillGroup unknown"
  for l in "chorus group 0" "pmmFreeAll APPKEY 0" "APP1 after pmmFreeAll 0" "pmmFreeAll HR_GROUP_KEY -6" \
           "STATE after refused pmmFreeAll 1" "hrfexecl pid, hrfexecve pid" "helper helper1: group 0" \
           "helper helper2: group 0" "hrGetActorGroup helpers 0 0, pid 1 -5" "hrfexecl missing program -5" \
           "hrKillGroup 1 0" "hrKillGroup unknown -5, negative -2"; do
    grep -qx -- "$l" "$dir/out" || fail "missing: $l"
  done
  # Every argument and bank error code (the values of runtime/chorus/README.md).
  for l in "pmmAllocate empty name -2" "pmmAllocate empty medium -2" "pmmAllocate unknown medium -2" \
           "pmmAllocate size 0 -2" "pmmAllocate no address -2" "pmmAllocate key NULL with a size -2" \
           "pmmFree NULL -2" "pmmFreeAll NULL -2" "hrfexecl no name -2" "vmPageSize ok" \
           "rgnAllocate writable 0 zero 1 reads 7" "rgnAllocate size 0 -2" "rgnAllocate another process -2" \
           "pmmAllocate long name -2" "pmmAllocate SMALL 0" "pmmAllocate SMALL again 0 same 1 value 5" \
           "pmmAllocate SMALL larger -4" "pmmAllocate HUGE -3" "pmmFree SMALL 0" "pmmFree SMALL again -5"; do
    grep -qx -- "$l" "$dir/out" || fail "missing: $l"
  done
  wait_for "$dir/err" "helper1 (pid [0-9]*) exited cleanly"
  wait_for "$dir/err" "helper2 (pid [0-9]*) exited cleanly"
  touch "$dir/crash"
  wait $p; expect_rc $? 0 "the ChorusOS program"
  grep -qx "restarted: STATE 2 KEEP 99" "$dir/out" || fail "state after the restart"
  blocks_have "^KEEP " "a block of another key was freed with the group"
  blocks_have "^APP1 " "a block re-created after pmmFreeAll is gone"
  blocks_lack "^STATE \|^APP2 \|__HR_IMG_" "group-keyed blocks or images left after termination"
  ;;
standalone)
  env -u HR_BANK "$member" >"$dir/out" 2>"$dir/err"; expect_rc $? 99 "member without hrctl"
  grep -q "HR_BANK is not set: this program was not started by \`hrctl run\`" "$dir/err" || fail "member: message"
  env -u HR_BANK "$chorus" --standalone >"$dir/out" 2>"$dir/err"; expect_rc $? 0 "ChorusOS program without hrctl"
  for l in "standalone pmmAllocate -7" "standalone pmmFree -7" "standalone pmmFreeAll -7" \
           "standalone hrGetActorGroup -7" "standalone hrfexecl -6" "standalone hrKillGroup -7" \
           "standalone vmPageSize ok"; do
    grep -qx -- "$l" "$dir/out" || fail "missing: $l"
  done
  [ "$(grep -c 'HR_BANK is not set' "$dir/err")" -eq 1 ] || fail "the reason is not said exactly once"
  ;;
chorus_bad_bank)
  # HR_BANK names a bank that is refused (not a bank: random bytes): K_EBADBANK, and the reason
  # once on stderr. A real bank of hrctl's, with a stale handle, is refused the same way.
  head -c 65536 /dev/urandom >"$dir/junk.bank"
  HR_BANK="$dir/junk.bank" HR_GROUP=0 HR_PROCESS=0 HR_HANDLE=1 "$chorus" --standalone >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "ChorusOS program with a refused bank"
  for l in "standalone pmmAllocate -8" "standalone pmmFree -8" "standalone pmmFreeAll -8" \
           "standalone hrGetActorGroup -8" "standalone hrKillGroup -8"; do
    grep -qx -- "$l" "$dir/out" || fail "missing: $l"
  done
  [ "$(grep -c '^hotrestart: ' "$dir/err")" -eq 1 ] || fail "the refusal is not said exactly once"
  H run "${T[@]}" -- "$member" >/dev/null 2>&1 || fail "making a bank"
  HR_BANK="$bank" HR_GROUP=0 HR_PROCESS=0 HR_HANDLE=999999 "$chorus" --standalone >"$dir/out2" 2>"$dir/err2"
  grep -qx -- "standalone pmmAllocate -8" "$dir/out2" || fail "stale handle: $(cat "$dir/out2")"
  grep -q "no record of this run" "$dir/err2" || fail "stale handle: reason"
  ;;
chorus_no_supervisor)
  # The supervisor is killed (SIGKILL) while a member runs: the calls that need it fail with
  # K_EFAIL, promptly, and say why; the member goes on.
  launch "" "orphan group 0" run "${T[@]}" -- "$chorus" --orphan "$dir"; p=$launched
  kill -9 $p; wait $p 2>/dev/null
  touch "$dir/go"
  wait_for "$dir/out" "orphan hrfexecl" 60
  for l in "orphan hrKillGroup -1" "orphan hrfexecl -1"; do
    grep -qx -- "$l" "$dir/out" || fail "missing: $l"
  done
  grep -q "hrfexec late: .*supervisor" "$dir/err" || fail "hrfexecl's reason"
  ;;
crash_loop_cpu)
  # A program that crashes on every start: restarts back off and escalate, a bounded number of
  # runs (max badness 4, one site restart: 8), and the supervisor's CPU time stays a small part
  # of the wall time (a tight loop would take a whole core).
  start=$(date +%s%N)
  "$hrctl" run "${T[@]}" --max-badness 4 --max-site-restarts 1 --interval 60000 -- "$member" --crash-always segv >"$dir/out" 2>"$dir/err" &
  p=$!
  ticks=0
  while kill -0 $p 2>/dev/null; do
    v=$(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null) && [ -n "$v" ] && ticks=$v
    sleep 0.05
  done
  wait $p; expect_rc $? 8 "gave up"
  wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  cpu_ms=$(( ticks * 1000 / $(getconf CLK_TCK) ))
  runs=$(grep -c ' run ' "$dir/out")
  echo "crash loop: $runs runs, supervisor CPU ${cpu_ms} ms over ${wall_ms} ms"
  [ "$runs" -eq 8 ] || fail "expected 8 runs (4 per escalation, 2 escalations), got $runs"
  [ $((cpu_ms * 4)) -lt "$wall_ms" ] || fail "supervisor CPU ${cpu_ms} ms is not under 25% of ${wall_ms} ms"
  ;;
exit_codes)
  launch "1" "run 1" run "${T[@]}" --name a -- "$member" --wait "$dir/go"; p=$launched
  # 13: the controller refuses a second process of a running name.
  H run --bank "$bank" --name a -- "$member" 2>"$dir/err"; expect_rc $? 13 "duplicate name"
  grep -q "a member named a is running in the group: --name gives this one another name" "$dir/err" || fail "duplicate: message (with the fix)"
  # 14: a supervisor that does not answer (stopped); the request is withdrawn, never performed.
  kill -STOP $p
  H restart --bank "$bank" --timeout 300 2>"$dir/err"; rc=$?
  kill -CONT $p
  expect_rc $rc 14 "no answer"
  grep -q "did not answer in time" "$dir/err" || fail "timeout: message"
  H kill -g 7 --bank "$bank" 2>"$dir/err"; expect_rc $? 4 "a request after the timed-out one"
  grep -q "site restart" "$dir/err1" && fail "the withdrawn request was performed"
  # 10: no supervisor, for the commands that need one.
  H stop -g 0 --bank "$dir/none.bank" 2>"$dir/err"; expect_rc $? 10 "stop without a supervisor"
  # 128+2: SIGINT.
  kill -INT $p; wait $p; expect_rc $? 130 "SIGINT"
  H stop -g 0 --bank "$bank" 2>"$dir/err"; expect_rc $? 10 "stop without a supervisor"
  ;;
per_group_giveup)
  # Group 2 crashes on every start; hrctl gives up on group 2 alone (exit 8 for its hrctl
  # run); group 1 goes on: one site restart (its member reruns once), then a clean end.
  launch "1" "run 1 restarted=0 tag=a" run "${T[@]}" --max-badness 3 --max-site-restarts 1 --interval 60000 -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p=$launched
  H run --bank "$bank" -g 2 --name b -- "$member" --crash-always segv >"$dir/out2" 2>"$dir/err2"; expect_rc $? 8 "given up on group 2"
  grep -q "group 2: giving up" "$dir/err1" || fail "no give-up message"
  [ "$(grep -c 'site restart (' "$dir/err1")" -eq 1 ] || fail "expected one site restart"
  kill -0 $p || fail "the supervisor of group 1 stopped"
  [ "$(status_field '[g["hold"] for g in d["groups"]]')" = "['', 'gave_up']" ] || fail "holds: group 1 none, group 2 gave up"
  wait_for "$dir/out1" "run 2 restarted=1 tag=a"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "group 1"
  [ "$(grep -c 'tag=a' "$dir/out1")" -eq 2 ] || fail "group 1 should run twice (one site restart)"
  ;;
give_up_window)
  H run "${T[@]}" --max-badness 2 --max-site-restarts 2 --interval 60000 -- "$member" --tally "$dir/t1" --crash-first 6 >"$dir/out" 2>"$dir/err"
  expect_rc $? 8 "three escalations in a row"
  [ "$(wc -l <"$dir/t1")" -eq 6 ] || fail "expected 6 runs before giving up"
  rm -f "$bank"
  # The same, with escalations further apart than the window: each starts the count again.
  H run "${T[@]}" --max-badness 2 --max-site-restarts 2 --interval 60000 --give-up-window 1 -- "$member" --tally "$dir/t2" --crash-first 6 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "escalations outside the window"
  [ "$(grep -c 'site restart (' "$dir/err")" -eq 3 ] || fail "expected 3 site restarts"
  [ "$(wc -l <"$dir/t2")" -eq 7 ] || fail "expected 7 runs"
  ;;
policy_discard)
  H run "${T[@]}" --discard-after 2 --interval 60000 -- "$member" --tally "$dir/t" --crash-first 2 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "discard"
  grep -q "discard the group's state after 2 restarts in a row" "$dir/err" || fail "policy not recorded at creation"
  grep -q "group 0: persistent state discarded" "$dir/err" || fail "no discard"
  for l in "run 1 restarted=0" "run 2 restarted=1" "run 1 restarted=1"; do
    grep -q "$l\$" "$dir/out" || fail "missing: $l (the run counter starts again after the discard)"
  done
  H status --bank "$bank" | grep -q "^policy chorus (interval 60000 ms, max badness 25), discard the group's state after 2 restarts in a row" || fail "status: policy"
  [ "$(status_field 'd["policy"]["discard_after"]')" = 2 ] || fail "status --json: discard_after"
  ;;
policy_window)
  H run "${T[@]}" --policy window --intensity 2 --period 60000 --max-site-restarts 1 -- "$member" --crash-always segv >"$dir/out" 2>"$dir/err"
  expect_rc $? 8 "window: gave up"
  grep -q "site restart (restarts within the period reached the intensity: group 0)" "$dir/err" || fail "no escalation by the window"
  [ "$(grep -c ' run ' "$dir/out")" -eq 4 ] || fail "expected 4 runs (2 per escalation)"
  H status --bank "$bank" >"$dir/st" || fail "status"
  grep -q "^policy window (site restart at 2 restarts within 60000 ms)" "$dir/st" || fail "status: policy"
  grep -q "^group 0: held (given up on" "$dir/st" || fail "status: the group is not held"
  [ "$(status_field 'd["policy"]["kind"]')" = window ] || fail "status --json: policy"
  # The bank keeps its policy.
  H kill -g 0 --bank "$bank" >/dev/null || fail "kill -g"
  H run --bank "$bank" --policy backoff -- "$member" >/dev/null 2>"$dir/err"; expect_rc $? 0 "run"
  grep -q "note: --policy backoff ignored: the bank was created with window" "$dir/err" || fail "no note"
  ;;
policy_backoff)
  H run "${T[@]}" --policy backoff --backoff-base 200 --backoff-cap 400 -- "$member" --tally "$dir/t" --crash-first 3 >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "backoff"
  [ "$(sed -n 's/.*run again in \([0-9]*\) ms/\1/p' "$dir/err" | tr '\n' ' ')" = "200 400 400 " ] || fail "delays: $(grep 'run again' "$dir/err")"
  grep -q "site restart (" "$dir/err" && fail "backoff escalated"
  [ "$(status_field 'd["policy"]["kind"]')" = backoff ] || fail "status --json: policy"
  ;;
listen_adopt)
  # The supervisor dies and another adopts the group: it takes the member's socket (no second
  # one), so every connection, before, during and after, is answered.
  # Each run answers 8 connections, then crashes: connections 3..8 go to the adopted member
  # (with a second socket, each would have had an even chance to land where nobody accepts).
  # Three sockets (fds 3, 4, 5 in every run): the adopting supervisor's image memfd gets a low
  # number (5, the adopted member's pidfd before it), which the sockets must not overwrite.
  "$hrctl" run "${T[@]}" --listen 127.0.0.1:0 --listen 127.0.0.1:0 --listen 127.0.0.1:0 -- "$member" --serve 8 >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/err" "listening on 127.0.0.1:"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  ask "$port" "1, supervised"; first=$answer
  kill -9 $p; wait $p 2>/dev/null
  ask "$port" "2, no supervisor"; [ "$answer" = "$first" ] || fail "connection 2 answered by $answer"
  "$hrctl" run --bank "$bank" -- "$member" --serve 8 >>"$dir/out" 2>"$dir/err2" &
  p=$!
  wait_for "$dir/err2" "adopted member hr_member (pid $first)"
  pids=()
  for i in $(seq 3 20); do ask "$port" "$i, adopted"; pids+=("$answer"); done
  [ "$(printf '%s\n' "${pids[@]:0:6}" | sort -u)" = "$first" ] || fail "connections 3..8 not all answered by the adopted member: ${pids[*]}"
  [ "$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)" -eq 3 ] || fail "expected answers from 3 runs: ${pids[*]}"
  grep -q "took over the listening socket(s) of pid $first" "$dir/err2" || fail "the socket was not taken over"
  grep -q "listening on" "$dir/err2" && fail "the adopting supervisor opened a socket of its own"
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  ;;
request_id_restart)
  # A supervisor that performed a request and ended before answering it (the test hook
  # HR_TEST_DIE_BEFORE_ANSWER ends it there, as a SIGKILL at that instant): the requester retries
  # with the same id and the next supervisor answers from its record: performed once.
  HR_TEST_DIE_BEFORE_ANSWER=1 "$hrctl" serve "${T[@]}" >"$dir/serve1.out" 2>"$dir/serve1.err" &
  s=$!
  wait_for "$dir/serve1.err" "created"
  "$hrctl" restart --bank "$bank" >"$dir/out1" 2>"$dir/err1" &
  r=$!
  wait $s; expect_rc $? 70 "the supervisor ended by the test hook"
  wait_for "$dir/err1" "retrying request"
  "$hrctl" serve --bank "$bank" >"$dir/serve2.out" 2>"$dir/serve2.err" &
  s=$!
  wait $r; expect_rc $? 0 "the retried restart"
  grep -q "was performed already" "$dir/out1" || fail "the retry was not answered from the record"
  [ "$(status_field 'd["site_restarts"]')" = 1 ] || fail "site restart performed $(status_field 'd["site_restarts"]') times, expected once"
  grep -q "performed already" "$dir/serve2.err" || fail "the next supervisor did not log the answer from its record"
  # The same id from another process (a retry): answered from the record, not performed.
  id=$(sed -n 's/.*retrying request \([0-9a-f]*\).*/\1/p' "$dir/err1" | head -1)
  HR_TEST_REQUEST_ID=$id H restart --bank "$bank" >"$dir/out2" 2>"$dir/err2"; expect_rc $? 0 "same id again"
  grep -q "was performed already" "$dir/out2" || fail "the same id was performed again"
  [ "$(status_field 'd["site_restarts"]')" = 1 ] || fail "the same id performed again"
  # Control: without the record (another id) the same request is performed.
  H restart --bank "$bank" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 0 "another id"
  grep -q "performed already" "$dir/out3" && fail "a new id was answered from the record"
  [ "$(status_field 'd["site_restarts"]')" = 2 ] || fail "a request with a new id was not performed"
  kill -TERM $s; wait $s
  ;;
request_id_kill)
  # kill -g retried with the same id after its supervisor ended before answering: performed
  # once (a second kill -g of the group would be refused: unknown group, exit 4).
  # (The supervisor is the hrctl run of the group: a delegated run would be a request too.)
  HR_TEST_DIE_BEFORE_ANSWER=1 "$hrctl" run "${T[@]}" -g web -- "$member" --wait "$dir/go" >"$dir/serve1.out" 2>"$dir/serve1.err" &
  s=$!
  wait_for "$dir/serve1.out" "run 1"
  "$hrctl" kill -g web --bank "$bank" >"$dir/out1" 2>"$dir/err1" &
  r=$!
  wait $s; expect_rc $? 70 "the supervisor ended by the test hook"
  wait_for "$dir/err1" "retrying request"
  "$hrctl" serve --bank "$bank" >"$dir/serve2.out" 2>"$dir/serve2.err" &
  s=$!
  wait $r; expect_rc $? 0 "the retried kill -g"
  grep -q "was performed already" "$dir/out1" || fail "the retry was not answered from the record"
  [ "$(cat "$dir"/serve*.err | grep -c "killed on request")" = 1 ] ||
    fail "kill -g performed $(cat "$dir"/serve*.err | grep -c "killed on request") times"
  # Control: a new id is performed: the group is gone, so it is refused as unknown.
  H kill -g web --bank "$bank" >"$dir/out2" 2>"$dir/err2"; expect_rc $? 4 "kill -g again, another id"
  kill -TERM $s; wait $s
  ;;
listen_v6)
  # IPv6 and host names: the bound ports in the log, status (text and JSON) and usable sockets.
  "$hrctl" run "${T[@]}" --listen '[::1]:0' --listen localhost:0 -- "$member" --serve 3 --crash 4:exit >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/err" "listening on 127.0.0.1:"
  grep -q "listening on \[::1\]:[1-9]" "$dir/err" || fail "no IPv6 socket"
  port6=$(sed -n 's/.*listening on \[::1\]:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  port4=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  H status --bank "$bank" | grep -q "^  listening: \[::1\]:$port6, 127.0.0.1:$port4" || fail "status: $(H status --bank "$bank")"
  [ "$(status_field '[(l["address"], l["port"], l["family"]) for l in d["groups"][0]["listening"]]')" = "[('::1', $port6, 'ipv6'), ('127.0.0.1', $port4, 'ipv4')]" ] ||
    fail "status --json: $(status_field 'd["groups"][0]["listening"]')"
  python3 -c 'import socket,sys; s=socket.create_connection(("::1", int(sys.argv[1])), 20); print(s.makefile().readline().strip())' "$port6" >"$dir/ans" ||
    fail "no answer on [::1]:$port6"
  grep -q '^[0-9][0-9]*$' "$dir/ans" || fail "IPv6 answer: $(cat "$dir/ans")"
  H run --bank "$bank" --listen '::1:80' -- "$member" 2>"$dir/err2"; expect_rc $? 2 "IPv6 without brackets"
  grep -q "in brackets" "$dir/err2" || fail "no advice for IPv6 without brackets"
  kill -TERM $p; wait $p
  ;;
convert_v2 | convert_v3)
  # The committed v2 (v3) fixture (a copy): hrctl convert, then check passes and status shows the
  # same groups, members and counters, and a free lease; a second convert does nothing.
  from=${case_name#convert_v}
  install -m 600 "$(dirname "$0")/../fixtures/v$from/hrctl.bank" "$bank"
  # A format-2 bank whose supervisor lock is held (a supervisor of an earlier hrctl serving it):
  # hrctl reads nothing and converts nothing (exit 5, saying why), the file is untouched.
  cp "$bank" "$dir/copy.bank"
  python3 - "$bank" "$dir/locked" <<'PYLOCK' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0))  # F_OFD_SETLK, byte 0
open(sys.argv[2], "w").close()
time.sleep(30)
PYLOCK
  locker=$!
  for _ in $(seq 100); do [ -e "$dir/locked" ] && break; sleep 0.1; done
  H status --bank "$bank" >"$dir/out-locked" 2>&1; expect_rc $? 5 "status of a format-2 bank under a supervisor"
  grep -q "served by a supervisor of an earlier hrctl" "$dir/out-locked" || fail "no reason: $(cat "$dir/out-locked")"
  grep -q "converts it to 3 in place when no supervisor serves it" "$dir/out-locked" || fail "no advice: $(cat "$dir/out-locked")"
  cmp -s "$bank" "$dir/copy.bank" || fail "the bank was written under a supervisor of an earlier hrctl"
  kill $locker; wait $locker 2>/dev/null
  H status --bank "$bank" >"$dir/before" || fail "status of the v$from bank"
  [ "$(status_field 'd["lease"]')" = None ] || fail "a v$from bank has no lease"
  H check --bank "$bank" >"$dir/out0" 2>&1; expect_rc $? 11 "check before the conversion"
  grep -q "runtime block version $from, this hrctl supports 4\|expected 4, found $from\|another hrctl version" "$dir/out0" || fail "check: $(cat "$dir/out0")"
  H convert --bank "$bank" >"$dir/out1"; expect_rc $? 0 "convert"
  grep -q "converted from version $from to 4" "$dir/out1" || fail "convert did not say what it did"
  grep -q "the node lease in the new block __HR_lease" "$dir/out1" || fail "convert did not name the lease block"
  H check --bank "$bank" >"$dir/out2"; expect_rc $? 0 "check after the conversion"
  H status --bank "$bank" >"$dir/after"
  diff "$dir/before" "$dir/after" >"$dir/err.diff" || fail "status changed: $(cat "$dir/err.diff")"
  [ "$(status_field 'd["lease"]["state"]')" = free ] || fail "the converted bank's lease is not free"
  H convert --bank "$bank" >"$dir/out3"; expect_rc $? 0 "convert again"
  grep -q "already version 4" "$dir/out3" || fail "a second conversion"
  ;;
delegated)
  launch "1" "tag=a" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p1=$launched
  # --listen and --stop-timeout travel with a delegated run; SIGTERM asks for a stop of its group.
  "$hrctl" run --bank "$bank" -g 2 --name web --listen 127.0.0.1:0 --stop-timeout 300 -- "$member" --serve 100 --ignore-term >"$dir/out2" 2>"$dir/err2" &
  p2=$!
  wait_for "$dir/err1" "group 2: listening on 127.0.0.1:"
  port=$(sed -n 's/.*group 2: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err1" | head -1)
  ask "$port" "the delegated run's socket"
  kill -TERM $p2; wait $p2; expect_rc $? 143 "delegated run stopped by SIGTERM"
  grep -q "group 2: web (pid $answer) still running after SIGTERM: SIGKILL" "$dir/err1" || fail "--stop-timeout not applied"
  kill -0 $p1 || fail "the supervisor stopped"
  [ "$(status_field '[g["hold"] for g in d["groups"]]')" = "['', 'stopped']" ] || fail "group 2 not held"
  # SIGINT: 130.
  launch "3" "run 1" run --bank "$bank" -g 3 -- "$member" --wait "$dir/go"; p3=$launched
  kill -INT $p3; wait $p3; expect_rc $? 130 "delegated run stopped by SIGINT"
  grep -q "SIGINT received: asking the supervisor to stop group 3, the whole group" "$dir/err3" ||
    fail "the delegated run did not say that it stops the whole group"
  # The serving supervisor's messages about a delegated run's group reach that run too.
  H run --bank "$bank" -g 5 -- "$member" --crash 1:segv >"$dir/out6" 2>"$dir/err6"; expect_rc $? 0 "delegated crash"
  grep -q "hrctl: group 5: crash detected: hr_member" "$dir/err6" || fail "the crash message did not reach the delegated run"
  grep -q "hrctl: group 5 restarted (" "$dir/err6" || fail "the restart message did not reach the delegated run"
  grep -q "group 1" "$dir/err6" && fail "another group's messages reached the delegated run"
  # The serving supervisor dies: the waiting run takes its place and passes its group's end on.
  launch "4" "run 1" run --bank "$bank" -g 4 -- "$member" --wait "$dir/go" --crash 1:segv; p4=$launched
  kill -9 $p1; wait $p1 2>/dev/null
  wait_for "$dir/err4" "took its place"
  grep -q "group 1: adopted member a" "$dir/err4" || fail "group 1 not adopted"
  touch "$dir/go"
  wait $p4; expect_rc $? 0 "the run that took over"
  grep -q "run 2 restarted=1" "$dir/out4" || fail "group 4 not restarted by the new supervisor"
  # A held group is resumed by its next hrctl run (no failure counted).
  H run --bank "$bank" -g 3 -- "$member" --wait "$dir/go" >"$dir/out5" 2>"$dir/err5"; expect_rc $? 0 "resumed group 3"
  grep -q "group 3: resumed (it was held: stopped on request)" "$dir/err5" || fail "not resumed"
  grep -q "run 2 restarted=1" "$dir/out5" || fail "group 3 did not run again"
  ;;
delegated_output)
  # A delegated run's output reaches its requester through the kernel (SCM_RIGHTS), into the
  # requester's own open file: every line, in order per stream, with >, >> and a pipe.
  printf '#!/bin/sh\ni=1\nwhile [ $i -le 20 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done\n' >"$dir/lines.sh"
  chmod 755 "$dir/lines.sh"
  "$hrctl" serve "${T[@]}" >"$dir/outs" 2>"$dir/errs" &
  s=$!
  wait_for "$dir/errs" "created"
  expected_out=$(seq 1 20 | sed 's/^/out /') expected_err=$(seq 1 20 | sed 's/^/err /')
  H run --bank "$bank" -g 1 --exit0-clean -- "$dir/lines.sh" >"$dir/f1" 2>"$dir/e1"; expect_rc $? 0 "run >"
  [ "$(cat "$dir/f1")" = "$expected_out" ] || fail "stdout with >: $(cat "$dir/f1")"
  [ "$(grep -v '^hrctl' "$dir/e1")" = "$expected_err" ] || fail "stderr with >: $(cat "$dir/e1")"
  echo "before" >"$dir/f2"
  H run --bank "$bank" -g 1 --exit0-clean -- "$dir/lines.sh" >>"$dir/f2" 2>>"$dir/e2"; expect_rc $? 0 "run >>"
  [ "$(cat "$dir/f2")" = "$(printf 'before\n%s' "$expected_out")" ] || fail "stdout with >>: $(cat "$dir/f2")"
  H run --bank "$bank" -g 1 --exit0-clean -- "$dir/lines.sh" 2>"$dir/e3" | cat >"$dir/f3"
  [ "$(cat "$dir/f3")" = "$expected_out" ] || fail "stdout through a pipe: $(cat "$dir/f3")"
  grep -q "handed to the supervisor" "$dir/e3" || fail "not delegated"
  grep -q "no output was handed over" "$dir/errs" && fail "the supervisor got no relay"
  kill -TERM $s; wait $s
  [ -e "$bank.sock" ] && fail "the relay socket was left behind"
  ;;
kill_no_supervisor)
  launch "1" "run 1" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go"; p1=$launched
  launch "2" "run 1" run --bank "$bank" -g 2 --name b -- "$member" --wait "$dir/go"; p2=$launched
  a=$(status_field '[m["pid"] for g in d["groups"] if g["gid"] == 1 for m in g["members"]][0]')
  b=$(status_field '[m["pid"] for g in d["groups"] if g["gid"] == 2 for m in g["members"]][0]')
  kill -9 $p2; wait $p2 2>/dev/null
  kill -9 $p1; wait $p1 2>/dev/null
  kill -9 "$a"  # group 1's member dies while no supervisor runs
  H kill -g 2 --bank "$bank" >"$dir/out" 2>"$dir/err"; expect_rc $? 0 "kill -g without a supervisor"
  gone_within "$b" 5 || fail "group 2's member still runs"
  # Group 1 untouched: its dead member not reported, no restart counted, nothing started.
  [ "$(status_field '[(g["gid"], g["restarts"], g["counter"], g["members"][0]["state"]) for g in d["groups"]]')" = "[(1, 0, 0, 'running')]" ] ||
    fail "kill -g touched group 1: $(H status --bank "$bank")"
  touch "$dir/go"
  H run --bank "$bank" -g 1 --name a -- "$member" --wait "$dir/go" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 0 "group 1 adopted later"
  grep -q "member a (pid $a) ended while no supervisor ran: treated as a crash" "$dir/err3" || fail "not reported to the next supervisor"
  ;;
indirect_clean)
  # Seed 002: only an indirect member that was running when the group restarted keeps the group
  # from terminating; one that had already exited cleanly does not.
  "$hrctl" run "${T[@]}" -- "$member" --spawn 1:helper --helper-wait / --wait "$dir/go" --crash 1:segv >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/err" "helper (pid [0-9]*) exited cleanly"
  touch "$dir/go"
  wait_for "$dir/err" "group 0 terminated\|blocked"
  grep -q "blocked" "$dir/err" && fail "the group was blocked by a member that had exited cleanly"
  wait $p; expect_rc $? 0 "group terminated"
  [ "$(grep -c 'spawned helper' "$dir/out")" -eq 1 ] || fail "helper spawned again"
  ;;
recover_clean_exit)
  # Re-running hrctl run after the supervisor died (the documented recovery) supervises the
  # group and does not run again a direct member that had exited cleanly (nothing restarted).
  launch 1 "spawned kid" run "${T[@]}" -- "$member" --spawn 1:kid --helper-wait "$dir/kidgo"; p=$launched
  wait_for "$dir/err1" "hr_member (pid [0-9]*) exited cleanly"
  kill -9 $p; wait $p 2>/dev/null
  "$hrctl" run --bank "$bank" -- "$member" --spawn 1:kid --helper-wait "$dir/kidgo" >"$dir/out2" 2>"$dir/err2" &
  p=$!
  wait_for "$dir/err2" "adopted member kid"
  wait_for "$dir/err2" "hr_member exited cleanly before: it stays exited"
  touch "$dir/kidgo"
  wait $p; expect_rc $? 0 "the group terminated"
  grep -q "run [0-9]" "$dir/out2" && fail "the member that had exited cleanly ran again: $(cat "$dir/out2")"
  grep -q "group 0 terminated" "$dir/err2" || fail "no termination after the recovery"
  ;;
resume_other_program)
  # A held group resumed with another program under a member's name is refused, naming what
  # the member's image runs and how to change it; the same program resumes it.
  launch 1 "run 1" run "${T[@]}" -- "$member" --wait "$dir/go"; p=$launched
  kill -TERM $p; wait $p; expect_rc $? 143 "stopped"
  H run --bank "$bank" --name hr_member -- /bin/echo other 2>"$dir/err2" >"$dir/out2"
  expect_rc $? 13 "another program under the member's name"
  grep -q "already has a member hr_member, whose image in the bank runs .*hr_member --wait" "$dir/err2" || fail "no explanation"
  grep -q "hrctl upgrade -g 0 --name hr_member" "$dir/err2" || fail "no advice"
  grep -q other "$dir/out2" && fail "the other program ran"
  [ "$(status_field 'd["groups"][0]["hold"]')" = stopped ] || fail "the refused run changed the hold"
  touch "$dir/go"
  H run --bank "$bank" -- "$member" --wait "$dir/go" >"$dir/out3" 2>"$dir/err3"
  expect_rc $? 0 "resumed with its own program"
  grep -q "run 2 restarted=1" "$dir/out3" || fail "not resumed"
  ;;
bank_truncated)
  # A bank cut short under the supervisor: it says so, stops the members, exits 15 (no SIGBUS,
  # no member left running unsupervised).
  launch 1 "run 1" run "${T[@]}" -- "$member" --wait "$dir/never"; p=$launched
  mpid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  kill -0 "$mpid" || fail "no member pid from status ($mpid)"
  truncate -s 4096 "$bank"
  wait $p; expect_rc $? 15 "bank cut short"
  grep -q "was cut short under the supervisor" "$dir/err1" || fail "no message"
  gone_within "$mpid" 5 || fail "member $mpid still running"
  H status --bank "$bank" >/dev/null 2>&1; expect_rc $? 5 "the cut bank is refused afterwards"
  # Again, with the member ending right after the cut: the supervisor's next read of the
  # bank (the member's end) is past the end of the file (SIGBUS), before its next fstat.
  rm -f "$bank"
  launch 2 "run 1" run "${T[@]}" -- "$member" --wait "$dir/go"; p=$launched
  truncate -s 4096 "$bank"; touch "$dir/go"
  wait $p; expect_rc $? 15 "bank cut short, member ending"
  grep -q "was cut short under the supervisor" "$dir/err2" || fail "no message (second cut)"
  ;;
rescue_kill)
  # The supervisor dies, then the bank is cut short: every command refuses it, but kill -g
  # still finds the group's members (environment + image) and kills them, and only them.
  launch 1 "run 1" run "${T[@]}" -- "$member" --wait "$dir/never"; p=$launched
  mpid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  kill -9 $p; wait $p 2>/dev/null
  kill -0 "$mpid" || fail "the member did not outlive its supervisor"
  env HR_BANK="$bank" HR_GROUP=0 sleep 1000 &  # names the bank and group, runs no image of it
  decoy=$!
  truncate -s 4096 "$bank"
  H status --bank "$bank" >/dev/null 2>&1; expect_rc $? 5 "refused"
  H kill -g 0 --bank "$bank" >"$dir/out2" 2>"$dir/err2"; expect_rc $? 0 "rescue kill -g"
  grep -q "killed hr_member (pid $mpid) of group 0" "$dir/out2" || fail "rescue output"
  for ((i = 0; i < 100; i++)); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$mpid" 2>/dev/null && fail "member still running"
  kill -0 $decoy || fail "a process that runs no image of the bank was killed"
  H kill -g 0 --bank "$bank" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 5 "nothing left: the refusal stands"
  grep -q "no member of group 0" "$dir/err3" || fail "no 'nothing found' message"
  ;;
failed_run_no_bank)
  # A run that fails before anything starts (its --listen port is taken) leaves no bank behind;
  # a bank created without --bank-size is sized from the program (16 MiB + 4 x its image).
  launch 1 "run 1" run "${T[@]}" --listen 127.0.0.1:0 -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/err1" "listening on 127.0.0.1:"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err1" | head -1)
  other=/dev/shm/hr-e2e-other-$$.bank
  H run --bank "$other" --listen "127.0.0.1:$port" -- "$member" >"$dir/out2" 2>"$dir/err2"
  rc=$?; [ $rc -ne 0 ] || fail "the run on a taken port succeeded"
  grep -q "cannot listen on 127.0.0.1:$port" "$dir/err2" || fail "no reason given"
  grep -q "removed: this run created it and started nothing in it" "$dir/err2" || fail "no removal said"
  [ -e "$other" ] && { rm -f "$other"; fail "the failed run left its bank behind"; }
  touch "$dir/go"; wait $p; expect_rc $? 0 "first run"
  H run --bank "$other" -- "$member" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 0 "sized run"
  size=$(stat -c %s "$other"); exe=$(stat -c %s "$member"); rm -f "$other"
  [ "$size" -ge $((16 * 1048576 + 4 * exe)) ] && [ "$size" -le $((20 * 1048576 + 4 * exe + 4 * 1048576)) ] ||
    fail "default bank size $size for a program of $exe bytes"
  ;;
messages)
  # The supervisor's opening words say what happened to the bank: created, an existing bank
  # that gets hrctl's state, adopted with its groups counted, or opened with none.
  writer=$(dirname "$member")/hr_writer
  "$writer" create "$bank" 33554432 || fail "cannot make a plain bank"
  H run --bank "$bank" -- "$member" >"$dir/out1" 2>"$dir/err1"; expect_rc $? 0 "run on a plain bank"
  grep -q "an existing bank without hrctl's state: that state set up" "$dir/err1" || fail "existing bank said to be created"
  grep -q ": created (" "$dir/err1" && fail "an existing bank reported as created"
  grep -q "terminated: its process images and 1 group-keyed block freed" "$dir/err1" || fail "singular block"
  H run --bank "$bank" -- "$member" >"$dir/out2" 2>"$dir/err2"; expect_rc $? 0 "second run"
  grep -q "opened (no group in it)" "$dir/err2" || fail "no-group opening"
  grep -q "adopting the" "$dir/err2" && fail "adopting groups that are not there"
  rm -f "$bank"
  H run "${T[@]}" -- "$member" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 0 "new bank"
  grep -q ": created (" "$dir/err3" || fail "a new bank not said to be created"
  ;;
spawn_failure)
  # The first start of a registered member fails (fds exhausted at its output pipes): a failure
  # of that run; the member keeps its image for the restarts (which fail the same way, until
  # hrctl gives up on the group).
  found=
  for n in $(seq 6 64); do
    rm -f "$bank"
    # (LeakSanitizer, under ASan, needs an fd at exit to list threads: not for this run)
    (ulimit -n "$n" && ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" exec "$hrctl" run "${T[@]}" --prefix --max-badness 2 --max-site-restarts 1 -- "$member") >"$dir/out" 2>"$dir/err"
    rc=$?
    if grep -q "cannot start hr_member: pipe:" "$dir/err"; then found=$n; break; fi
  done
  [ -n "$found" ] || fail "no fd limit made the first start fail after registration"
  echo "fd limit $found"
  expect_rc $rc 8 "every start fails"
  grep -q "image is missing" "$dir/err" && fail "the failed start freed the registered member's image"
  [ "$(grep -c 'cannot start hr_member: pipe:' "$dir/err")" -eq 4 ] || fail "expected 4 failed starts"
  blocks_have "__HR_IMG_0 .*image of hr_member" "image lost"
  ;;
ps_names)
  # Every member is named after its program in ps, top and pgrep (comm), not after its memfd,
  # and keeps its arguments (ps -o args): one that never calls the runtime (/bin/sleep), the
  # test member and a script, in one group, also after the group restarts.
  printf '#!/bin/sh\necho "script up restarted=$HR_RESTARTED"\nwhile [ ! -e "$1/go" ]; do sleep 0.1; done\n' >"$dir/hr_ps_script"
  chmod +x "$dir/hr_ps_script"
  "$hrctl" run "${T[@]}" -g ps --exit0-clean -- /bin/sleep 1000 >"$dir/out1" 2>"$dir/err1" &
  p=$!
  wait_for "$dir/err1" "started sleep"
  "$hrctl" run --bank "$bank" -g ps -- "$member" --wait "$dir/go" --tag m >"$dir/out2" 2>"$dir/err2" &
  wait_for "$dir/out2" "run 1 restarted=0 tag=m"
  "$hrctl" run --bank "$bank" -g ps -- "$dir/hr_ps_script" "$dir" >"$dir/out3" 2>"$dir/err3" &
  wait_for "$dir/out3" "script up restarted=0"
  # names_ok RUN: each member found by pgrep -x under the supervisor, with its name and args.
  names_ok() {
    local name args pid
    for name in sleep hr_member hr_ps_script; do
      pid=$(pgrep -x -P "$p" "$name") || fail "pgrep -x $name finds no member ($1): $(ps -o pid=,comm=,args= --ppid "$p")"
      [ "$(ps -o comm= -p "$pid")" = "$name" ] || fail "ps -o comm of $name: $(ps -o comm= -p "$pid") ($1)"
      [ "$(cat /proc/"$pid"/comm)" = "$name" ] || fail "comm of $name ($1)"
      case $name in
      sleep) args="/bin/sleep 1000" ;;
      hr_member) args="$member --wait $dir/go --tag m" ;;
      hr_ps_script) args="/hr_ps_script $dir" ;;
      esac
      ps -o args= -p "$pid" | grep -qF -- "$args" || fail "ps -o args of $name: $(ps -o args= -p "$pid"), expected $args ($1)"
      # Still executed from the sealed memfd: the exe link (the script's interpreter: an fd).
      case $name in
      hr_ps_script) ls -l /proc/"$pid"/fd | grep -qF "/memfd:hr:hr_ps_script" || fail "the script's image is not its memfd" ;;
      *) [[ "$(readlink /proc/"$pid"/exe)" == "/memfd:hr:$name"* ]] || fail "exe of $name: $(readlink /proc/"$pid"/exe)" ;;
      esac
    done
    pgrep -x -P "$p" "memfd:hr:sleep" >/dev/null && fail "a member still named after its memfd ($1)"
    return 0
  }
  names_ok "first runs"
  # A crash restarts the group; the new runs have the same names.
  kill -SEGV "$(pgrep -x -P "$p" hr_member)"
  wait_for "$dir/out2" "run 2 restarted=1 tag=m"
  wait_for "$dir/out3" "script up restarted=1"
  names_ok "after a crash"
  # hrctl kill PID still recognises a member (its exe is the memfd), here the sleep.
  H kill "$(pgrep -x -P "$p" sleep)" --bank "$bank" >/dev/null || fail "kill PID of the sleep member"
  wait_for "$dir/out2" "run 3 restarted=1 tag=m"
  names_ok "after hrctl kill PID"
  H kill -g ps --bank "$bank" >/dev/null || fail "kill -g"
  wait $p; expect_rc $? 12 "the group killed"
  grep -q "crash detected: hr_member .* SIGSEGV" "$dir/err1" || fail "the crash was not reported"
  ;;
script_member)
  # A script (#!) is imaged and rerun from its image, also after the file is gone.
  printf '#!/bin/sh\necho "script restarted=$HR_RESTARTED"\n[ "$HR_RESTARTED" = 1 ] && exit 0\nrm -f "$1/s.sh"\nkill -SEGV $$\n' >"$dir/s.sh"
  chmod +x "$dir/s.sh"
  H run "${T[@]}" --exit0-clean -- "$dir/s.sh" "$dir" >"$dir/out" 2>"$dir/err"; expect_rc $? 0 "script"
  [ ! -e "$dir/s.sh" ] || fail "the script did not remove itself"
  grep -qx "script restarted=0" "$dir/out" || fail "first run"
  grep -qx "script restarted=1" "$dir/out" || fail "the script was not rerun from its image"
  ;;
json)
  launch "1" "run 1" run "${T[@]}" -g 1 --name a -- "$member" --wait "$dir/go"; p=$launched
  # A process name that is not UTF-8 still gives valid JSON.
  launch "2" "run 1" run --bank "$bank" -g 2 --name $'n\xff"' -- "$member" --wait "$dir/go"; q=$launched
  for c in status blocks check; do
    H $c --bank "$bank" --json >"$dir/j" || fail "$c --json"
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$dir/j" || fail "$c --json is not JSON: $(cat "$dir/j")"
  done
  [ "$(status_field '[m["name"] for g in d["groups"] if g["gid"] == 2 for m in g["members"]][0]')" = $'n\u00ff"' ] || fail "name not escaped"
  touch "$dir/go"
  wait $q; expect_rc $? 0 "b"
  wait $p; expect_rc $? 0 "a"
  ;;
run_returns)
  # hrctl run ends with its group, even while another group runs (whose waiting run takes over).
  launch "1" "run 1" run "${T[@]}" -g 1 -- "$member" --wait "$dir/go1"; p1=$launched
  launch "2" "run 1" run --bank "$bank" -g 2 -- "$member" --wait "$dir/go2"; p2=$launched
  touch "$dir/go1"
  wait_for "$dir/err1" "other groups still run"
  wait $p1; expect_rc $? 0 "run of group 1"
  wait_for "$dir/err2" "took its place"
  touch "$dir/go2"
  wait $p2; expect_rc $? 0 "run of group 2"
  # --serve-all: the supervisor serves group 2 to its end. (The outputs go too: a launch waits for
  # "run 1" in its output file, which the first half's runs already wrote.)
  rm -f "$bank" "$dir"/err* "$dir"/out*
  launch "1" "run 1" run "${T[@]}" --serve-all -g 1 -- "$member" --wait "$dir/go3"; p1=$launched
  launch "2" "run 1" run --bank "$bank" -g 2 -- "$member" --wait "$dir/go4"; p2=$launched
  touch "$dir/go3"
  wait_for "$dir/err1" "group 1 terminated"
  touch "$dir/go4"
  wait $p2; expect_rc $? 0 "run of group 2"
  wait $p1; expect_rc $? 0 "run --serve-all"
  grep -q "group 2 terminated" "$dir/err1" || fail "group 2 not served to its end by the --serve-all run"
  grep -q "took its place" "$dir/err2" && fail "the --serve-all run did not keep serving"
  ;;
sizing_staged)
  # The 2x sizing rule also holds for images that come through the mailbox (a delegated run,
  # hrfexec): a bank that holds one image of the member by the rule refuses a second one.
  page=$(getconf PAGESIZE)
  img=$(( ($(stat -c %s "$member") + 344 + 1024 + page - 1) / page * page ))
  size=$(( 20480 + 2 * img + 4 * page ))
  launch "1" "run 1" run --bank "$bank" --bank-size "$size" -- "$member" --wait "$dir/go"; p=$launched
  H run --bank "$bank" --name second -- "$member" 2>"$dir/err"; expect_rc $? 7 "second image, delegated"
  grep -q "the supervisor refused: bank too small for second: sizing rule" "$dir/err" || fail "delegated: message"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "the first member"
  blocks_lack "__HR_REQ_\|__HR_IMG_" "a staged or refused image left in the bank"
  ;;
double_escalation)
  # Two groups escalate in the same event batch (their members died while no supervisor ran;
  # max badness 1: every failure escalates): one site restart for both, not two.
  launch 1 "run 1" run "${T[@]}" --max-badness 1 --interval 60000 -g 1 --name a -- "$member" --wait "$dir/go"; p1=$launched
  launch 2 "run 1" run --bank "$bank" -g 2 --name b -- "$member" --wait "$dir/go"; p2=$launched
  a=$(status_field '[m["pid"] for g in d["groups"] if g["gid"] == 1 for m in g["members"]][0]')
  b=$(status_field '[m["pid"] for g in d["groups"] if g["gid"] == 2 for m in g["members"]][0]')
  kill -9 $p2; wait $p2 2>/dev/null
  kill -9 $p1; wait $p1 2>/dev/null
  kill -9 "$a" "$b"
  touch "$dir/go"
  H run --bank "$bank" -g 1 --name a -- "$member" --wait "$dir/go" >"$dir/out3" 2>"$dir/err3"; expect_rc $? 0 "adopting run"
  [ "$(grep -c 'site restart (' "$dir/err3")" -eq 1 ] || fail "expected one site restart: $(grep 'site restart' "$dir/err3")"
  grep -q "site restart (restart counter reached max badness: group 1 2)" "$dir/err3" || fail "both escalations not in one site restart"
  [ "$(status_field 'd["site_restarts"]')" = 1 ] || fail "site restarts counted"
  ;;
check_fields)
  # hrctl check validates every field of the runtime block against the controller: each
  # corrupted word is named (record, field, value, what it may be), exit 11.
  make_down_bank
  H check --bank "$bank" >"$dir/out"; expect_rc $? 0 "check of the untouched bank"
  cp "$bank" "$dir/orig.bank"
  # corrupt WHAT OFFSET VALUE EXPECTED-PROBLEM
  corrupt() {
    cp "$dir/orig.bank" "$bank"
    poke "$2" "$3"
    H check --bank "$bank" >"$dir/out"; expect_rc $? 11 "check: $1"
    grep -qF -- "  $4" "$dir/out" || fail "check: $1: not reported as '$4'"
    H check --bank "$bank" --json >"$dir/out.json"; expect_rc $? 11 "check --json: $1"
    python3 - "$dir/out.json" "$4" <<'PY' || fail "check --json: $1"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1 and d["consistent"] is False, d
assert sys.argv[2] in d["problems"], d["problems"]
PY
  }
  g0=$(group_slot 0)
  corrupt "held" $((g0 + 88)) 7 "group 0: held word 7 is not a hold reason (0 none, 1 stopped, 2 gave up)"
  corrupt "last_outcome" $((g0 + 52)) 4 "group 0: last_outcome word 4 is not a group outcome (0 none, 1 clean, 2 killed)"
  corrupt "listen_count" $((g0 + 56)) 9 "group 0: listen_count 9 is over 4"
  corrupt "group name length" $((g0 + 32)) 40 "group 0: name length 40 is over 32"
  corrupt "group flags" $((g0 + 36)) 6 "group 0: flags word 0x6 has unknown bits (known: 0x1 exit0-clean)"
  corrupt "process gid" $(($(proc_slot 0) + 36)) 5 'process slot 0: gid 5, but the controller has process 0 ("hr_member") of that run in group 0'
  corrupt "process gid range" $(($(proc_slot 0) + 36)) 999 "process slot 0: gid 999 is not a group id (max_groups 32)"
  corrupt "pid" $(($(proc_slot 0) + 32)) $((0xFFFFFFFE)) "process slot 0: pid -2 is not a process id (0 none, or a pid)"
  corrupt "request state" $(request_slot 3) 9 "request slot 3: state word 9 is not a request state (0 free, 1 claimed, 2 ready, 3 done, 4 serving, 5 abandoned)"
  corrupt "policy kind" $(($(rt_offset) + 20)) 5 "runtime header: policy word 5 is not a restart policy (0 chorus, 1 window, 2 backoff)"
  # status shows the invalid hold as such, never garbage.
  cp "$dir/orig.bank" "$bank"; poke $((g0 + 88)) 7
  H status --bank "$bank" >"$dir/out"; expect_rc $? 0 "status with an invalid hold"
  grep -q "^group 0 (web): held (invalid value 7: run hrctl check), 1 member" "$dir/out" || fail "status: invalid hold"
  if grep -q "held (;" "$dir/out"; then fail "status prints garbage for an invalid hold"; fi
  [ "$(status_field 'd["groups"][0]["hold"], d["groups"][0]["hold_value"]')" = "('invalid', 7)" ] || fail "status --json: invalid hold"
  cp "$dir/orig.bank" "$bank"; poke $(($(rt_offset) + 20)) 5
  H status --bank "$bank" >"$dir/out"; expect_rc $? 0 "status with an invalid policy"
  grep -q "^policy (invalid value 5: run hrctl check)" "$dir/out" || fail "status: invalid policy"
  [ "$(status_field 'd["policy"]["kind"], d["policy"]["kind_value"]')" = "('invalid', 5)" ] || fail "status --json: invalid policy"
  ;;
corrupt_refused)
  # hrctl run and serve refuse a bank that check finds corrupt (listing why), and leave it
  # unchanged; --force adopts it anyway.
  make_down_bank
  poke $(($(group_slot 0) + 88)) 7
  before=$(sha "$bank")
  H run --bank "$bank" -g web -- "$member" >/dev/null 2>"$dir/err"; expect_rc $? 5 "run of a corrupt bank"
  grep -q "refusing to adopt bank .*: hrctl check finds 1 problem:" "$dir/err" || fail "run: no refusal"
  grep -q "group 0: held word 7 is not a hold reason" "$dir/err" || fail "run: the problem is not listed"
  grep -q -- "--force to adopt it anyway" "$dir/err" || fail "run: --force not mentioned"
  H serve --bank "$bank" >/dev/null 2>"$dir/err"; expect_rc $? 5 "serve of a corrupt bank"
  grep -q "group 0: held word 7 is not a hold reason" "$dir/err" || fail "serve: the problem is not listed"
  [ "$(sha "$bank")" = "$before" ] || fail "the refused bank was changed"
  touch "$dir/go"
  H run --force --bank "$bank" -g web -- "$member" --wait "$dir/go" >"$dir/out" 2>"$dir/err"; expect_rc $? 0 "run --force"
  grep -q "warning: adopting bank .* with 1 problem (--force)" "$dir/err" || fail "run --force: no warning"
  grep -q "run 2 restarted=1" "$dir/out" || fail "run --force: the group did not run again"
  ;;
status_down)
  # status without a supervisor: a member recorded as running that is gone is not shown as
  # running with its old pid.
  make_down_bank
  H status --bank "$bank" >"$dir/out"; expect_rc $? 0 "status"
  grep -q "hr_member .*direct .*not running (supervisor down), last pid $down_pid, runs 1" "$dir/out" || fail "status: the dead member"
  if grep "pid $down_pid" "$dir/out" | grep -v "not running" | grep -q "running"; then fail "status: the dead member shown running"; fi
  grep -q "supervisor not running, 0 site restarts$" "$dir/out" || fail "status: plural"
  grep -q "^group 0 (web): running, 1 member, 0 restarts, " "$dir/out" || fail "status: singular"
  [ "$(status_field 'd["groups"][0]["members"][0]["state"], d["groups"][0]["members"][0]["alive"]')" = "('running', False)" ] || fail "status --json: the dead member"
  ;;
blocks_escape)
  # Block names are bytes: blocks prints them escaped (a newline does not break the table, an
  # escape sequence does not reach the terminal), and --json tells non-UTF-8 names apart.
  H run "${T[@]}" -- "$member" --block $'two\nlines' --block $'red\x1b[31m' --block $'raw\xff' >/dev/null 2>"$dir/err"; expect_rc $? 0 "run"
  H blocks --bank "$bank" >"$dir/out"; expect_rc $? 0 "blocks"
  if grep -q $'\x1b' "$dir/out"; then fail "blocks: a raw escape byte reaches the terminal"; fi
  grep -qF 'two\nlines ' "$dir/out" || fail "blocks: newline not escaped"
  grep -qF 'red\x1b[31m ' "$dir/out" || fail "blocks: ESC not escaped"
  grep -qF 'raw\xff ' "$dir/out" || fail "blocks: a non-UTF-8 byte not escaped"
  [ "$(grep -c . "$dir/out")" -eq $(( $(H blocks --bank "$bank" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["blocks"])') + 2 )) ] ||
    fail "blocks: the table has not one line per block"
  H blocks --bank "$bank" --json >"$dir/out.json"; expect_rc $? 0 "blocks --json"
  python3 - "$dir/out.json" <<'PY' || fail "blocks --json: names"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1
names = {b["name"]: b for b in d["list"]}
assert "two\nlines" in names and "red\x1b[31m" in names, names
assert "name_hex" not in names["two\nlines"]
raw = [b for b in d["list"] if b.get("name_hex") == "726177ff"]
assert len(raw) == 1, d["list"]
PY
  ;;
json_schema)
  # Every --json output carries schema_version 1; a failed --json command prints the error
  # object on stdout.
  H run "${T[@]}" -- "$member" >/dev/null 2>&1; expect_rc $? 0 "make a bank"
  for c in status blocks check; do
    H $c --bank "$bank" --json >"$dir/out"; expect_rc $? 0 "$c --json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema_version"] == 1, d' "$dir/out" || fail "$c --json: no schema_version"
  done
  # expect_json_error RC KIND CMD...: CMD exits RC and prints the error object of that kind.
  expect_json_error() {
    local rc=$1 kind=$2; shift 2
    H "$@" --json >"$dir/out" 2>"$dir/err"; expect_rc $? "$rc" "$*"
    python3 - "$dir/out" "$rc" "$kind" <<'PY' || fail "$*: no JSON error object"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1, d
e = d["error"]
assert e["exit_code"] == int(sys.argv[2]) and e["kind"] == sys.argv[3] and e["message"], d
PY
  }
  # A bank hrctl never supervised (a seed of the fuzz corpus).
  cp "$(dirname "$0")/../fuzz/corpus/populated" "$dir/plain.bank"; chmod 600 "$dir/plain.bank"
  expect_json_error 4 unknown status --bank "$dir/plain.bank"
  grep -q "never supervised" "$dir/out" || fail "status --json: the message"
  expect_json_error 4 unknown status --bank "$dir/none.bank"
  expect_json_error 4 unknown blocks --bank "$dir/none.bank"
  expect_json_error 4 unknown check --bank "$dir/none.bank"
  head -c 8192 /dev/urandom >"$dir/foreign.bank"; chmod 600 "$dir/foreign.bank"
  expect_json_error 5 bank check --bank "$dir/foreign.bank"
  ;;
cli_usage)
  # usage_is MESSAGE ARGS...: hrctl ARGS exits 2 and says MESSAGE (a fixed string) on stderr;
  # nothing is created.
  usage_is() {
    local want=$1 rc
    shift
    H "$@" >"$dir/out" 2>"$dir/err"; rc=$?
    [ $rc -eq 2 ] || fail "hrctl $* exited $rc, expected 2 (usage)"
    grep -qF -- "$want" "$dir/err" || fail "hrctl $*: expected '$want' in: $(cat "$dir/err")"
    [ ! -e "$bank" ] || fail "hrctl $* created the bank"
  }
  long=$(printf 'a%.0s' {1..33})
  usage_is "unknown option -x" status --bank "$bank" -x
  usage_is "stray arguments 'extra' 'words'" status --bank "$bank" extra words
  usage_is "unknown option --jsn; did you mean --json?" status --bank "$bank" --jsn
  usage_is "unknown option --bogus" status --bank "$bank" --bogus
  usage_is "unknown option --bogus" run "${T[@]}" --bogus 1 -- "$member"
  usage_is "unknown option --bank-sise; did you mean --bank-size?" run --bank "$bank" --bank-sise 32M -- "$member"
  usage_is "option --bank-size is not for status" status --bank "$bank" --bank-size 32M
  usage_is "option --image is not for status" status --image "$dir/img"
  usage_is "unknown command 'stauts'; did you mean status?" stauts --bank "$bank"
  usage_is "unknown command 'frobnicate'" frobnicate
  usage_is "bad value '-1' for --group" run "${T[@]}" -g -1 -- "$member"
  usage_is "bad value '99999999999' for --group" run "${T[@]}" -g 99999999999 -- "$member"
  usage_is "bad value '+3' for --group" kill --bank "$bank" -g +3
  usage_is "a group name has 1..32 bytes; this one has 33" run "${T[@]}" -g "$long" -- "$member"
  usage_is "a group name has 1..32 bytes; this one has 33" stop --bank "$bank" -g "$long"
  usage_is "bad value '$long' for --name (a name of 1..32 bytes" run "${T[@]}" --name "$long" -- "$member"
  usage_is "bad value '-1' for --bank-size" run --bank "$bank" --bank-size -1 -- "$member"
  usage_is "bad value '18446744073709551616' for --bank-size" run --bank "$bank" --bank-size 18446744073709551616 -- "$member"
  usage_is "bad value '17179869184G' for --bank-size" run --bank "$bank" --bank-size 17179869184G -- "$member"
  usage_is "bad value ' 64M' for --bank-size" run --bank "$bank" --bank-size ' 64M' -- "$member"
  usage_is "bad value '64M ' for --bank-size" run --bank "$bank" --bank-size '64M ' -- "$member"
  usage_is "bad value '+5' for --max-blocks" run "${T[@]}" --max-blocks +5 -- "$member"
  usage_is "bad value '4294967296' for --max-processes" run "${T[@]}" --max-processes 4294967296 -- "$member"
  usage_is "bad value '-5' for --timeout" restart --bank "$bank" --timeout -5
  usage_is "bad value '1K ' for --offset" blocks --image "$dir/img" --offset '1K '
  usage_is "option --json takes no value" status --bank "$bank" --json=yes
  usage_is "option --bank needs a value" status --bank
  usage_is "stray arguments: '2'" kill --bank "$bank" 1 2
  usage_is "stray argument '7' (kill -g GROUP takes no PID)" kill --bank "$bank" -g 0 7
  usage_is "takes no program" serve "${T[@]}" -- "$member"
  # The image limits (layout.hpp), before anything is created.
  usage_is "too many arguments: 257 words" run "${T[@]}" -- "$member" $(seq 1 256)
  usage_is "an image holds at most 256" upgrade --bank "$bank" -g 0 -- "$member" $(seq 1 256)
  big=$(head -c 70000 /dev/zero | tr '\0' x)
  usage_is "an image holds at most 65536 bytes" run "${T[@]}" -- "$member" "$big"
  # --json: a usage error is a JSON object on stdout as well.
  H status --bank "$bank" --json --bogus >"$dir/out" 2>"$dir/err"; expect_rc $? 2 "json usage error"
  python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["error"]; assert d["schema_version"]==1 and e["exit_code"]==2 and e["kind"]=="usage" and e["message"]=="unknown option --bogus", d' <"$dir/out" ||
    fail "JSON usage error: $(cat "$dir/out")"
  H stauts --json >"$dir/out" 2>/dev/null; expect_rc $? 2 "json unknown command"
  grep -q '"message":"unknown command .stauts.; did you mean status?"' "$dir/out" || fail "JSON unknown command: $(cat "$dir/out")"
  # What still works: a name of exactly 32 bytes, a numeric group id, sizes with suffixes.
  H run "${T[@]}" -g "${long:1}" --name "${long:1}" --exit0-clean -- /bin/true >/dev/null 2>"$dir/err"; expect_rc $? 0 "32-byte names"
  H run --bank "$bank" -g 1 --exit0-clean -- /bin/true >/dev/null 2>"$dir/err"; expect_rc $? 0 "group id 1"
  # --version / version: the project's version, the formats, the JSON schema.
  H --version >"$dir/out"; expect_rc $? 0 "--version"
  grep -Eq '^hrctl \(hotrestart\) [0-9]+\.[0-9]+\.[0-9]+$' "$dir/out" || fail "--version: $(cat "$dir/out")"
  grep -Eq '^bank formats: bank [0-9]+, runtime [0-9]+, controller [0-9]+, image [0-9]+$' "$dir/out" || fail "--version formats"
  grep -q '^JSON schema: 1$' "$dir/out" || fail "--version schema"
  H version >"$dir/out2"; cmp -s "$dir/out" "$dir/out2" || fail "hrctl version differs from --version"
  H version --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema_version"]==1 and d["formats"]["bank"]>=1 and d["version"], d' || fail "version --json"
  # Every command's --help lists exactly the options its parser takes: each option listed by
  # --help is accepted, and each option of another command is refused by name.
  all=$(H __options all)
  for c in run serve kill stop restart upgrade status blocks check version; do
    H $c --help >"$dir/help" || fail "$c --help"
    listed=$(sed -nE 's/^  (-[a-zA-Z], )?    (--[a-z0-9-]+).*/\2/p; s/^  (-[a-zA-Z]), (--[a-z0-9-]+).*/\1\n\2/p' "$dir/help" | sort -u)
    [ "$listed" = "$(H __options $c | sort -u)" ] || fail "$c --help lists: $listed; the parser takes: $(H __options $c | sort -u | tr '\n' ' ')"
    for o in $all; do
      [ "$o" = --help ] || [ "$o" = -h ] && continue
      timeout 20 "$hrctl" $c "$o" 1 --bank "$dir/none/b.bank" --help >/dev/null 2>"$dir/err"
      if grep -qx -- "$o" <<<"$listed"; then
        if grep -Eq -- "unknown option $o|option $o is not for" "$dir/err"; then fail "$c refuses $o, which its --help lists"; fi
      else
        grep -q "option $o is not for $c" "$dir/err" || fail "$c accepts $o, which its --help does not list: $(cat "$dir/err")"
      fi
    done
  done
  ;;
cli_man)
  # The man page made from the option table: groff finds nothing to warn about, man reads it,
  # and it documents every option and exit code.
  H __man "$dir/hrctl.1" || fail "hrctl __man"
  groff -man -z -ww "$dir/hrctl.1" 2>"$dir/err" || fail "groff failed"
  [ ! -s "$dir/err" ] || fail "groff warnings: $(cat "$dir/err")"
  man --warnings -l "$dir/hrctl.1" >"$dir/out" 2>"$dir/err" || fail "man -l failed"
  [ ! -s "$dir/err" ] || fail "man warnings: $(cat "$dir/err")"
  for o in $(H __options all); do
    grep -qF -- "$(sed 's/-/\\-/g' <<<"$o")" "$dir/hrctl.1" || fail "the man page lacks $o"
  done
  for n in $(seq 0 14) 128+N; do grep -qx "\.B $n" "$dir/hrctl.1" || fail "the man page lacks exit code $n"; done
  grep -q "^\.SH EXIT STATUS" "$dir/hrctl.1" || fail "no EXIT STATUS section"
  ;;
cli_completion)
  # The bash completion made from the option table: valid bash; completes commands and each
  # command's options.
  H __bash-completion "$dir/hrctl.bash" || fail "hrctl __bash-completion"
  bash -n "$dir/hrctl.bash" || fail "not valid bash"
  comp() {  # comp WORDS...: what the completion offers for the last word
    bash -c 'source "$1"; shift; complete -p hrctl >/dev/null || exit 9
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hrctl; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$dir/hrctl.bash" "$@"
  }
  [ "$(comp hrctl st | tr '\n' ' ')" = "status stop " ] || fail "hrctl st: $(comp hrctl st | tr '\n' ' ')"
  [ "$(comp hrctl status --j | tr '\n' ' ')" = "--json " ] || fail "hrctl status --j: $(comp hrctl status --j)"
  comp hrctl run --bank-s | grep -qx -- --bank-size || fail "run --bank-s"
  [ -z "$(comp hrctl status --bank-s)" ] || fail "status offers a tunable"
  [ "$(comp hrctl run --policy w)" = window ] || fail "--policy values"
  touch "$dir/somefile"
  [ "$(comp hrctl status --bank "$dir/somef")" = "$dir/somefile" ] || fail "--bank completes files"
  ;;
status_watch)
  # hrctl status --watch with stdout a file: one full view, then a line per change, in order.
  launch 1 "run 1" run "${T[@]}" -g web -- "$member" --wait "$dir/go"; p=$launched
  pid1=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  "$hrctl" status --bank "$bank" --watch --every 100 >"$dir/out-watch" 2>"$dir/err-watch" &
  w=$!
  "$hrctl" status --bank "$bank" --watch --every 100 --json >"$dir/out-json" 2>"$dir/err-json" &
  j=$!
  # On a terminal (a pty from util-linux script): the screen is redrawn (home, clear to the end).
  if command -v script >/dev/null; then
    timeout -s INT 60 script -qfc "'$hrctl' status --bank '$bank' --watch --every 100" /dev/null \
      >"$dir/out-tty" 2>&1 &
    t=$!
  fi
  wait_for "$dir/out-watch" "Z group 0 (web): running, 1 member"
  wait_for "$dir/out-json" '"schema_version"'
  [ -n "${t:-}" ] && wait_for "$dir/out-tty" "group 0 (web): running"
  kill -SEGV "$pid1"  # the member crashes once; the group restarts it
  wait_for "$dir/out-watch" "Z group 0 (web): hr_member restarted (runs 2, pid "
  touch "$dir/go"
  wait $p; expect_rc $? 0 "the group ends cleanly after its restart"
  wait_for "$dir/out-watch" "Z group 0 (web): terminated"
  kill -INT $w; wait $w; expect_rc $? 0 "SIGINT ends status --watch"
  kill -TERM $j; wait $j; expect_rc $? 0 "SIGTERM ends status --watch --json"
  # The order: the view (timestamped), the restart, the termination; no escape sequences.
  snap=$(grep -n 'Z bank .*: supervisor running' "$dir/out-watch" | head -1 | cut -d: -f1)
  crash=$(grep -n 'hr_member restarted (runs 2' "$dir/out-watch" | head -1 | cut -d: -f1)
  term=$(grep -n 'group 0 (web): terminated' "$dir/out-watch" | head -1 | cut -d: -f1)
  [ -n "$snap" ] && [ -n "$crash" ] && [ -n "$term" ] && [ "$snap" -lt "$crash" ] &&
    [ "$crash" -lt "$term" ] || fail "view, restart, termination not in that order"
  grep -qvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ' "$dir/out-watch" && fail "a line without its time"
  grep -q $'\x1b' "$dir/out-watch" && fail "escape sequences when stdout is not a terminal"
  # --json: one parseable object per line, each with schema_version; the events are there.
  python3 - "$dir/out-json" <<'PY' || fail "status --watch --json"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
docs = [json.loads(l) for l in lines]
assert all(d["schema_version"] == 1 and "time" in d and "groups" in d for d in docs)
kinds = [(e["kind"], e.get("member")) for d in docs for e in d["events"]]
assert ("member_restarted", "hr_member") in kinds, kinds
assert kinds.index(("member_restarted", "hr_member")) < kinds.index(("group_terminated", None)), kinds
PY
  if [ -n "${t:-}" ]; then
    wait_for "$dir/out-tty" "terminated"
    kill -INT $t; wait $t
    grep -q $'\x1b\\[H' "$dir/out-tty" || fail "no cursor home on a terminal"
    grep -q $'\x1b\\[J' "$dir/out-tty" || fail "no clear to the end on a terminal"
    grep -q "supervisor pid [0-9]" "$dir/out-tty" || fail "no header on a terminal"
    grep -q "recent events:" "$dir/out-tty" || fail "no recent events on a terminal"
  fi
  # Usage: --watch is status's alone; --every is 100..60000 ms, and needs --watch.
  H blocks --bank "$bank" --watch >/dev/null 2>&1; expect_rc $? 2 "blocks --watch"
  H status --bank "$bank" --watch --every 5 >/dev/null 2>&1; expect_rc $? 2 "--every 5"
  H status --bank "$bank" --watch --every 60001 >/dev/null 2>&1; expect_rc $? 2 "--every 60001"
  H status --bank "$bank" --every 200 >/dev/null 2>&1; expect_rc $? 2 "--every without --watch"
  # The bank goes away: the watch ends with status's exit code for a missing bank.
  H status --bank "$bank" >/dev/null; rc_ok=$?
  "$hrctl" status --bank "$bank" --watch --every 100 >"$dir/out-gone" 2>"$dir/err-gone" &
  g=$!
  wait_for "$dir/out-gone" "Z bank "
  rm -f "$bank"
  wait $g; rc=$?
  H status --bank "$bank" >/dev/null 2>&1; expect_rc $rc $? "the watch of a bank that went away"
  [ $rc -ne 0 ] && [ $rc_ok -eq 0 ] || fail "exit $rc when the bank went away"
  ;;
sd_ready_call)
  # READY=1 only once the member called process::ready() (1.5 s after its start), never
  # before; a previous run's call, or time alone (--ready-after 0), does not count.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch 1 "run 1" run "${T[@]}" --ready-after 0 -- "$member" --ready 1500 --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "STATUS="
  [ "$(got READY=1)" = 0 ] || fail "READY=1 before the member called ready()"
  wait_for "$dir/out1" "ready run 1 at"
  wait_for "$dir/out-notify" "READY=1"
  called=$(sed -n 's/.* ready run 1 at \([0-9]*\)$/\1/p' "$dir/out1")
  ready=$(first_at READY=1)
  [ -n "$called" ] && [ "$ready" -ge "$called" ] || fail "READY=1 at $ready, the call at $called"
  grep -q "ready: READY=1 sent" "$dir/err1" || fail "no log line for READY"
  # The bank records the call: its run number in the process slot's ready_run (hrctl check
  # accepts it).
  H check --bank "$bank" >"$dir/out-check" 2>&1 || fail "hrctl check refuses a bank with ready_run set"
  # A restarted supervisor (serve) adopts the member, ready in its current run: READY at once,
  # even with --ready-after 0.
  kill -9 $p; wait $p 2>/dev/null
  : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify hr_bg 2 serve --bank "$bank" --ready-after 0
  wait_for "$dir/err2" "adopted member"
  wait_for "$dir/out-notify" "READY=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "serve stopped by SIGTERM under a service"
  rm -f "$bank"
  # Negative control: a member that never calls ready(), with --ready-after 0: no READY=1
  # within 3 s, while the manager does receive hrctl's STATUS= (the test would see READY).
  : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify launch 3 "run 1" run "${T[@]}" --ready-after 0 -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "STATUS=1 group"
  sleep 3
  [ "$(got READY=1)" = 0 ] || fail "READY=1 for a member that never called ready() (--ready-after 0)"
  # ... and a serve that adopts it (not ready in its run) waits too.
  kill -9 $p; wait $p 2>/dev/null
  : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify hr_bg 4 serve --bank "$bank" --ready-after 0
  wait_for "$dir/err4" "adopted member"
  wait_for "$dir/out-notify" "STATUS=1 group"
  sleep 2
  [ "$(got READY=1)" = 0 ] || fail "READY=1 at adoption for a member never ready"
  kill -TERM $p; wait $p; expect_rc $? 0 "serve stopped by SIGTERM under a service"
  ;;
sd_ready_started)
  # --ready started: READY=1 as soon as the member runs, though it never calls ready() and
  # --ready-after 0 would wait forever.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch 1 "run 1" run "${T[@]}" --ready started --ready-after 0 -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "READY=1"
  # The config file's key does the same (flags win: --ready call overrides it).
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  rm -f "$bank"; : >"$dir/out-notify"
  printf 'ready = started\nready-after = 0\n' >"$dir/conf"
  NOTIFY_SOCKET=$dir/notify launch 2 "run 1" run "${T[@]}" --config "$dir/conf" -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "READY=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  rm -f "$bank"; : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify launch 3 "run 1" run "${T[@]}" --config "$dir/conf" --ready call -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "STATUS=1 group"
  sleep 2
  [ "$(got READY=1)" = 0 ] || fail "--ready call on the command line should win over the config's ready = started"
  kill -TERM $p; wait $p
  H run "${T[@]}" --ready sometimes -- "$member" >/dev/null 2>"$dir/err-bad"; expect_rc $? 2 "--ready sometimes"
  grep -q "bad value 'sometimes' for --ready" "$dir/err-bad" || fail "no message for a bad --ready"
  printf 'on-give-up = never\n' >"$dir/conf-bad"
  H run "${T[@]}" --config "$dir/conf-bad" -- "$member" >/dev/null 2>"$dir/err-bad"; expect_rc $? 2 "on-give-up = never"
  grep -q "conf-bad:1: bad value 'never' for --on-give-up" "$dir/err-bad" || fail "no message for a bad config key"
  ;;
sd_ready_after)
  # A program that never calls ready() (/bin/sleep): ready after --ready-after ms of running.
  fake_manager
  NOTIFY_SOCKET=$dir/notify "$hrctl" run "${T[@]}" --ready-after 1500 --exit0-clean -- /bin/sleep 600 >"$dir/out1" 2>"$dir/err1" &
  p=$!
  wait_for "$dir/out-notify" "READY=1"
  status=$(first_at STATUS=) ready=$(first_at READY=1)
  # (The first STATUS= comes after the start: READY=1 at least 1.5 s after the start, with
  # some slack for the start itself.)
  [ $((ready - status)) -ge 1000000 ] || fail "READY=1 $((ready - status)) us after the first STATUS, expected >= 1.5 s after the start"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  ;;
sd_ready_crash)
  # The member crashes before it is ready (run 1); READY=1 waits for the restarted run's call.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch 1 "run 1" run "${T[@]}" --ready-after 0 -- "$member" --ready 300 --ready-from 2 --wait "$dir/go" --crash 1:segv --hang 2; p=$launched
  wait_for "$dir/out-notify" "STATUS=1 group"
  sleep 1
  [ "$(got READY=1)" = 0 ] || fail "READY=1 before any run called ready()"
  touch "$dir/go"
  wait_for "$dir/out1" "ready run 2 at"
  wait_for "$dir/out-notify" "READY=1"
  called=$(sed -n 's/.* ready run 2 at \([0-9]*\)$/\1/p' "$dir/out1")
  ready=$(first_at READY=1)
  [ "$ready" -ge "$called" ] || fail "READY=1 at $ready, before run 2's call at $called"
  grep -q "ready run 1" "$dir/out1" && fail "run 1 called ready()"
  [ "$(got READY=1)" = 1 ] || fail "READY=1 sent more than once"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  ;;
sd_status)
  # STATUS= names the group, counts the members running, the restarts and the last crash.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch 1 "run 1" run "${T[@]}" -g web --interval 60000 -- "$member" --wait "$dir/go" --crash 1:segv --hang 2; p=$launched
  wait_for "$dir/out-notify" "STATUS=1 group (web): 1 member running, 0 restarts"
  touch "$dir/go"
  wait_for "$dir/out1" "run 2"
  wait_for "$dir/out-notify" "STATUS=1 group (web): 1 member running, 1 restart; last crash: web/hr_member killed by SIGSEGV"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  # (received by the listener after hrctl sent it: hrctl may have exited first)
  wait_for "$dir/out-notify" "STATUS=stopping: 1 group (web): 0 members running" 10
  grep "STATUS=" "$dir/out-notify" | tail -1 | grep -q "STATUS=stopping: 1 group (web): 0 members running" || fail "the last status is not the stopped one"
  ;;
sd_stop)
  # SIGTERM under a service: STOPPING=1 when the stop begins, the graceful stop, exit 0 (run
  # and serve). Without NOTIFY_SOCKET: 143, as before.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch 1 "run 1" run "${T[@]}" --ready started -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "READY=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "run: SIGTERM under a service"
  # The listener writes what it received after hrctl sent it: hrctl may have exited first.
  wait_for "$dir/out-notify" "STOPPING=1" 10
  [ "$(got STOPPING=1)" = 1 ] || fail "STOPPING=1 sent more than once"
  [ "$(first_at STOPPING=1)" -ge "$(first_at READY=1)" ] || fail "STOPPING=1 before READY=1"
  grep -q "group 0: hr_member (pid [0-9]*) stopped" "$dir/err1" || fail "the member was not stopped gracefully"
  : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify hr_bg 2 serve --bank "$bank"
  wait_for "$dir/err2" "group 0 is held"
  wait_for "$dir/out-notify" "READY=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "serve: SIGTERM under a service"
  wait_for "$dir/out-notify" "STOPPING=1" 10
  [ "$(got STOPPING=1)" = 1 ] || fail "serve: STOPPING=1 sent more than once"
  rm -f "$bank"
  launch 3 "run 1" run "${T[@]}" -- "$member" --wait "$dir/go"; p=$launched
  kill -TERM $p; wait $p; expect_rc $? 143 "run: SIGTERM without a service"
  hr_bg 4 serve --bank "$bank"
  wait_for "$dir/err4" "group 0 is held"
  kill -TERM $p; wait $p; expect_rc $? 143 "serve: SIGTERM without a service"
  # SIGINT under a service stays a failure (only the manager's stop is a success).
  : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify hr_bg 5 serve --bank "$bank"
  wait_for "$dir/out-notify" "READY=1"
  kill -INT $p; wait $p; expect_rc $? 130 "serve: SIGINT under a service"
  ;;
sd_watchdog)
  # WATCHDOG=1 from hrctl's loop: pings while it runs, none while it is stopped (SIGSTOP)
  # though its member runs on, pings again after SIGCONT.
  fake_manager
  NOTIFY_SOCKET=$dir/notify WATCHDOG_USEC=400000 launch 1 "run 1" run "${T[@]}" -- "$member" --wait "$dir/go"; p=$launched
  mpid=$(sed -n 's/.*started hr_member (pid \([0-9]*\)).*/\1/p' "$dir/err1")
  [ -n "$mpid" ] || fail "no member pid"
  for ((i = 0; i < 100 && $(got WATCHDOG=1) < 3; i++)); do sleep 0.1; done
  c1=$(got WATCHDOG=1); sleep 1; c2=$(got WATCHDOG=1)
  [ "$c2" -gt "$c1" ] || fail "no pings while hrctl runs ($c1, then $c2)"
  kill -STOP $p
  sleep 0.3; c3=$(got WATCHDOG=1); sleep 2; c4=$(got WATCHDOG=1)
  [ "$c4" = "$c3" ] || fail "pings while hrctl was stopped ($c3, then $c4)"
  kill -0 "$mpid" || fail "the member stopped with hrctl"
  kill -CONT $p
  for ((i = 0; i < 100 && $(got WATCHDOG=1) <= c4; i++)); do sleep 0.1; done
  [ "$(got WATCHDOG=1)" -gt "$c4" ] || fail "no pings after SIGCONT"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  # Without WATCHDOG_USEC: no ping at all.
  rm -f "$bank"; : >"$dir/out-notify"
  NOTIFY_SOCKET=$dir/notify launch 2 "run 1" run "${T[@]}" --ready started -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "READY=1"
  sleep 1
  [ "$(got WATCHDOG=1)" = 0 ] || fail "pings without WATCHDOG_USEC"
  kill -TERM $p; wait $p
  ;;
sd_watchdog_pid)
  # WATCHDOG_PID names another process: the watchdog is not hrctl's, no pings.
  fake_manager
  NOTIFY_SOCKET=$dir/notify WATCHDOG_USEC=400000 WATCHDOG_PID=1 launch 1 "run 1" run "${T[@]}" --ready started -- "$member" --wait "$dir/go"; p=$launched
  wait_for "$dir/out-notify" "READY=1"
  sleep 1.5
  [ "$(got WATCHDOG=1)" = 0 ] || fail "pings for a watchdog meant for pid 1"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  # The same with WATCHDOG_PID naming hrctl itself (exec keeps the pid): pings.
  rm -f "$bank"; : >"$dir/out-notify"
  (exec env NOTIFY_SOCKET="$dir/notify" WATCHDOG_USEC=400000 WATCHDOG_PID=$BASHPID "$hrctl" run "${T[@]}" -- "$member" --wait "$dir/go" >"$dir/out2" 2>"$dir/err2") &
  p=$!
  wait_for "$dir/out-notify" "WATCHDOG=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  ;;
sd_watchdog_hang)
  # A hung member is hrctl's business: its heartbeat deadline restarts the group, and the
  # pings go on throughout (no gap as long as the watchdog's period: 4 s, 5 x the member's
  # heartbeat deadline, so a slow host does not make it fail).
  fake_manager
  NOTIFY_SOCKET=$dir/notify WATCHDOG_USEC=4000000 launch 1 "run 1" run "${T[@]}" --heartbeat 800 -- "$member" --hang 1 --beat 50 600000; p=$launched
  wait_for "$dir/err1" "hang detected"
  wait_for "$dir/out1" "run 2 restarted=1"
  c=$(got WATCHDOG=1)
  for ((i = 0; i < 300 && $(got WATCHDOG=1) < c + 2; i++)); do sleep 0.1; done
  [ "$(got WATCHDOG=1)" -ge $((c + 2)) ] || fail "no pings after the restart"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  gap=$(awk '/WATCHDOG=1/ { if (t) { d = $1 - t; if (d > m) m = d } t = $1 } END { print m + 0 }' "$dir/out-notify")
  [ "$gap" -lt 4000000 ] || fail "a gap of $gap us between pings: the watchdog (4 s) would have fired"
  [ "$(got WATCHDOG=1)" -ge 3 ] || fail "too few pings"
  ;;
sd_give_up_exit)
  # --on-give-up exit: giving up on group 2 stops group 1 gracefully and ends the supervisor
  # with exit 8 (for the unit's Restart=/OnFailure=). per_group_giveup: without it, it goes on.
  fake_manager
  NOTIFY_SOCKET=$dir/notify launch "1" "run 1 restarted=0 tag=a" run "${T[@]}" --max-badness 3 --max-site-restarts 1 --interval 60000 --on-give-up exit -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p=$launched
  H run --bank "$bank" -g 2 --name b -- "$member" --crash-always segv >"$dir/out2" 2>"$dir/err2"; rc2=$?
  wait $p; expect_rc $? 8 "the supervisor gave up on group 2 (--on-give-up exit)"
  grep -q "group 2: giving up" "$dir/err1" || fail "no give-up message"
  grep -q "given up on and --on-give-up is exit" "$dir/err1" || fail "no message saying why hrctl exits"
  grep -q "group 1: a (pid [0-9]*) stopped" "$dir/err1" || fail "group 1 was not stopped gracefully"
  wait_for "$dir/out-notify" "STOPPING=1" 10
  [ "$(got STOPPING=1)" = 1 ] || fail "STOPPING=1 sent more than once"
  [ "$(status_field '[g["hold"] for g in d["groups"]]')" = "['stopped', 'gave_up']" ] || fail "holds: group 1 stopped, group 2 gave up"
  [ "$rc2" -ne 0 ] || fail "the delegated run of group 2 succeeded"
  ;;
give_up_hook)
  # --on-give-up-run: the hook runs once per give-up with the group, reason and counts in its
  # environment, is not waited for (it sleeps while the supervisor serves group 1 to its end),
  # and a failing or missing hook is logged, never stops the supervisor.
  hook='echo "$HR_GROUP|$HR_GROUP_ID|$HR_GIVE_UP_REASON|$HR_RESTART_COUNTER|$HR_RESTARTS|$HR_SITE_RESTARTS|$HR_BANK" >>"$HOOK_DIR/hook.log"; echo $$ >"$HOOK_DIR/hook.pid"; exec sleep 600'
  export HOOK_DIR=$dir
  launch "1" "run 1 restarted=0 tag=a" run "${T[@]}" --max-badness 3 --max-site-restarts 1 --interval 60000 --on-give-up-run "$hook" -g 1 --name a -- "$member" --wait "$dir/go" --tag a; p=$launched
  H run --bank "$bank" -g crashy --name b -- "$member" --crash-always segv >"$dir/out2" 2>"$dir/err2"; expect_rc $? 8 "given up on group crashy"
  wait_for "$dir/hook.pid" "[0-9]"
  hp=$(cat "$dir/hook.pid")
  gid=$(status_field '[g["gid"] for g in d["groups"] if g["name"] == "crashy"][0]')
  # The counter as the controller has it (the escalation reset it); restarts 4 in all.
  want="crashy|$gid|kept crashing: 1 site restarts in a row did not help|0|4|1|$bank"
  [ "$(cat "$dir/hook.log")" = "$want" ] || fail "hook environment: got '$(cat "$dir/hook.log")', want '$want'"
  grep -q "group $gid: give-up hook started" "$dir/err1" || fail "no log line for the hook"
  kill -0 "$hp" || fail "the hook is not running"
  kill -0 $p || fail "the supervisor stopped"
  touch "$dir/go"
  wait $p; expect_rc $? 0 "group 1 ends while the hook still sleeps (the hook is not waited for)"
  kill -0 "$hp" || fail "the hook should still sleep"
  kill "$hp"
  [ "$(wc -l <"$dir/hook.log")" -eq 1 ] || fail "the hook ran more than once"
  # A failing hook and a missing one: logged with their status, exit 8 as without a hook.
  rm -f "$bank"
  H run "${T[@]}" --max-badness 2 --max-site-restarts 1 --interval 60000 --on-give-up-run 'exit 3' -- "$member" --crash-always segv >"$dir/out3" 2>"$dir/err3"; expect_rc $? 8 "failing hook"
  wait_for "$dir/err3" "group 0: give-up hook exited with status 3"
  rm -f "$bank"
  H run "${T[@]}" --max-badness 2 --max-site-restarts 1 --interval 60000 --on-give-up-run "$dir/no-such-hook" -- "$member" --crash-always segv >"$dir/out4" 2>"$dir/err4"; expect_rc $? 8 "missing hook"
  wait_for "$dir/err4" "group 0: give-up hook exited with status 127"
  # Negative control: without the option, no hook line (the checks above cannot pass by chance).
  rm -f "$bank" "$dir/hook.log"
  H run "${T[@]}" --max-badness 2 --max-site-restarts 1 --interval 60000 -- "$member" --crash-always segv >"$dir/out5" 2>"$dir/err5"; expect_rc $? 8 "no hook"
  sleep 0.5
  grep -q "give-up hook" "$dir/err5" && fail "a hook line without --on-give-up-run"
  [ -e "$dir/hook.log" ] && fail "a hook ran without --on-give-up-run"
  # The configuration key.
  rm -f "$bank"
  printf 'on-give-up-run = exit 5\n' >"$dir/conf"
  H run "${T[@]}" --config "$dir/conf" --max-badness 2 --max-site-restarts 1 --interval 60000 -- "$member" --crash-always segv >"$dir/out6" 2>"$dir/err6"; expect_rc $? 8 "hook from the config"
  wait_for "$dir/err6" "group 0: give-up hook exited with status 5"
  ;;
node_takeover)
  # Two nodes played on one machine (HR_TEST_BOOT_ID: another kernel's boot id; --node). Node
  # A serves a file bank and is lost: its supervisor SIGKILLed; its member left running stands
  # for a process still running on A's kernel. Node B is refused while A's lease is live (exit
  # 16, the message names A), takes over once it has expired, adopts none of the pids A
  # recorded, and restarts the member from the bank with its state (the run counter, a block).
  fb=$dir/shared.bank
  HR_TEST_BOOT_ID=boot-a-0000 launch "1" "run 1 restarted=0" run --bank "$fb" --bank-size 32M --node A --lease-time 3000 --name m -- "$member" --wait "$dir/never"; pa=$launched
  wait_for "$dir/err1" "HR_TEST_BOOT_ID is set: this process claims boot id boot-a-0000"
  [ "$(H status --bank "$fb" --json | python3 -c 'import json,sys; l=json.load(sys.stdin)["lease"]; print(l["state"], l["live"], l["node"], l["boot_id"])')" = "held True A boot-a-0000" ] || fail "status: node A's lease"
  mpid=$(H status --bank "$fb" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["groups"][0]["members"][0]["pid"])')
  kill -9 $pa; wait $pa 2>/dev/null
  # While A's lease is live: refused, naming the holder (nothing the bank records changes; the
  # open remade the lock of another boot in the header's lock area: docs/hrctl.md).
  before=$(H status --bank "$fb" | grep -v '^lease'; H blocks --bank "$fb")
  HR_TEST_BOOT_ID=boot-b-0000 H serve --bank "$fb" --node B >"$dir/out2" 2>"$dir/err2"; expect_rc $? 16 "node B while A's lease is live"
  grep -q "is leased by another node: node A (boot id boot-a-0000, supervisor pid $pa)" "$dir/err2" || fail "the refusal does not name the holder: $(cat "$dir/err2")"
  [ "$(H status --bank "$fb" | grep -v '^lease'; H blocks --bank "$fb")" = "$before" ] || fail "the refused bank was changed"
  H status --bank "$fb" | grep -q "^lease live: node A" || fail "status: the live lease"
  # Once it expired (3 s after A's last renewal): B takes over.
  for ((i = 0; i < 200; i++)); do
    H status --bank "$fb" | grep -q "^lease expired: node A" && break
    sleep 0.1
  done
  HR_TEST_BOOT_ID=boot-b-0000 launch "3" "run 2 restarted=1" serve --bank "$fb" --node B; pb=$launched
  grep -q "taking the lease over from node A (boot id boot-a-0000.*expired" "$dir/err3" || fail "B did not say it took over A's lease"
  grep -q "last served by node A (boot id boot-a-0000), another node or boot" "$dir/err3" || fail "B did not say the pids are A's"
  grep -q "member m (pid $mpid) ended while no supervisor ran: treated as a crash" "$dir/err3" || fail "A's member was not treated as gone"
  grep -q "adopted member" "$dir/err3" && fail "B adopted a pid node A recorded"
  kill -0 "$mpid" || fail "B signalled the pid node A recorded"
  [ "$(H status --bank "$fb" --json | python3 -c 'import json,sys; l=json.load(sys.stdin)["lease"]; print(l["state"], l["live"], l["node"], l["boot_id"])')" = "held True B boot-b-0000" ] || fail "status: node B's lease"
  # Node A back (same node, a new boot) while B's lease is live: refused in its turn.
  HR_TEST_BOOT_ID=boot-a-0001 H serve --bank "$fb" --node A >"$dir/out4" 2>"$dir/err4"; expect_rc $? 9 "node A while B serves (the lock on this one kernel)"
  kill -9 "$mpid"
  # Negative control: the same node and boot take the bank over at once (no refusal), and do
  # adopt the member that runs: the guards above are the node's, not a side effect.
  kill -TERM $pb; wait $pb
  HR_TEST_BOOT_ID=boot-b-0000 launch "5" "run 1 restarted=0" run --bank "$fb" --node B --name m2 -g 1 -- "$member" --wait "$dir/go5"; p5=$launched
  grep -q "taking the lease\|leased by another node" "$dir/err5" && fail "the same node was refused or took over"
  kill -9 $p5; wait $p5 2>/dev/null
  HR_TEST_BOOT_ID=boot-b-0000 "$hrctl" serve --bank "$fb" --node B >"$dir/out6" 2>"$dir/err6" &
  p6=$!
  wait_for "$dir/err6" "adopted member m2"
  grep -q "last served by" "$dir/err6" && fail "the same node and boot found foreign pids"
  touch "$dir/go5"
  kill -TERM $p6; wait $p6
  # Node A (another boot) takes it now: B released the lease at its clean end.
  HR_TEST_BOOT_ID=boot-a-0001 timeout 5 "$hrctl" serve --bank "$fb" --node A >"$dir/out7" 2>"$dir/err7"
  grep -q "opened\|adopting" "$dir/err7" || fail "node A after B released the lease: $(cat "$dir/err7")"
  grep -q "taking the lease" "$dir/err7" && fail "a released lease was 'taken over'"
  ;;
k8s_probes)
  # The probes of dist/kubernetes/hrctl-deployment.yaml, run as the manifest has them (the bank
  # path and hrctl's path substituted) against a real supervisor: both pass while a group runs;
  # readiness fails while a group is held (liveness still passes); liveness fails once no
  # supervisor serves the bank.
  yaml=$(dirname "$0")/../../dist/kubernetes/hrctl-deployment.yaml
  probe() {
    /usr/bin/python3 -c 'import sys, yaml
d = [x for x in yaml.safe_load_all(open(sys.argv[1])) if x and x["kind"] == "Deployment"][0]
print(d["spec"]["template"]["spec"]["containers"][0][sys.argv[2]]["exec"]["command"][2])' "$yaml" "$1" |
      sed "s|/bank/web.bank|$bank|g; s|hrctl status|$hrctl status|g"
  }
  live=$(probe livenessProbe); ready=$(probe readinessProbe)
  [ -n "$live" ] && [ -n "$ready" ] || fail "no probe commands in $yaml"
  launch "1" "run 1" run "${T[@]}" -g web --serve-all -- "$member" --wait "$dir/never"; p=$launched
  H run --bank "$bank" -g other -- "$member" --wait "$dir/never2" >"$dir/out2" 2>"$dir/err2" &
  wait_for "$dir/out2" "run 1"
  sh -c "$live" || fail "liveness fails while the supervisor serves"
  sh -c "$ready" || fail "readiness fails while every group runs"
  H stop -g other --bank "$bank" >/dev/null 2>&1; expect_rc $? 0 "stop -g other"
  for ((i = 0; i < 100; i++)); do [ "$(status_field '[g["hold"] for g in d["groups"]]')" = "['', 'stopped']" ] && break; sleep 0.1; done
  sh -c "$live" || fail "liveness fails while a group is held"
  sh -c "$ready" && fail "readiness passes while a group is held"
  kill -9 $p; wait $p 2>/dev/null
  sh -c "$live" && fail "liveness passes with no supervisor"
  sh -c "$ready" && fail "readiness passes with no supervisor"
  ;;
lease_lost)
  # A supervisor that finds at a renewal that another node took its lease (here: the lease
  # block rewritten as node B's takeover would write it) stops its members without touching the
  # bank and exits 16. Control first: renewals over several lease times keep it serving.
  launch "1" "run 1" run "${T[@]}" --lease-time 1000 --node A -- "$member" --wait "$dir/never"; p=$launched
  mpid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  sleep 2.5
  kill -0 $p || fail "the supervisor stopped while its lease was its own"
  [ "$(status_field 'd["lease"]["live"]')" = True ] || fail "the lease was not renewed"
  # The lease record starts its block (a page): the magic elsewhere (in the member's image) is not it.
  off=$(grep -obUaP 'HHRL' "$bank" | awk -F: '$1 % 4096 == 0 {print $1; exit}')
  [ -n "$off" ] || fail "no lease block in the bank"
  printf 'B' | dd of="$bank" bs=1 seek=$((off + 88)) conv=notrunc status=none  # node "B"
  printf '\x02' | dd of="$bank" bs=1 seek=$((off + 16)) conv=notrunc status=none  # seq 2
  wait $p; expect_rc $? 16 "the lease was taken over"
  grep -q "the lease was taken over by node B" "$dir/err1" || fail "no message naming the new holder"
  gone_within "$mpid" 20 || fail "the member still runs after the supervisor lost the lease"
  ;;
sd_journal_prefix)
  # JOURNAL_STREAM naming hrctl's stderr: its own lines carry <6> (information), <4> (a crash)
  # and <3> (a refused bank); the members' output is untouched.
  touch "$dir/err1"
  JOURNAL_STREAM=$(stat -c '%d:%i' "$dir/err1") H run "${T[@]}" -- "$member" --crash 1:segv >"$dir/out1" 2>>"$dir/err1"
  expect_rc $? 0 "a crash, then a clean run"
  grep -q "^<6>hrctl: group 0: started hr_member" "$dir/err1" || fail "no <6> on a start"
  grep -q "^<4>hrctl: group 0: crash detected" "$dir/err1" || fail "no <4> on a crash"
  grep -q "hr_member run 2 restarted=1$" "$dir/out1" || fail "member output changed"
  grep -q "^<" "$dir/out1" && fail "a prefix on the member's output"
  grep -qv "^<[346]>" "$dir/err1" && fail "a line of hrctl's without a priority: $(grep -v '^<[346]>' "$dir/err1" | head -1)"
  head -c 8192 /dev/zero | tr '\0' 'x' >"$dir/junk.bank"; chmod 600 "$dir/junk.bank"
  touch "$dir/err3"
  JOURNAL_STREAM=$(stat -c '%d:%i' "$dir/err3") H serve --bank "$dir/junk.bank" 2>>"$dir/err3"; expect_rc $? 5 "not a bank"
  grep -q "^<3>hrctl: cannot open bank" "$dir/err3" || fail "no <3> on a refused bank"
  # Negative controls: without JOURNAL_STREAM, or naming another file, no prefix.
  rm -f "$bank"
  H run "${T[@]}" -- "$member" --crash 1:segv >"$dir/out2" 2>"$dir/err2"; expect_rc $? 0 "without JOURNAL_STREAM"
  grep -q "crash detected" "$dir/err2" || fail "no crash message"
  grep -q "^<" "$dir/err2" && fail "a prefix without JOURNAL_STREAM"
  rm -f "$bank"
  JOURNAL_STREAM=$(stat -c '%d:%i' "$dir/err1") H run "${T[@]}" -- "$member" --crash 1:segv >"$dir/out4" 2>"$dir/err4"; expect_rc $? 0 "JOURNAL_STREAM of another file"
  grep -q "^<" "$dir/err4" && fail "a prefix when JOURNAL_STREAM names another file"
  ;;
sd_extend_timeout)
  # At start, before the bank is checked: EXTEND_TIMEOUT_USEC (at least 10 s), then READY=1.
  H run "${T[@]}" -- "$member" >/dev/null 2>&1 || fail "making the bank"
  fake_manager
  NOTIFY_SOCKET=$dir/notify hr_bg 1 serve --bank "$bank"
  wait_for "$dir/out-notify" "READY=1"
  ext=$(sed -n 's/^[0-9]* EXTEND_TIMEOUT_USEC=\([0-9]*\)$/\1/p' "$dir/out-notify" | head -1)
  [ -n "$ext" ] && [ "$ext" -ge 10000000 ] || fail "EXTEND_TIMEOUT_USEC=$ext"
  [ "$(first_at EXTEND_TIMEOUT_USEC=)" -le "$(first_at READY=1)" ] || fail "EXTEND_TIMEOUT_USEC after READY=1"
  kill -TERM $p; wait $p; expect_rc $? 0 "SIGTERM under a service"
  ;;
sd_config_errors)
  # Every kind of mistake in a configuration file: exit 2, FILE:LINE and what, nothing created.
  check_bad() {  # check_bad TEXT-PATTERN CONTENT
    printf '%b' "$2" >"$dir/bad.conf"
    H serve --bank "$bank" --config "$dir/bad.conf" >"$dir/out" 2>"$dir/err"; expect_rc $? 2 "$1"
    grep -q -- "bad.conf:[0-9]*: .*$1" "$dir/err" || fail "no FILE:LINE message '$1': $(cat "$dir/err")"
    [ ! -e "$bank" ] || fail "a bank was created for a bad configuration ($1)"
  }
  check_bad "unknown key 'bogus'" 'bogus = 1\n'
  check_bad "unknown section" '[groups web]\nrun = /bin/true\n'
  check_bad "already at line 1" '[group a]\nrun = /bin/true\n[group a]\nrun = /bin/true\n'
  check_bad "not followed by a run line" '[group a]\nrun = /bin/true\nname = x\n'
  check_bad "not followed by a run line" '[group a]\nname = x\nname = y\nrun = /bin/true\n'
  check_bad "double quote is not closed" '[group a]\nrun = /bin/echo "abc\n'
  check_bad "belongs in a \[group NAME\] section" 'run = /bin/true\n'
  check_bad "belongs before the first section" '[group a]\nbank = /x\nrun = /bin/true\n'
  check_bad "already has a member true" '[group a]\nrun = /bin/true\nrun = /bin/true x\n'
  check_bad "yes or no" '[group a]\nrun = /bin/true\nexit0-clean = 1\n'
  check_bad "heartbeat" '[group a]\nrun = /bin/true\nheartbeat = 0\n'
  check_bad "bad socket name" '[group a]\nrun = /bin/true\nsocket = a:b\n'
  check_bad "has no run line" '[group a]\nlisten = 127.0.0.1:0\n'
  check_bad "already set" 'bank-size = 32M\nbank-size = 64M\n'
  check_bad "already set for group" '[group a]\nrun = /bin/true\nheartbeat = 5\nheartbeat = 6\n'
  check_bad "backslash in double quotes" '[group a]\nrun = /bin/echo "a\\x"\n'
  # What needs the environment: a missing program (exit 3), a socket nobody passed (exit 2).
  printf '[group a]\nrun = %s/nothing-here\n' "$dir" >"$dir/c.conf"
  H serve --bank "$bank" --config "$dir/c.conf" >"$dir/out" 2>"$dir/err"; expect_rc $? 3 "missing program"
  grep -q "c.conf:2: .*nothing-here" "$dir/err" || fail "the missing program is not named"
  printf '[group a]\nrun = /bin/true\nsocket = web\n' >"$dir/c.conf"
  H serve --bank "$bank" --config "$dir/c.conf" >"$dir/out" 2>"$dir/err"; expect_rc $? 2 "unknown socket"
  grep -q "no socket named web was passed" "$dir/err" || fail "the unknown socket is not named"
  [ ! -e "$bank" ] || fail "a bank was created although the configuration cannot start"
  # Negative control: the same checker accepts a good file (comments, quotes, name lines).
  printf '# c\nbank-size = 32M # 32 MiB\n[group a]\nname = x\nrun = /bin/echo "a b#c" \\x\nrun = /bin/true\n' >"$dir/good.conf"
  H status --bank "$bank" --config "$dir/good.conf" >"$dir/out" 2>"$dir/err"; expect_rc $? 4 "a good file (no bank yet)"
  grep -q "good.conf" "$dir/err" && fail "a good file was refused: $(cat "$dir/err")"
  ;;
sd_config_serve)
  # serve --config starts the configured groups, adopts them after a kill -9, resumes held ones.
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
max-badness = 9
[group web]
name = front
run = $member --serve 1000 --tag "a b#c"
listen = 127.0.0.1:0
[group 3]
run = $member --wait $dir/never
CONF
  launch 1 "run 1.*tag=a b#c" serve --config "$dir/c.conf"; p=$launched
  wait_for "$dir/out1" "hr_member run 1 restarted=0$"
  H status --config "$dir/c.conf" | grep -q "max badness 9" || fail "the tunable was not applied"
  [ "$(status_field '[g["name"] for g in d["groups"]]')" = "['web', '']" ] || fail "groups: $(status_field 'd["groups"]')"
  [ "$(status_field 'd["groups"][0]["members"][0]["name"]')" = front ] || fail "the name line was not used"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err1" | head -1)
  ask "$port" "configured listen"
  front=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  [ "$answer" = "$front" ] || fail "answered by $answer, not the member $front"
  # A new supervisor of the same configuration adopts both groups and starts nothing.
  kill -9 $p; wait $p 2>/dev/null
  "$hrctl" serve --config "$dir/c.conf" >"$dir/out2" 2>"$dir/err2" &
  q=$!
  wait_for "$dir/err2" "group 3: adopted member hr_member"
  wait_for "$dir/err2" "configuration .*2 groups (0 started now, 0 members started)"
  grep -q "started front\|restarted" "$dir/err2" && fail "an adopted member was started again"
  ask "$port" "after the supervisor's restart"
  [ "$answer" = "$front" ] || fail "the adopted member did not answer"
  # A stopped (held) group is resumed by the next serve --config (as systemctl stop/start).
  kill -TERM $q; wait $q; expect_rc $? 143 "SIGTERM"
  [ "$(status_field 'd["groups"][0]["hold"]')" = stopped ] || fail "not held after SIGTERM"
  launch 3 "run 2 restarted=1 tag=a b#c" serve --config "$dir/c.conf"; p=$launched
  wait_for "$dir/err3" "group 0: resumed (it was held: stopped on request)"
  [ "$(status_field 'd["groups"][0]["restarts"]')" = 0 ] || fail "the resume counted as a restart"
  kill -TERM $p; wait $p
  ;;
sd_socket_activate)
  # A socket from systemd-socket-activate (LISTEN_FDS/FDNAMES) handed to a group's member.
  command -v systemd-socket-activate >/dev/null || { echo "SKIP: no systemd-socket-activate"; exit 77; }
  # Two ports free now (the kernel picks them; bound again at once by systemd-socket-activate).
  read -r port port2 < <(/usr/bin/python3 -c 'import socket
a = [socket.socket() for _ in range(2)]
for s in a: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in a])')
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
[group web]
run = $member --serve 1000
socket = web
CONF
  systemd-socket-activate -l "127.0.0.1:$port" --fdname=web -E HR_X=1 -- "$hrctl" serve --config "$dir/c.conf" >"$dir/out" 2>"$dir/err" &
  p=$!
  # The first connection starts hrctl (it waits in the socket's queue meanwhile); until
  # systemd-socket-activate has bound the port, a connection is refused: try again.
  for ((i = 0; i < 100; i++)); do (exec 6<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  ask "$port" "the activating connection"
  member_pid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  [ "$answer" = "$member_pid" ] || fail "answered by $answer, not the member $member_pid"
  ask "$port" "a second connection"
  [ "$answer" = "$member_pid" ] || fail "second answer $answer"
  grep -q "listening on" "$dir/err" && fail "hrctl bound a socket of its own"
  kill -TERM $p; wait $p
  # Negative control: a name that was not passed stops serve before anything starts.
  sed -i 's/^socket = web/socket = admin/' "$dir/c.conf"; rm -f "$bank"
  systemd-socket-activate -l "127.0.0.1:$port2" --fdname=web -- "$hrctl" serve --config "$dir/c.conf" >"$dir/out2" 2>"$dir/err2" &
  p=$!
  for ((i = 0; i < 100; i++)); do (exec 6<>"/dev/tcp/127.0.0.1/$port2") 2>/dev/null && break; sleep 0.1; done
  wait $p; expect_rc $? 2 "an unknown socket name"
  grep -q "no socket named admin was passed by the service manager (passed: web)" "$dir/err2" || fail "the message: $(cat "$dir/err2")"
  ;;
sd_socket_fdstore)
  # The fd store: a fake service manager keeps what hrctl stores and restarts it after kill -9.
  listener="$(dirname "$member")/hr_fdstore_listener"
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
[group web]
run = $member --serve 1000
listen = 127.0.0.1:0
CONF
  # The store starts with a socket of a group that no longer exists (hrctl-g7-0): removed.
  FDSTORE_STALE=hrctl-g7-0 "$listener" "$dir/notify" "$dir/log" -- "$hrctl" serve --config "$dir/c.conf" >"$dir/out" 2>"$dir/err" &
  p=$!
  reap_children_of=$p  # on a failure: the hrctl the fake manager started too
  wait_for "$dir/log" "stored hrctl-g0-0"
  wait_for "$dir/log" "removed hrctl-g7-0 (1)"
  grep -q "fd store's socket hrctl-g7-0 belongs to no group" "$dir/err" || fail "no log of the stale socket"
  grep -q "removed hrctl-g0-0" "$dir/log" && fail "the live group's socket was removed"
  [ "$(grep -c '^stored ' "$dir/log")" = 1 ] || fail "stored more than once: $(cat "$dir/log")"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  ask "$port" "first"
  # hrctl and its member killed: the manager restarts hrctl with the stored socket, which never
  # closed: a connection made meanwhile waits in its queue and is answered by the rerun member.
  sup=$(status_field 'd["supervisor"]')
  mem=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  kill -9 "$sup"; kill -9 "$mem"
  for ((i = 0; i < 100; i++)); do kill -0 "$mem" 2>/dev/null || break; sleep 0.05; done
  ask "$port" "while hrctl was restarted"
  wait_for "$dir/log" "start 1 fds"
  wait_for "$dir/err" "took back its listening socket(s) from the service manager's fd store"
  [ "$(grep -c "listening on 127.0.0.1:" "$dir/err")" = 1 ] || fail "hrctl bound the port again"
  ask "$port" "after the restart"
  # The group ends: its socket leaves the store.
  H kill -g web --config "$dir/c.conf" >/dev/null || fail "kill -g"
  wait_for "$dir/log" "removed hrctl-g0-0 (1)"
  kill -TERM $p; wait $p
  ;;
reload_upgrade)
  # hrctl reload: a changed program file upgrades its member (state kept, socket kept), a new
  # group starts, a removed one is stopped and held.
  printf '#!/bin/sh\nexec %s --serve 1000 --tag v1\n' "$member" >"$dir/prog"; chmod +x "$dir/prog"
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
[group web]
run = $dir/prog
listen = 127.0.0.1:0
[group old]
run = $member --wait $dir/never
CONF
  launch 1 "run 1 restarted=0 tag=v1" serve --config "$dir/c.conf"; p=$launched
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err1" | head -1)
  ask "$port" "v1"
  # Negative control: a reload with nothing changed upgrades nothing.
  H reload --config "$dir/c.conf" >"$dir/r0" || fail "reload without change"
  grep -q "0 upgraded, 0 stopped" "$dir/r0" || fail "a reload without change did something: $(cat "$dir/r0")"
  printf '#!/bin/sh\nexec %s --serve 1000 --tag v2\n' "$member" >"$dir/prog"
  sed -i 's/^\[group old\]/[group new]/' "$dir/c.conf"
  # Connections all through the reload: none refused (the group keeps its socket; one that the
  # old run accepted as it was stopped may get no answer, which is not a refusal).
  (for ((i = 0; i < 40; i++)); do
     if (exec 6<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo ok; else echo refused; fi
     sleep 0.02
   done >"$dir/conns") &
  c=$!
  H reload --config "$dir/c.conf" >"$dir/r1"; expect_rc $? 0 "reload"
  grep -q "reloaded: 1 group(s) started, 1 member(s) started, 1 upgraded, 1 stopped" "$dir/r1" || fail "answer: $(cat "$dir/r1")"
  wait_for "$dir/out1" "run 2 restarted=1 tag=v2"
  wait $c
  [ "$(grep -c ok "$dir/conns")" = 40 ] || fail "refused connections during the reload: $(sort "$dir/conns" | uniq -c)"
  ask "$port" "after the upgrade"
  [ "$answer" = "$(status_field '[g for g in d["groups"] if g["name"]=="web"][0]["members"][0]["pid"]')" ] || fail "not the new run"
  [ "$(grep -c "listening on 127.0.0.1:" "$dir/err1")" = 1 ] || fail "the socket was opened again"
  [ "$(status_field '[g for g in d["groups"] if g["name"]=="web"][0]["restarts"]')" = 0 ] || fail "the upgrade counted a restart"
  [ "$(status_field '[g for g in d["groups"] if g["name"]=="old"][0]["hold"]')" = stopped ] || fail "the removed group is not held"
  grep -q "group 1 (old) is no longer in the configuration: stopped and held, not killed" "$dir/err1" || fail "no log of the removal"
  wait_for "$dir/out1" "hr_member run 1 restarted=0$"
  kill -TERM $p; wait $p
  ;;
reload_refused)
  # A bad configuration on reload is refused and nothing changes.
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
[group web]
run = $member --wait $dir/never --tag v1
CONF
  launch 1 "run 1 restarted=0 tag=v1" serve --config "$dir/c.conf"; p=$launched
  pid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  cp "$dir/c.conf" "$dir/good"
  printf 'bogus = 1\n' >>"$dir/c.conf"
  H reload --config "$dir/good" >"$dir/r" 2>"$dir/re"; expect_rc $? 2 "a syntax error"
  grep -q "c.conf:5: unknown key 'bogus'" "$dir/re" || fail "message: $(cat "$dir/re")"
  sed -e 's/--tag v1/--tag v2/' "$dir/good" >"$dir/c.conf"; printf '[group b]\nrun = %s/none\n' "$dir" >>"$dir/c.conf"
  H reload --config "$dir/good" >"$dir/r" 2>"$dir/re"; expect_rc $? 3 "a missing program"
  printf 'bank = %s.other\n' "$bank" >"$dir/c.conf"; sed '1d' "$dir/good" >>"$dir/c.conf"
  H reload --config "$dir/good" >"$dir/r" 2>"$dir/re"; expect_rc $? 2 "another bank"
  grep -q "bank or user changed" "$dir/re" || fail "message: $(cat "$dir/re")"
  [ "$(status_field 'd["groups"][0]["members"][0]["pid"]')" = "$pid" ] || fail "the member changed after refused reloads"
  grep -q "run 2" "$dir/out1" && fail "a refused reload restarted the member"
  [ "$(status_field 'len(d["groups"])')" = 1 ] || fail "a refused reload started a group"
  # Negative control: the good file back, the reload works.
  cp "$dir/good" "$dir/c.conf"
  H reload --config "$dir/good" >"$dir/r"; expect_rc $? 0 "a good reload"
  # A supervisor without --config has nothing to reload.
  kill -TERM $p; wait $p
  "$hrctl" serve --bank "$bank" >"$dir/out2" 2>"$dir/err2" &
  q=$!
  wait_for "$dir/err2" "adopting"
  H reload --bank "$bank" >"$dir/r" 2>"$dir/re"; expect_rc $? 2 "no configuration"
  grep -q "without --config" "$dir/re" || fail "message: $(cat "$dir/re")"
  kill -TERM $q; wait $q
  ;;
trace_marks)
  # HRCTL_TRACE: each start leaves spawn and spawned marks; a crash wake, reaped and booked
  # (the crashed pid), then the restart's; in time order, for the member's slot. A symbolic
  # link in the file's place is not followed.
  HRCTL_TRACE="$dir/trace" H run "${T[@]}" -- "$member" --env --crash 1:segv >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "a run with a crash"
  old=$(sed -n 's/.* env 1: pid=\([0-9]*\) .*/\1/p' "$dir/out")
  new=$(sed -n 's/.* env 2: pid=\([0-9]*\) .*/\1/p' "$dir/out")
  [ -n "$old" ] && [ -n "$new" ] || fail "no pids in the output"
  got=$(awk '{print $2, $3, $4}' "$dir/trace" | tr '\n' ';')
  want="spawn 0 0;spawned 0 $old;wake 0 $old;reaped 0 $old;booked 0 $old;spawn 0 0;spawned 0 $new;"
  want+="wake 0 $new;reaped 0 $new;"  # (its clean exit: reaped, nothing to book)
  [ "$got" = "$want" ] || fail "trace: $got"
  awk 'NR > 1 && $1 < prev { exit 1 } { prev = $1 }' "$dir/trace" || fail "marks out of time order: $(cat "$dir/trace")"
  ln -s "$dir/elsewhere" "$dir/link"
  rm -f "$bank"
  HRCTL_TRACE="$dir/link" H run "${T[@]}" -- "$member" --crash 1:segv >/dev/null 2>&1
  expect_rc $? 0 "a run with the trace path a link"
  [ -e "$dir/elsewhere" ] && fail "the trace followed a symbolic link"
  ;;
*) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
