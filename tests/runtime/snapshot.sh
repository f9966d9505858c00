#!/usr/bin/env bash
# hrctl snapshot / restore / remove on real files and real processes (docs/hrctl.md, Snapshots).
# Usage: snapshot.sh CASE HRCTL WRITER
set -uo pipefail
case_name=$1 hrctl=$2 writer=$3
hr_prefix=hr-snap
cleanup_more() { rm -rf "$bank".sock /dev/shm/.hr-snap-"$case_name"-$$.bank.tmp-*; }
# shellcheck source=tests/runtime/lib.sh
. "$(dirname "$0")/lib.sh"
# Runs the writer as a member of the bank (group 0) and keeps its output in $dir/$1.
W() { local out=$1; shift; H run --bank "$bank" --bank-size 64M --quiet -- "$writer" "$@" >"$dir/$out" 2>>"$dir/err.w"; }
# A JSON field of a one-object output.
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

case $case_name in
roundtrip)
  # Blocks written by a real process; a snapshot; the blocks overwritten; restore: the
  # digests are those of the snapshot's time again. The snapshot is a bank hrctl check accepts.
  W out.fill fill 6 300000 1; expect_rc $? 0 "fill"
  W out.d1 digest 6; expect_rc $? 0 "digest"
  grep -c '^data-' "$dir/out.d1" | grep -qx 6 || fail "digests"
  H snapshot --bank "$bank" --json "$dir/snap.bank" >"$dir/out.snap" 2>"$dir/err.snap"; expect_rc $? 0 "snapshot"
  [ "$(stat -c %a "$dir/snap.bank")" = 600 ] || fail "snapshot mode $(stat -c %a "$dir/snap.bank")"
  [ "$(stat -c %u "$dir/snap.bank")" = "$(id -u)" ] || fail "snapshot owner"
  [ "$(stat -c %s "$dir/snap.bank")" = "$(stat -c %s "$bank")" ] || fail "snapshot size"
  ls -a "$dir" | grep -q '\.tmp-' && fail "a temporary file was left"
  H check --bank "$dir/snap.bank" >"$dir/out.check"; expect_rc $? 0 "check of the snapshot"
  # A second snapshot to the same name is refused without --force, taken with it.
  H snapshot --bank "$bank" "$dir/snap.bank" 2>"$dir/err.exists"; expect_rc $? 6 "DEST exists"
  grep -q "already exists" "$dir/err.exists" || fail "no message for DEST exists"
  H snapshot --bank "$bank" --force "$dir/snap.bank" >/dev/null; expect_rc $? 0 "--force"
  H snapshot --bank "$bank" "$bank" 2>/dev/null; expect_rc $? 2 "DEST is the bank"
  W out.fill2 fill 6 300000 2; expect_rc $? 0 "refill"
  W out.d2 digest 6
  cmp -s "$dir/out.d1" "$dir/out.d2" && fail "the refill changed nothing"
  H restore --bank "$bank" --json "$dir/snap.bank" >"$dir/out.restore" 2>"$dir/err.restore"; expect_rc $? 0 "restore"
  [ "$(stat -c %a "$bank")" = 600 ] || fail "restored bank mode"
  W out.d3 digest 6; expect_rc $? 0 "digest after restore"
  diff "$dir/out.d1" "$dir/out.d3" || fail "restored blocks differ from the snapshot's"
  H check --bank "$bank" >/dev/null; expect_rc $? 0 "check after restore"
  # Restore into a new path (no bank there yet) works too; a corrupt source is refused.
  H restore --bank "$dir/new.bank" "$dir/snap.bank" >/dev/null; expect_rc $? 0 "restore to a new path"
  cp -p "$dir/snap.bank" "$dir/bad.bank"
  dd if=/dev/zero of="$dir/bad.bank" bs=1 count=8 conv=notrunc 2>/dev/null
  H restore --bank "$bank" "$dir/bad.bank" 2>"$dir/err.bad"; expect_rc $? 5 "restore from a non-bank"
  W out.d4 digest 6
  diff "$dir/out.d1" "$dir/out.d4" || fail "a refused restore changed the bank"
  ;;
