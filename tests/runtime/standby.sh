#!/usr/bin/env bash
# Warm standbys end to end (docs/hrctl.md, "Warm standby"): hrctl run --standby on real
# programs, real crashes (SIGSEGV), real kills. Each case asserts what hrctl itself reports
# (its log, status --json) and what the programs print (their pid, their environment).
# Usage: standby.sh CASE HRCTL MEMBER HELLO CHORUS_CALLS [GROUP_DEMO_RUN_SH GROUP_DEMO]
set -uo pipefail
case_name=$1 hrctl=$2 member=$3 hello=$4 chorus=${5:-} listener=
demo_sh=${6:-} demo=${7:-}
# shellcheck source=tests/runtime/lib.sh
. "$(dirname "$0")/lib.sh"

# A field of the standby of group G's (default 0) direct member, from status --json.
sb() {
  status_field "next(m for g in d['groups'] if g['gid'] == ${2:-0} for m in g['members'] if m['kind'] == 'direct')['standby']['$1']"
}
grp() { status_field "next(g for g in d['groups'] if g['gid'] == ${2:-0})['$1']"; }
# wait_parked [G]: until that group's member's standby is parked; its pid in $sb_pid.
wait_parked() {
  local i
  for ((i = 0; i < 600; i++)); do
    if [ "$(sb state "$@")" = parked ]; then
      sb_pid=$(sb pid "$@")
      return 0
    fi
    sleep 0.1
  done
  fail "the standby never parked (state $(sb state "$@"))"
}
# The pid member.cpp printed for run K (its "--env" line) in FILE.
run_pid() { sed -n "s/.* env $2: pid=\([0-9]*\) .*/\1/p" "$1" | head -1; }
# wait_run FILE K: until run K has printed its environment; its pid in $rpid.
wait_run() {
  wait_for "$1" " env $2: pid="
  rpid=$(run_pid "$1" "$2")
}
# The process's CPU time so far (utime + stime, clock ticks).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

case $case_name in
loop)
  # Crashes in a row: each restart is the parked standby, promoted (same pid), the state carried
  # (the run counter), the restart counter counted as without a standby, and at max badness the
  # site restart. Then a clean exit ends the group and its standby.
  launch "" "env 1: pid=" run "${T[@]}" --standby --interval 600000 --max-badness 3 -- \
    "$member" --env --wait-run "$dir/go" --crash 1:segv --crash 2:segv --crash 3:segv; p=$launched
  for k in 1 2; do
    wait_parked; want=$sb_pid
    touch "$dir/go.$k"
    wait_run "$dir/out" $((k + 1))
    [ "$rpid" = "$want" ] || fail "run $((k + 1)) is pid $rpid, not the standby $want"
    grep -q "run $((k + 1)) restarted=1" "$dir/out" || fail "run $((k + 1)): state not carried"
    wait_for "$dir/err" "restarted hr_member from its standby (pid $want)"
    grep -q "group 0 restarted (restart counter $k/3, restarts $k)" "$dir/err" || fail "restart $k not counted"
    [ "$(sb promotions)" = "$k" ] || fail "promotions $(sb promotions), expected $k"
    [ "$(grp counter)" = "$k" ] || fail "counter $(grp counter), expected $k"
  done
  # The third crash reaches max badness 3: a site restart (the run is still the standby's).
  wait_parked; want=$sb_pid
  touch "$dir/go.3"
  wait_for "$dir/err" "site restart (restart counter reached max badness: group 0)"
  wait_run "$dir/out" 4
  grep -q "run 4 restarted=1" "$dir/out" || fail "run 4: state not carried over the site restart"
  wait_parked; last=$sb_pid
  touch "$dir/go.4"
  wait $p; expect_rc $? 0 "clean exit after the site restart"
  grep -q "group 0 terminated" "$dir/err" || fail "no termination"
  gone_within "$last" 10 || fail "the standby $last outlived its group's clean end"
  [ "$(grep -c ' env [0-9]*: pid=' "$dir/out")" = 4 ] || fail "expected 4 runs"
  grep -q "standby of hr_member .*ended" "$dir/err" && fail "a standby ended on its own"
  blocks_lack "__HR_IMG_\|runs-" "blocks left after termination"
  ;;
