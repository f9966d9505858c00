#!/usr/bin/env bash
# The trust boundary with a real second user (docs/security.md): root supervises, `nobody`
# (setpriv) plays the other local user. Needs root; without it the case is skipped (exit 77),
# unless HR_REQUIRE_ROOT=1, which CI sets: a skip is then a failure.
# Usage: security_e2e.sh CASE HRCTL MEMBER HOSTILE
set -uo pipefail
case_name=$1
if [ "$(id -u)" -ne 0 ]; then
  if [ "${HR_REQUIRE_ROOT:-0}" = 1 ]; then echo "FAIL [$case_name]: needs root (HR_REQUIRE_ROOT=1)"; exit 1; fi
  echo "SKIP [$case_name]: needs root"; exit 77
fi
# The build tree may sit under a 0700 home: the programs go into a 0755 folder first.
bin=$(mktemp -d /tmp/hr-sec-bin.XXXXXX)
chmod 755 "$bin"
cp "$2" "$bin/hrctl"; cp "$3" "$bin/hr_member"; cp "$4" "$bin/hostile"
hrctl=$bin/hrctl member=$bin/hr_member hostile=$bin/hostile
dir=$(mktemp -d /tmp/hr-sec.XXXXXX)
chmod 755 "$dir"
box=$(mktemp -d /tmp/hr-sec-box.XXXXXX)  # writable by nobody: its markers land here
chmod 1777 "$box"
bank=/dev/shm/hr-sec-$case_name-$$.bank
cleanup() {
  jobs -p | xargs -r kill -9 2>/dev/null
  pkill -9 -f "$bin/" 2>/dev/null
  rm -rf "$dir" "$box" "$bin" "$bank" "$bank.sock" /dev/shm/hr-sec-*-$$.bank*
}
trap cleanup EXIT
fail() { echo "FAIL [$case_name]: $*"; for f in "$dir"/*.out "$dir"/*.err; do [ -e "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
expect_rc() { [ "$1" -eq "$2" ] || fail "exit status $1, expected $2 ($3)"; }
wait_file() {  # wait_file PATH: until it exists (or 60 s)
  local i
  for ((i = 0; i < 600; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}
wait_for() {  # wait_for FILE PATTERN
  local i
  for ((i = 0; i < 600; i++)); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "timed out waiting for '$2' in $1"
}
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
H() { timeout 120 "$hrctl" "$@"; }
# A program that records who ran it: a marker file named after its uid in $box.
payload=$dir/payload.sh
printf '#!/bin/sh\ntouch %s/ran-as-$(id -u)\nexit 0\n' "$box" >"$payload"
chmod 755 "$payload"
unset RUNTIME_DIRECTORY XDG_RUNTIME_DIR

case $case_name in
reload_writable)
  # hrctl reload is a request like any other: once root's bank may be written by others, a
  # reload posted into it is refused, and the group root's configuration gained is not started.
  conf=$dir/c.conf
  printf 'bank = %s\nbank-size = 16M\n[group web]\nname = hr_member\nrun = %s --wait %s/never\n' \
    "$bank" "$member" "$dir" >"$conf"
  "$hrctl" serve --config "$conf" >"$dir/sup.out" 2>"$dir/sup.err" &
  sup=$!
  wait_for "$dir/sup.err" "started hr_member"
  # Negative control: root's own reload request (the raw one the attack below posts) is obeyed:
  # the configuration's new group runs the payload as root.
  printf '[group extra]\nexit0-clean = yes\nrun = %s\n' "$payload" >>"$conf"
  "$hostile" request "$bank" 0 reload 0 x >"$dir/ctl-hostile.out" || fail "control reload not answered"
  grep -q "answer 0: reloaded: 1 group(s) started" "$dir/ctl-hostile.out" || fail "control: $(cat "$dir/ctl-hostile.out")"
  wait_file "$box/ran-as-0" || fail "control: the reload did not start the new group (the test could not see an attack)"
  rm -f "$box"/ran-as-*
  printf '[group extra2]\nexit0-clean = yes\nrun = %s\n' "$payload" >>"$conf"
  # The attack: the bank becomes 0666; nobody posts a reload while the supervisor is held still.
  kill -STOP $sup
  chmod 666 "$bank"
  as_nobody "$hostile" request "$bank" 0 reload 0 x >"$dir/raw.out" 2>&1 &
  raw=$!
  "$hostile" ready "$bank" 0 || fail "the raw reload was never posted"
  kill -USR1 $sup
  kill -CONT $sup
  wait $raw
  grep -q "answer 6: refused: the bank may be written by another user" "$dir/raw.out" ||
    fail "the raw reload was not refused: $(cat "$dir/raw.out")"
  grep -q "refused a request (reload) from pid [0-9]*" "$dir/sup.err" || fail "the refusal was not logged"
  wait $sup; expect_rc $? 6 "the supervisor of a bank that became writable by others"
  sleep 0.5
  ls "$box"/ran-as-* >/dev/null 2>&1 && fail "the reload ran a program: $(ls "$box")"
  ;;
bank_made_writable)
  # Negative control first: the harness's raw request does run a program when the bank is
  # root's and root writes it (the path the attack below takes, minus the attacker).
  ctl=/dev/shm/hr-sec-control-$$.bank
  "$hrctl" run --bank "$ctl" --bank-size 16M -g 0 --name hr_member -- "$member" --wait "$dir/never" >"$dir/ctl.out" 2>"$dir/ctl.err" &
  wait_for "$dir/ctl.err" "started hr_member"
  "$hostile" request "$ctl" 0 upgrade 0 hr_member "$payload" >"$dir/ctl-hostile.out" || fail "control request not answered"
  grep -q "answer 0: upgraded" "$dir/ctl-hostile.out" || fail "control: $(cat "$dir/ctl-hostile.out")"
  wait_file "$box/ran-as-0" || fail "control: the harness's upgrade did not run its program (the test could not see an attack)"
  rm -f "$box"/ran-as-*
  kill %1; wait

  # The attack: root's bank becomes 0666 while its supervisor runs.
  "$hrctl" run --bank "$bank" --bank-size 16M -g 0 --name hr_member -- "$member" --wait "$dir/never" >"$dir/sup.out" 2>"$dir/sup.err" &
  sup=$!
  wait_for "$dir/sup.err" "started hr_member"
  # The supervisor is held still while nobody writes a request straight into the bank (nobody
  # cannot signal root's supervisor; root's own hrctl would, so the test does it for nobody):
  # the request is looked at before the supervisor's next tick, and refused there.
  kill -STOP $sup
  chmod 666 "$bank"
  as_nobody "$hostile" request "$bank" 0 upgrade 0 hr_member "$payload" >"$dir/raw.out" 2>&1 &
  raw=$!
  "$hostile" ready "$bank" 0 || fail "the raw request was never posted"
  kill -USR1 $sup
  kill -CONT $sup
  wait $raw
  grep -q "answer 6: refused: the bank may be written by another user" "$dir/raw.out" ||
    fail "the raw request was not refused: $(cat "$dir/raw.out")"
  grep -q "refused a request (upgrade) from pid [0-9]*: refused: the bank may be written" "$dir/sup.err" || fail "the refusal was not logged"
  # nobody's own hrctl upgrade refuses a bank that is not nobody's.
  as_nobody "$hrctl" upgrade --bank "$bank" -g 0 --name hr_member -- "$payload" >"$dir/up.out" 2>"$dir/up.err"
  expect_rc $? 6 "nobody's hrctl upgrade on root's bank"
  grep -q "belongs to root (uid 0), not to nobody" "$dir/up.err" || fail "nobody's refusal does not name the owner"
  wait $sup; expect_rc $? 6 "the supervisor of a bank that became writable by others"
  grep -q "may now be written by another user (owner uid 0, permissions 0666)" "$dir/sup.err" || fail "the supervisor did not say why it stopped"
  sleep 0.5
  ls "$box"/ran-as-* >/dev/null 2>&1 && fail "a program of nobody's ran: $(ls "$box")"
  # The next open refuses it, with the fix.
  H status --bank "$bank" >"$dir/st.out" 2>"$dir/st.err"; expect_rc $? 6 "status of the 0666 bank"
  grep -q "chmod 600" "$dir/st.err" || fail "no fix named"
  # So does the next supervisor: nothing of the bank is run.
  H run --bank "$bank" -g 0 --name hr_member -- "$member" >"$dir/again.out" 2>"$dir/again.err"; expect_rc $? 6 "run on the 0666 bank"
  grep -q "has permissions 0666" "$dir/again.err" || fail "run: no explanation"
  ;;
made_first_by_other)
  # nobody creates the bank at the path root will ask for (a sticky directory lets it).
  as_nobody "$hrctl" run --bank "$bank" --bank-size 16M --exit0-clean -- /bin/true >"$dir/n.out" 2>"$dir/n.err"
  expect_rc $? 0 "nobody's own run"
  [ "$(stat -c %U "$bank")" = nobody ] || fail "the bank is not nobody's"
  H run --bank "$bank" --exit0-clean -- "$payload" >"$dir/r.out" 2>"$dir/r.err"; expect_rc $? 6 "root on nobody's bank"
  grep -q "belongs to nobody (uid 65534), not to root (uid 0)" "$dir/r.err" || fail "owner not named"
  ls "$box"/ran-as-* >/dev/null 2>&1 && fail "something ran"
  # The default location: nobody makes root's default directory first (in a /dev/shm of this
  # test's own, so that the machine's is untouched).
  unshare -m bash -c '
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 90
    setpriv --reuid=65534 --regid=65534 --clear-groups mkdir -m 700 /dev/shm/hotrestart-0 || exit 91
    exec timeout 60 "$1" run --exit0-clean -- /bin/true' _ "$hrctl" >"$dir/d.out" 2>"$dir/d.err"
  rc=$?
  [ $rc -ne 90 ] && [ $rc -ne 91 ] || fail "could not set the test up ($rc)"
  expect_rc $rc 6 "root's default location made by nobody"
  grep -q "/dev/shm/hotrestart-0 belongs to uid 65534, not to this user" "$dir/d.err" || fail "default location: no explanation"
  ;;
directory_others_write)
  mkdir "$dir/open" && chmod 777 "$dir/open"
  H run --bank "$dir/open/x.bank" --exit0-clean -- "$payload" >"$dir/o.out" 2>"$dir/o.err"; expect_rc $? 6 "bank in a 0777 directory"
  grep -q "directory $dir/open has permissions 0777" "$dir/o.err" || fail "no explanation"
  [ -e "$dir/open/x.bank" ] && fail "a bank was created there"
  mkdir "$dir/theirs" && chown nobody "$dir/theirs" && chmod 755 "$dir/theirs"
  H run --bank "$dir/theirs/x.bank" --exit0-clean -- "$payload" >"$dir/t.out" 2>"$dir/t.err"; expect_rc $? 6 "bank in nobody's directory"
  grep -q "directory $dir/theirs belongs to nobody" "$dir/t.err" || fail "owner of the directory not named"
  # Sticky is fine (as /tmp): nobody may create files there but not replace ours.
  mkdir "$dir/sticky" && chmod 1777 "$dir/sticky"
  H run --bank "$dir/sticky/x.bank" --bank-size 16M --exit0-clean -- "$payload" >"$dir/s.out" 2>"$dir/s.err"; expect_rc $? 0 "bank in a sticky directory"
  [ -e "$box/ran-as-0" ] || fail "the legitimate run did not run"
  ;;
symlinks)
  mkdir "$dir/real"
  ln -s "$dir/real" "$dir/link"
  H run --bank "$dir/link/x.bank" --exit0-clean -- "$payload" >"$dir/l.out" 2>"$dir/l.err"; expect_rc $? 6 "a symlinked parent directory"
  grep -q "directory $dir/link is a symbolic link" "$dir/l.err" || fail "no explanation"
  [ -e "$dir/real/x.bank" ] && fail "created through the link"
  # The symlinked bank itself (refused before this issue too: a regression test).
  H run --bank "$dir/real/x.bank" --bank-size 16M --exit0-clean -- /bin/true >/dev/null 2>&1 || fail "setup"
  ln -s "$dir/real/x.bank" "$dir/real/y.bank"
  H status --bank "$dir/real/y.bank" >"$dir/y.out" 2>"$dir/y.err"; expect_rc $? 6 "a symlinked bank"
  ;;
user_nobody)
  # Members run as nobody from a bank that is nobody's; the supervisor stays root.
  "$hrctl" run --user nobody --bank "$bank" --bank-size 16M -g 0 -- "$member" --crash 1:segv --wait "$box/go" >"$dir/u.out" 2>"$dir/u.err" &
  sup=$!
  wait_for "$dir/u.out" "run 1 restarted=0"
  m=$(pgrep -P $sup | head -1)
  [ "$(ps -o uid= -p "$m" | tr -d ' ')" = 65534 ] || fail "the member does not run as nobody"
  [ "$(ps -o uid= -p "$sup" | tr -d ' ')" = 0 ] || fail "the supervisor is not root"
  # Named after its program (ps_names in the runtime tests): nobody can follow the name link of
  # root's directory, and the link resolves to the image memfd.
  [ "$(ps -o comm= -p "$m")" = hr_member ] || fail "the member as nobody is named $(ps -o comm= -p "$m")"
  [[ "$(readlink /proc/"$m"/exe)" == /memfd:hr:hr_member* ]] || fail "exe $(readlink /proc/"$m"/exe)"
  [ "$(stat -c %U:%a "$bank")" = nobody:600 ] || fail "the bank is $(stat -c %U:%a "$bank"), expected nobody:600"
  touch "$box/go"
  wait $sup; expect_rc $? 0 "--user run"
  grep -q "run 2 restarted=1" "$dir/u.out" || fail "the restarted member did not find its block"
  grep -q "group 0 terminated: its process images and 1 group-keyed block" "$dir/u.err" || fail "its block was not freed with the group"
  # The same from a configuration file (key `user`).
  printf 'user = nobody\nbank = %s\n' "$bank" >"$dir/hr.conf"
  rm -f "$box"/ran-as-*
  H run --config "$dir/hr.conf" --exit0-clean -- "$payload" >/dev/null 2>"$dir/conf.err" || fail "config user: $(cat "$dir/conf.err")"
  [ -e "$box/ran-as-65534" ] && [ ! -e "$box/ran-as-0" ] || fail "the configuration's user was not used: $(ls "$box")"
  rm -f "$box"/ran-as-*
  # Its own hrctl (nobody) can read its bank; root needs --user to use it.
  H status --bank "$bank" >/dev/null 2>"$dir/s.err"; expect_rc $? 6 "root without --user"
  H status --user nobody --bank "$bank" >"$dir/s.out" || fail "root with --user nobody"
  # A script member as nobody too (the interpreter reopens the image memfd).
  H run --user nobody --bank "$bank" --exit0-clean -- "$payload" >/dev/null 2>&1 || fail "script member"
  [ -e "$box/ran-as-65534" ] && [ ! -e "$box/ran-as-0" ] || fail "the script ran as $(ls "$box")"
  # Nothing of root's reaches it: not the terminal's session, not stdin, not a descriptor
  # hrctl inherited (fd 7 here), not root's environment (SECRET); its output comes back through
  # hrctl (a pipe), not as root's own descriptor.
  probe=$dir/probe.sh
  printf '#!/bin/sh
echo "sid=$(cut -d" " -f6 /proc/$$/stat) pid=$$"
echo "stdin=$(readlink /proc/self/fd/0)"
echo "stdout=$(readlink /proc/self/fd/1)"
ls /proc/self/fd | tr "\n" " "; echo
echo "secret=${SECRET:-none} home=$HOME user=$USER"
echo "comm=$(cat /proc/$$/comm)"
' >"$probe"
  chmod 755 "$probe"
  SECRET=hunter2 H run --user nobody --bank "$bank" --exit0-clean -- "$probe" 7>"$dir/inherited" >"$dir/p.out" 2>"$dir/p.err" || fail "probe"
  sid=$(sed -n 's/^sid=\([0-9]*\) pid=\([0-9]*\)$/\1 \2/p' "$dir/p.out")
  [ -n "$sid" ] && [ "${sid% *}" = "${sid#* }" ] || fail "not a session of its own: $(cat "$dir/p.out")"
  grep -q "^stdin=/dev/null$" "$dir/p.out" || fail "stdin: $(cat "$dir/p.out")"
  grep -q "^stdout=pipe:" "$dir/p.out" || fail "stdout is not a pipe of hrctl's: $(cat "$dir/p.out")"
  grep -qw 7 <(sed -n 4p "$dir/p.out") && fail "an inherited descriptor reached it: $(sed -n 4p "$dir/p.out")"
  grep -q "^secret=none home=/nonexistent user=nobody$" "$dir/p.out" || fail "environment: $(cat "$dir/p.out")"
  grep -q "^comm=probe.sh$" "$dir/p.out" || fail "the script as nobody is not named probe.sh: $(cat "$dir/p.out")"
  ;;
foreign_pid)
  # A bank of nobody's names a root process as its member's run: the root supervisor must
  # neither adopt nor signal it.
  "$hrctl" run --user nobody --bank "$bank" --bank-size 16M -g 0 -- "$member" --wait "$box/never" >"$dir/a.out" 2>"$dir/a.err" &
  sup=$!
  wait_for "$dir/a.out" "run 1 restarted=0"
  m=$(pgrep -P $sup | head -1)
  kill -9 $sup; wait $sup 2>/dev/null; kill -9 "$m"
  sleep 1000 &
  victim=$!
  as_nobody "$hostile" forge-pid "$bank" 65534 0 $victim >"$dir/f.out" || fail "forge: $(cat "$dir/f.out")"
  # (Control: the bank really names the root process now; only the supervisor's check stands
  # between it and a signal.)
  H status --user nobody --bank "$bank" | grep -q "pid $victim " || fail "the forged record is not read back"
  H kill -g 0 --user nobody --bank "$bank" >"$dir/k.out" 2>"$dir/k.err"; expect_rc $? 0 "kill -g"
  kill -0 $victim || fail "hrctl kill -g signalled a root process named by nobody's bank"
  # And a supervisor adopting such a bank.
  "$hrctl" run --user nobody --bank "$bank" -g 0 -- "$member" --wait "$box/never" >"$dir/b.out" 2>"$dir/b.err" &
  sup=$!
  wait_for "$dir/b.out" "run 1"
  as_nobody "$hostile" forge-pid "$bank" 65534 0 $victim >/dev/null || fail "second forge"
  kill -9 $sup; wait $sup 2>/dev/null
  "$hrctl" serve --user nobody --bank "$bank" >"$dir/c.out" 2>"$dir/c.err" &
  sup=$!
  wait_for "$dir/c.err" "does not run as nobody: not adopted"
  kill -TERM $sup; wait $sup
  kill -0 $victim || fail "the supervisor signalled a root process named by nobody's bank"
  ;;
forged_same_user)
  # The bank (this user's own) names a process of the same user, with its right pid and start
  # time, as a member's run: neither kill -g nor an adopting supervisor signals it, since it
  # runs no image of the bank (a recycled pid, or a forged record).
  "$hrctl" run --bank "$bank" --bank-size 16M -g 0 -- "$member" --wait "$dir/never" >"$dir/a.out" 2>"$dir/a.err" &
  sup=$!
  wait_for "$dir/a.out" "run 1 restarted=0"
  m=$(pgrep -P $sup | head -1)
  kill -9 $sup; wait $sup 2>/dev/null; kill -9 "$m"
  sleep 1000 &
  victim=$!
  "$hostile" forge-pid "$bank" 0 0 $victim >"$dir/f.out" || fail "forge: $(cat "$dir/f.out")"
  H status --bank "$bank" | grep -q "pid $victim " || fail "the forged record is not read back"
  H kill -g 0 --bank "$bank" >"$dir/k.out" 2>"$dir/k.err"; expect_rc $? 0 "kill -g"
  kill -0 $victim || fail "hrctl kill -g signalled a process that runs no image of the bank"
  "$hrctl" run --bank "$bank" -g 0 -- "$member" --wait "$dir/never" >"$dir/b.out" 2>"$dir/b.err" &
  sup=$!
  wait_for "$dir/b.out" "run 1"
  "$hostile" forge-pid "$bank" 0 0 $victim >/dev/null || fail "second forge"
  kill -9 $sup; wait $sup 2>/dev/null
  "$hrctl" serve --bank "$bank" >"$dir/c.out" 2>"$dir/c.err" &
  sup=$!
  wait_for "$dir/c.err" "does not run one of the bank's images: not adopted"
  kill -TERM $sup; wait $sup
  kill -0 $victim || fail "the supervisor signalled a process that runs no image of the bank"
  ;;
foreign_supervisor_pid)
  # nobody's bank names a root process as its supervisor (and holds the supervisor lock, so
  # that it looks served): root's hrctl request to that bank must not signal it (SIGUSR1 would
  # end a process that does not handle it).
  H run --user nobody --bank "$bank" --bank-size 16M --exit0-clean -- /bin/true >/dev/null 2>&1 || fail "setup"
  sleep 1000 &
  victim=$!
  as_nobody "$hostile" forge-supervisor "$bank" 65534 $victim >"$dir/f.out" 2>&1 &
  wait_for "$dir/f.out" "supervisor forged"
  H restart --user nobody --bank "$bank" --timeout 1000 >"$dir/r.out" 2>"$dir/r.err"
  rc=$?
  [ $rc -eq 14 ] || [ $rc -eq 10 ] || fail "restart: exit $rc: $(cat "$dir/r.err")"
  kill -0 $victim 2>/dev/null || fail "root's hrctl signalled the root process nobody's bank named"
  # Control: the same forgery in a bank of root's own (whose pid root trusts, since only root
  # writes it) does reach the process: the test would see a signal.
  own=/dev/shm/hr-sec-own-$$.bank
  H run --bank "$own" --bank-size 16M --exit0-clean -- /bin/true >/dev/null 2>&1 || fail "setup (own)"
  sleep 1000 &
  victim2=$!
  "$hostile" forge-supervisor "$own" 0 $victim2 >"$dir/f2.out" 2>&1 &
  wait_for "$dir/f2.out" "supervisor forged"
  H restart --bank "$own" --timeout 1000 >/dev/null 2>&1
  wait $victim2 2>/dev/null
  [ $? -eq $((128 + 10)) ] || fail "control: the forged supervisor of root's own bank did not get SIGUSR1"
  ;;
privileged_port)
  # nobody's bank asks a root supervisor, through the mailbox, for port 81: refused.
  "$hrctl" serve --user nobody --bank "$bank" --bank-size 16M >"$dir/p.out" 2>"$dir/p.err" &
  sup=$!
  wait_for "$dir/p.err" "created"
  as_nobody "$hostile" request "$bank" 65534 run 3 web "$payload" --listen 81 >"$dir/h.out" 2>&1 || fail "no answer: $(cat "$dir/h.out")"
  grep -q "answer 13: refused to listen on 127.0.0.1:81" "$dir/h.out" || fail "port 81 given: $(cat "$dir/h.out")"
  grep -q "refused a request (run)" "$dir/p.err" || fail "the refusal was not logged"
  # An unprivileged port is fine, and the program runs as nobody.
  as_nobody "$hostile" request "$bank" 65534 run 4 web "$payload" --listen 0 >"$dir/h2.out" 2>&1
  grep -q "answer 0: started" "$dir/h2.out" || fail "port 0: $(cat "$dir/h2.out")"
  wait_file "$box/ran-as-65534" || fail "the program did not run"
  [ ! -e "$box/ran-as-0" ] || fail "ran as $(ls "$box")"
  kill -TERM $sup; wait $sup
  ;;
memfd_noexec)
  # vm.memfd_noexec = 2 in a PID namespace of the test's own: refused at start, no crash loop.
  unshare -pf --mount-proc bash -c '
    echo 2 >/proc/sys/vm/memfd_noexec || exit 90
    exec timeout 60 "$1" run --bank "$2" --bank-size 16M --exit0-clean -- /bin/true' _ "$hrctl" "$bank" >"$dir/m.out" 2>"$dir/m.err"
  rc=$?
  [ $rc -ne 90 ] || fail "could not set vm.memfd_noexec in a new PID namespace"
  expect_rc $rc 1 "vm.memfd_noexec=2"
  grep -q "vm.memfd_noexec = 2" "$dir/m.err" || fail "no explanation"
  grep -q "started\|crash detected" "$dir/m.err" && fail "it tried to run the program"
  [ -e "$bank" ] && fail "a bank was created although nothing can run"
  ;;
*)
  echo "unknown case $case_name"
  exit 2
  ;;
esac
[ -n "${HR_SEC_VERBOSE:-}" ] && for f in "$dir"/*.out "$dir"/*.err; do echo "--- $f"; cat "$f"; done
echo "PASS [$case_name]"