supervised)
  # restore and remove refuse a bank a supervisor serves (exit 9); both work once it ended.
  W out.fill fill 2 8192 1; expect_rc $? 0 "fill"
  H snapshot --bank "$bank" "$dir/snap.bank" >/dev/null; expect_rc $? 0 "snapshot"
  "$hrctl" serve --bank "$bank" >"$dir/out.serve" 2>"$dir/err.serve" &
  s=$!
  wait_for "$dir/err.serve" "serving\|adopt\|supervis"
  for ((i = 0; i < 50; i++)); do H status --bank "$bank" --json | grep -q '"supervisor":[1-9]' && break; sleep 0.1; done
  H restore --bank "$bank" "$dir/snap.bank" 2>"$dir/err.r"; expect_rc $? 9 "restore while served"
  grep -q "another supervisor serves the bank" "$dir/err.r" || fail "restore: message"
  H remove --bank "$bank" 2>"$dir/err.rm"; expect_rc $? 9 "remove while served"
  [ -f "$bank" ] || fail "remove removed a served bank"
  # A snapshot of a served bank stops the supervisor for the copy and continues it.
  H snapshot --bank "$bank" --json "$dir/snap2.bank" >"$dir/out.s2"; expect_rc $? 0 "snapshot while served"
  [ "$(field frozen <"$dir/out.s2")" -ge 1 ] || fail "the supervisor was not stopped: $(cat "$dir/out.s2")"
  grep -q '^State:.*\(S\|R\)' /proc/$s/status || fail "the supervisor was not continued: $(grep State /proc/$s/status)"
  kill -TERM $s; wait $s
  H restore --bank "$bank" "$dir/snap2.bank" >/dev/null; expect_rc $? 0 "restore after serve ended"
  H remove --bank "$bank" >"$dir/out.rm"; expect_rc $? 0 "remove"
  [ -e "$bank" ] && fail "the bank is still there"
  H remove --bank "$bank" 2>/dev/null; expect_rc $? 4 "remove: no bank"
  ;;
writing)
  # Snapshots while a member writes and creates/frees blocks without pause: each is a bank that
  # hrctl check accepts; the writer and its supervisor were stopped and went on afterwards.
  "$hrctl" run --bank "$bank" --bank-size 64M -- "$writer" churn "$dir/stop" >"$dir/out.run" 2>"$dir/err.run" &
  r=$!
  wait_for "$dir/out.run" "churning"
  for k in 1 2 3 4 5 6 7 8; do
    H snapshot --bank "$bank" --json "$dir/snap$k.bank" >"$dir/out.s$k" 2>"$dir/err.s$k"; expect_rc $? 0 "snapshot $k"
    [ "$(field frozen <"$dir/out.s$k")" -ge 2 ] || fail "supervisor and writer not both stopped: $(cat "$dir/out.s$k")"
    H check --bank "$dir/snap$k.bank" >"$dir/out.c$k" 2>&1; expect_rc $? 0 "check of snapshot $k"
    H blocks --bank "$dir/snap$k.bank" | grep -q '^churn ' || fail "no churn block in snapshot $k"
    # The block being rewritten is as at one instant (the writer was stopped), not torn.
    "$writer" check-churn "$dir/snap$k.bank" >"$dir/out.g$k" || fail "snapshot $k: block torn: $(cat "$dir/out.g$k")"
    sleep 0.05
  done
  touch "$dir/stop"
  wait $r; expect_rc $? 0 "the writer ended cleanly after the snapshots"
  grep -q "churned" "$dir/out.run" || fail "the writer did not finish"
  ;;
restore_serve)
  # A snapshot taken while a member runs, restored to another path while that member still
  # runs: a supervisor of the copy never adopts the original's processes; it treats the member
  # as having died at the snapshot's instant and reruns it on the copy.
  "$hrctl" run --bank "$bank" --bank-size 64M -- "$writer" churn "$dir/stop" >"$dir/out.run" 2>"$dir/err.run" &
  r=$!
  wait_for "$dir/out.run" "churning"
  H snapshot --bank "$bank" "$dir/snap.bank" >/dev/null; expect_rc $? 0 "snapshot"
  H status --bank "$dir/snap.bank" --json >"$dir/out.st"; expect_rc $? 0 "status of the snapshot"
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["supervisor"]==0, d; assert all(m["pid"]==0 for g in d["groups"] for m in g["members"]), d' <"$dir/out.st" ||
    fail "the snapshot still names processes: $(cat "$dir/out.st")"
  H restore --bank "$dir/copy.bank" "$dir/snap.bank" >/dev/null; expect_rc $? 0 "restore to another path"
  "$hrctl" serve --bank "$dir/copy.bank" >"$dir/out.serve" 2>"$dir/err.serve" &
  s=$!
  wait_for "$dir/err.serve" "restarted hr_writer"
  grep -q "treated as a crash" "$dir/err.serve" || fail "the member was not treated as crashed"
  grep -q "adopted" "$dir/err.serve" && fail "the copy's supervisor adopted the original's member"
  kill -0 $r 2>/dev/null || fail "the original run ended"
  touch "$dir/stop"
  wait $r; expect_rc $? 0 "the original writer ended cleanly"
  wait_for "$dir/err.serve" "group 0 terminated"
  kill -TERM $s; wait $s
  ;;