killed_parked)
  # A standby killed while parked is logged and made again; it is not the group's crash. Three
  # such ends in a row disable standby; the group then restarts as without one.
  launch "" "env 1: pid=" run "${T[@]}" --standby -- \
    "$member" --env --wait-run "$dir/go" --crash 1:segv --crash 2:segv; p=$launched
  wait_parked; old=$sb_pid
  kill -9 "$old"
  wait_for "$dir/err" "standby of hr_member (pid $old) ended while parked (killed by SIGKILL): made again"
  wait_parked; new=$sb_pid
  [ "$new" != "$old" ] || fail "not made again"
  [ "$(grp restarts)" = 0 ] && [ "$(grp counter)" = 0 ] || fail "the standby's death was counted as the group's"
  grep -q "crash detected" "$dir/err" && fail "the standby's death was reported as a crash"
  [ "$(grep -c ' env [0-9]*: pid=' "$dir/out")" = 1 ] || fail "the member was restarted"
  touch "$dir/go.1"
  wait_run "$dir/out" 2
  [ "$rpid" = "$new" ] || fail "run 2 is pid $rpid, not the new standby $new"
  # Three ends in a row without a promotion: disabled.
  for n in 1 2 3; do
    wait_parked; old=$sb_pid
    kill -9 "$old"
    wait_for "$dir/err" "standby of hr_member (pid $old) ended while parked"
  done
  grep -q "standby of hr_member (pid $old) ended while parked (killed by SIGKILL): standby disabled for hr_member" "$dir/err" ||
    fail "not disabled after 3 ends in a row"
  [ "$(sb state)" = disabled ] || fail "status: $(sb state)"
  touch "$dir/go.2"
  wait_run "$dir/out" 3
  wait_for "$dir/err" "restarted hr_member (pid $rpid)"
  touch "$dir/go.3"
  wait $p; expect_rc $? 0 "clean exit"
  [ "$(grep -c "from its standby" "$dir/err")" = 1 ] || fail "expected exactly one promotion"
  ;;
upgrade)
  # An upgrade while a standby waits: that standby (old image) is replaced by one of the new.
  launch "" "env 1: pid=" run "${T[@]}" --standby -- "$member" --env --wait-run "$dir/go" --tag v1; p=$launched
  wait_parked; old=$sb_pid
  cp "$member" "$dir/member"
  H upgrade --bank "$bank" -g 0 --name hr_member -- "$dir/member" --env --wait-run "$dir/go" --tag v2 --crash 2:segv >/dev/null ||
    fail "upgrade"
  wait_for "$dir/out" "run 2 restarted=1 tag=v2"
  wait_for "$dir/err" "standby of hr_member replaced (new image)"
  gone_within "$old" 10 || fail "the old image's standby $old is still there"
  wait_run "$dir/out" 2
  [ "$rpid" != "$old" ] || fail "the upgrade promoted the old image's standby"
  wait_parked; new=$sb_pid
  [ "$new" != "$old" ] || fail "no new standby"
  [ "$(readlink "/proc/$new/exe")" = "$(readlink "/proc/$rpid/exe")" ] || fail "the new standby runs another image"
  touch "$dir/go.2"
  wait_run "$dir/out" 3
  [ "$rpid" = "$new" ] || fail "run 3 is pid $rpid, not the new image's standby $new"
  grep -q "run 3 restarted=1 tag=v2" "$dir/out" || fail "run 3 not of the new image's arguments"
  touch "$dir/go.3"
  wait $p; expect_rc $? 0 "after the upgrade"
  ;;
supervisor_killed)
  # The supervisor killed with a standby parked: the standby ends (its channel is closed); the
  # next supervisor never promotes it and makes its own.
  launch "" "env 1: pid=" run "${T[@]}" --standby -- "$member" --env --wait-run "$dir/go" --crash 1:segv; p=$launched
  wait_parked; old=$sb_pid
  kill -9 $p; wait $p 2>/dev/null
  gone_within "$old" 10 || fail "the parked standby $old outlived its supervisor"
  "$hrctl" run --bank "$bank" --standby -- "$member" --env --wait-run "$dir/go" --crash 1:segv >>"$dir/out" 2>"$dir/err2" &
  p=$!
  wait_for "$dir/err2" "adopted member"
  wait_parked; new=$sb_pid
  [ "$new" != "$old" ] || fail "the old standby is recorded again"
  touch "$dir/go.1"
  wait_run "$dir/out" 2
  [ "$rpid" = "$new" ] || fail "run 2 is pid $rpid, not the new supervisor's standby $new"
  grep -q "restarted hr_member from its standby (pid $new)" "$dir/err2" || fail "not promoted"
  touch "$dir/go.2"
  wait $p; expect_rc $? 0 "the adopting supervisor"
  ;;
sleep_never_parks)
  # /bin/sleep never reaches a standby point: its standby is killed when its time is up and
  # standby is disabled for it, with the reason in the log. The member itself runs on.
  hr_bg "" run "${T[@]}" --exit0-clean --standby --standby-timeout 300 -- /bin/sleep 3
  wait_for "$dir/err" "group 0: standby of sleep (pid [0-9]*) did not reach its standby point within 300 ms: killed; standby disabled for sleep"
  sp=$(sed -n 's/.*standby of sleep (pid \([0-9]*\)) did not reach.*/\1/p' "$dir/err")
  gone_within "$sp" 10 || fail "the standby $sp is still there"
  [ "$(sb state)" = disabled ] || fail "status: $(sb state)"
  [ "$(status_field 'd["groups"][0]["members"][0]["state"]')" = running ] || fail "the member is not running"
  wait $p; expect_rc $? 0 "sleep ended"
  [ "$(grep -c "standby of sleep" "$dir/err")" = 1 ] || fail "a second standby was made after it was disabled"
  ;;
prints_early)
  # A program that prints before attach(): its standby would write before its standby point.
  # hrctl kills it and disables standby; the member restarts as without one; what the standby
  # wrote reached nobody.
  launch "" "env 1: pid=" run "${T[@]}" --standby -- "$member" --say-before-attach "early bird" --env \
    --wait-run "$dir/go" --crash 1:segv; p=$launched
  wait_for "$dir/err" "standby of hr_member (pid [0-9]*) wrote to its output before its standby point (\"early bird\"): killed; standby disabled for hr_member"
  [ "$(sb state)" = disabled ] || fail "status: $(sb state)"
  touch "$dir/go.1"
  wait_run "$dir/out" 2
  wait_for "$dir/err" "restarted hr_member (pid $rpid)"
  touch "$dir/go.2"
  wait $p; expect_rc $? 0 "clean exit"
  [ "$(grep -c "early bird" "$dir/out")" = 2 ] || fail "expected the line from runs 1 and 2 only: $(grep -c "early bird" "$dir/out")"
  ;;