user)
  # As root for another user (--user nobody): the snapshot and a restored bank belong to that
  # user, mode 0600; the root supervisor and the member running as nobody are both stopped;
  # the snapshot is refused as a bank of root's (the trust rules). Needs root: skipped (77)
  # otherwise, unless HR_REQUIRE_ROOT=1.
  if [ "$(id -u)" != 0 ]; then
    [ "${HR_REQUIRE_ROOT:-0}" = 1 ] && fail "needs root (HR_REQUIRE_ROOT=1)"
    echo "SKIP [$case_name]: needs root"; exit 77
  fi
  chmod 755 "$dir"
  ub=$dir/u.bank
  "$hrctl" run --user nobody --bank "$ub" --bank-size 16M -- "$writer" churn "$dir/stop" >"$dir/out.run" 2>"$dir/err.run" &
  r=$!
  wait_for "$dir/out.run" "churning"
  H snapshot --user nobody --bank "$ub" --json "$dir/u.snap" >"$dir/out.s" 2>"$dir/err.s"; expect_rc $? 0 "snapshot --user"
  [ "$(field frozen <"$dir/out.s")" -ge 2 ] || fail "root supervisor and nobody's member not both stopped: $(cat "$dir/out.s")"
  [ "$(stat -c '%U %a' "$dir/u.snap")" = "nobody 600" ] || fail "snapshot: $(stat -c '%U %a' "$dir/u.snap")"
  touch "$dir/stop"
  wait $r; expect_rc $? 0 "the member ended cleanly"
  H check --user nobody --bank "$dir/u.snap" >/dev/null; expect_rc $? 0 "check --user of the snapshot"
  H restore --user nobody --bank "$dir/u2.bank" "$dir/u.snap" >/dev/null; expect_rc $? 0 "restore --user"
  [ "$(stat -c '%U %a' "$dir/u2.bank")" = "nobody 600" ] || fail "restored: $(stat -c '%U %a' "$dir/u2.bank")"
  H restore --bank "$dir/r.bank" "$dir/u.snap" 2>"$dir/err.r"; expect_rc $? 6 "nobody's snapshot as root's bank"
  [ -e "$dir/r.bank" ] && fail "a refused restore created the bank"
  ;;
remove_rules)
  # remove never follows a symbolic link, refuses a file that is not a bank, removes an empty
  # file (a creation cut short).
  W out.fill fill 1 4096 1; expect_rc $? 0 "fill"
  ln -s "$bank" "$dir/link.bank"
  H remove --bank "$dir/link.bank" 2>"$dir/err.l"; expect_rc $? 6 "remove of a symlink"
  [ -f "$bank" ] && [ -L "$dir/link.bank" ] || fail "remove touched the link or its target"
  head -c 100000 /dev/urandom >"$dir/other.bank"; chmod 600 "$dir/other.bank"
  H remove --bank "$dir/other.bank" 2>"$dir/err.o"; expect_rc $? 5 "remove of a non-bank"
  [ -f "$dir/other.bank" ] || fail "a non-bank was removed"
  : >"$dir/empty.bank"; chmod 600 "$dir/empty.bank"
  H remove --bank "$dir/empty.bank" >/dev/null; expect_rc $? 0 "remove of an empty file"
  [ -e "$dir/empty.bank" ] && fail "the empty file is still there"
  H snapshot --bank "$bank" "$dir/link.bank" 2>/dev/null; expect_rc $? 6 "snapshot onto a symlink"
  [ -L "$dir/link.bank" ] || fail "snapshot replaced a symlink"
  H remove --bank "$bank" >/dev/null; expect_rc $? 0 "remove of the bank"
  ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_name]"