identity)
  # What a promoted standby sees is what a fresh restart sees: its identity and environment,
  # its stdout/stderr and the listening socket (fd 3). A parked standby holds none of them.
  for mode in fresh standby; do
    rm -f "$bank" "$dir"/go.*
    flags=()
    [ $mode = standby ] && flags=(--standby)
    launch "$mode" "env 1: pid=" run "${T[@]}" "${flags[@]}" --listen 127.0.0.1:0 -- \
      "$member" --env --wait-run "$dir/go" --crash 1:segv; p=$launched
    if [ $mode = standby ]; then
      wait_parked
      mpid=$(run_pid "$dir/out$mode" 1)
      sock=$(readlink "/proc/$mpid/fd/3")
      case $sock in socket:*) ;; *) fail "the member's fd 3 is $sock" ;; esac
      for f in /proc/"$sb_pid"/fd/*; do
        [ "$(readlink "$f")" = "$sock" ] && fail "the parked standby holds the listening socket ($f)"
      done
      env_of=$(tr '\0' '\n' <"/proc/$sb_pid/environ")
      for v in HR_GROUP HR_PROCESS HR_HANDLE HR_RESTARTED LISTEN_FDS LISTEN_PID; do
        grep -q "^$v=" <<<"$env_of" && fail "the parked standby has $v"
      done
      grep -q "^HR_STANDBY_FD=" <<<"$env_of" || fail "the parked standby has no HR_STANDBY_FD"
      [ "$(readlink "/proc/$sb_pid/fd/1")" = "$(readlink "/proc/$sb_pid/fd/2")" ] || fail "standby stdout/stderr"
      case $(readlink "/proc/$sb_pid/fd/1") in pipe:*) ;; *) fail "the standby's stdout is not hrctl's pipe" ;; esac
    fi
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err$mode" | head -1)
    touch "$dir/go.1"
    wait_run "$dir/out$mode" 2
    [ $mode = standby ] && { [ "$rpid" = "$sb_pid" ] || fail "run 2 is $rpid, not the standby $sb_pid"; }
    # The restarted run's environment line, pid left out.
    sed -n 's/.* env 2: pid=[0-9]* //p' "$dir/out$mode" >"$dir/env-$mode"
    [ -s "$dir/env-$mode" ] || fail "no environment line ($mode)"
    # Its fds 1 and 2 are where the first run's were (hrctl's relay), and the socket answers.
    kill -0 "$rpid" || fail "run 2 not running"
    touch "$dir/go.2"
    wait $p; expect_rc $? 0 "$mode run"
    [ -n "$port" ] || fail "no port ($mode)"
  done
  diff "$dir/env-fresh" "$dir/env-standby" || fail "a promoted standby's environment differs from a fresh restart's"
  grep -q "HR_GROUP=0 HR_PROCESS=0 HR_RESTARTED=1 LISTEN_FDS=1 LISTEN_PID=self .*HR_STANDBY_FD=- fds=[a-z]*,[a-z]*,[a-z]*,socket," "$dir/env-standby" ||
    fail "unexpected environment: $(cat "$dir/env-standby")"
  ;;
serve_socket)
  # The listening socket is handed over at promotion: the promoted standby accepts on it.
  "$hrctl" run "${T[@]}" --standby --listen 127.0.0.1:0 -- "$member" --env --serve 1 >"$dir/out" 2>"$dir/err" &
  p=$!
  wait_for "$dir/err" "listening on 127.0.0.1:"
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/err" | head -1)
  for k in 1 2 3; do
    wait_parked; want=$sb_pid
    wait_run "$dir/out" $k
    ask "$port" "run $k"
    [ "$answer" = "$rpid" ] || fail "answered by $answer, not run $k ($rpid)"
    wait_run "$dir/out" $((k + 1))
    [ "$rpid" = "$want" ] || fail "run $((k + 1)) is $rpid, not the standby $want"
  done
  kill -TERM $p; wait $p; expect_rc $? 143 "SIGTERM"
  ;;
resources)
  # A standby takes no process slot (it is not a member), shows in status and --json with its
  # memory, and uses no CPU while parked; hrctl check accepts its words.
  launch "" "env 1: pid=" run "${T[@]}" --standby -- "$member" --env --wait-run "$dir/go"; p=$launched
  wait_parked
  [ "$(status_field 'len(d["groups"][0]["members"])')" = 1 ] || fail "the standby is counted as a member"
  [ "$(sb wanted)" = True ] || fail "wanted: $(sb wanted)"
  rss=$(sb rss_kb) pss=$(sb pss_kb)
  [ "$rss" -gt 0 ] && [ "$pss" -gt 0 ] && [ "$pss" -le "$rss" ] || fail "memory rss $rss pss $pss"
  H status --bank "$bank" | grep -q "standby parked $sb_pid, promoted 0" || fail "status: $(H status --bank "$bank")"
  before=$(cpu_ticks "$sb_pid")
  sleep 1.5
  after=$(cpu_ticks "$sb_pid")
  [ "$before" = "$after" ] || fail "the parked standby used CPU: $before -> $after ticks"
  grep -q "^State:.*S (sleeping)" "/proc/$sb_pid/status" || fail "the parked standby is not asleep"
  H check --bank "$bank" >"$dir/check" || fail "hrctl check: $(cat "$dir/check")"
  # Its words in the bank (proc_slot word 48: wanted, state parked = 0x21), given a state that
  # does not exist: check names them; put back, check passes again.
  flags_at=$(($(proc_slot 0) + 48))
  poke "$flags_at" $((0x31))
  H check --bank "$bank" >"$dir/check" 2>&1 && fail "check accepted a standby state 3"
  grep -q "standby_flags 49 has unknown bits or state" "$dir/check" || fail "check: $(cat "$dir/check")"
  poke "$flags_at" $((0x21))
  H check --bank "$bank" >"$dir/check" || fail "hrctl check after the repair: $(cat "$dir/check")"
  touch "$dir/go.1"
  wait $p; expect_rc $? 0 "clean exit"
  gone_within "$sb_pid" 10 || fail "the standby outlived its member's clean exit"
  [ "$(status_field 'len(d["groups"])')" = 0 ] || fail "the group did not terminate"
  H check --bank "$bank" >"$dir/check" || fail "hrctl check after the end: $(cat "$dir/check")"
  ;;
hello)
  # The seed's hello world prints the same with --standby, to a file and through a pipe.
  expected=$'Hello world!\nThe process has been restarted.\nExample finished. Exit.'
  H run "${T[@]}" --standby -- "$hello" >"$dir/out" 2>"$dir/err"
  expect_rc $? 0 "hello world with a standby"
  [ "$(cat "$dir/out")" = "$expected" ] || fail "output with --standby"
  rm -f "$bank"
  H run "${T[@]}" --standby -- "$hello" 2>"$dir/err2" | cat >"$dir/out2"
  expect_rc "${PIPESTATUS[0]}" 0 "hello world with a standby, stdout a pipe"
  [ "$(cat "$dir/out2")" = "$expected" ] || fail "output through a pipe with --standby"
  grep -q "group 0 terminated" "$dir/err" || fail "no termination"
  ;;
group_demo)
  # The group demo (indirect member, decay, escalation, clean end) tells the same story with
  # --standby: the program's lines, pids aside, are the same.
  [ -n "$demo" ] || fail "no group demo given"
  for mode in plain standby; do
    flags=()
    [ $mode = standby ] && flags=(--standby)
    timeout 180 bash "$demo_sh" "$hrctl" "$demo" "${flags[@]}" >"$dir/out-$mode" 2>&1
    expect_rc $? 0 "group demo ($mode)"
    # Each process's lines in their order (the two processes' lines interleave as they may).
    for who in coordinator worker; do
      grep "^  $who" "$dir/out-$mode" | sed 's/pid [0-9]*/pid P/' >"$dir/story-$who-$mode"
      [ -s "$dir/story-$who-$mode" ] || fail "no $who lines ($mode)"
    done
  done
  for who in coordinator worker; do
    diff "$dir/story-$who-plain" "$dir/story-$who-standby" || fail "the $who's story differs with --standby"
  done
  grep -q "site restart (restart counter reached max badness: group 0)" "$dir/out-standby" || fail "no site restart"
  grep -q "standby of coordinator\|standby of group_demo" "$dir/out-standby" || fail "no standby was made"
  ;;
chorus)
  # A ChorusOS program parks at its first pmm/hr call; promoted, its calls see its group and
  # state as after a fresh restart. Its indirect members (hrfexecl) get no standby.
  launch "" "hrKillGroup unknown" run "${T[@]}" --standby -g 0 -- "$chorus" "$dir"; p=$launched
  wait_parked; want=$sb_pid
  wait_for "$dir/err" "helper2 (pid [0-9]*) exited cleanly"
  touch "$dir/crash"
  wait $p; expect_rc $? 0 "the ChorusOS program"
  grep -q "restarted hr_chorus_calls from its standby (pid $want)" "$dir/err" || fail "not promoted"
  [ "$(grep -cx "chorus group 0" "$dir/out")" = 2 ] || fail "hrGetActorGroup after promotion"
  grep -qx "restarted: STATE 2 KEEP 99" "$dir/out" || fail "state after the promotion"
  grep -q "standby of helper" "$dir/err" && fail "an indirect member got a standby"
  blocks_lack "^STATE \|__HR_IMG_" "group-keyed blocks or images left after termination"
  ;;
config)
  # standby = yes in a configuration; a reload with standby = no kills the standby and says so.
  cat >"$dir/c.conf" <<CONF
bank = $bank
bank-size = 32M
[group web]
run = $member --env --wait-run $dir/go --crash 1:segv
standby = yes
standby-timeout = 4000
CONF
  launch 1 "env 1: pid=" serve --config "$dir/c.conf"; p=$launched
  wait_parked; want=$sb_pid
  touch "$dir/go.1"
  wait_run "$dir/out1" 2
  [ "$rpid" = "$want" ] || fail "run 2 is $rpid, not the standby $want"
  wait_parked; next=$sb_pid
  sed -i 's/^standby = yes/standby = no/' "$dir/c.conf"
  H reload --config "$dir/c.conf" >/dev/null || fail "reload"
  wait_for "$dir/err1" "standby of hr_member (pid $next) killed: standby is no longer asked for"
  gone_within "$next" 10 || fail "the standby outlived standby = no"
  [ "$(sb wanted)" = False ] && [ "$(sb state)" = none ] || fail "status: wanted $(sb wanted), $(sb state)"
  sleep 0.5
  [ "$(sb state)" = none ] || fail "a standby was made again after standby = no"
  kill -TERM $p; wait $p
  ;;
delegated)
  # A delegated run asks for a standby: the serving supervisor keeps it; its promotion's output
  # reaches the delegated run. A group held (its run stopped by SIGTERM) loses its standby.
  launch 1 "env 1: pid=" run "${T[@]}" -g 1 -- "$member" --env --wait "$dir/never"; p1=$launched
  "$hrctl" run --bank "$bank" -g 2 --standby -- "$member" --env --wait-run "$dir/go" --crash 1:segv >"$dir/out2" 2>"$dir/err2" &
  p2=$!
  wait_for "$dir/err2" "handed to the supervisor"
  wait_parked 2; want=$sb_pid
  touch "$dir/go.1"
  wait_run "$dir/out2" 2
  [ "$rpid" = "$want" ] || fail "run 2 is $rpid, not the standby $want"
  wait_for "$dir/err2" "restarted hr_member from its standby (pid $want)"
  wait_parked 2; next=$sb_pid
  kill -TERM $p2; wait $p2; expect_rc $? 143 "delegated run stopped"
  gone_within "$next" 10 || fail "the standby of a held group is still there"
  [ "$(sb state 2)" = none ] || fail "held group's standby: $(sb state 2)"
  [ "$(sb state 1)" = none ] && [ "$(sb wanted 1)" = False ] || fail "group 1 got a standby it did not ask for"
  kill -TERM $p1; wait $p1
  ;;
starting)
  # A standby still starting when its group restarts is not waited for: the member starts
  # afresh, the standby is kept and promoted at the next restart.
  launch "" "env 1: pid=" run "${T[@]}" --standby --standby-timeout 20000 -- "$member" --sleep-before-attach 3000 \
    --env --wait-run "$dir/go" --crash 1:segv --crash 2:segv; p=$launched
  for ((i = 0; i < 100; i++)); do [ "$(sb state)" = starting ] && break; sleep 0.05; done
  [ "$(sb state)" = starting ] || fail "no standby starting: $(sb state)"
  slow=$(sb pid)
  touch "$dir/go.1"
  wait_run "$dir/out" 2
  [ "$rpid" != "$slow" ] || fail "a standby not yet at its standby point was promoted"
  wait_for "$dir/err" "restarted hr_member (pid $rpid)"
  wait_parked
  [ "$sb_pid" = "$slow" ] || fail "the starting standby was not kept ($sb_pid, $slow)"
  touch "$dir/go.2"
  wait_run "$dir/out" 3
  [ "$rpid" = "$slow" ] || fail "run 3 is $rpid, not the kept standby $slow"
  touch "$dir/go.3"
  wait $p; expect_rc $? 0 "clean exit"
  ;;
*) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
