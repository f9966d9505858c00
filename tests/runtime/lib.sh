# Helpers of the end-to-end scripts (e2e.sh, standby.sh, snapshot.sh), sourced after they set
# case_name and hrctl (and the programs they run): a temp dir and a bank per case, removed at
# exit (named after $hr_prefix; a script's cleanup_more, if it defines one, runs first);
# fail/expect_rc/wait_for; hrctl in the background; the bank's words.
dir=$(mktemp -d "/tmp/${hr_prefix:-hr-e2e}.XXXXXX")
bank=/dev/shm/${hr_prefix:-hr-e2e}-$case_name-$$.bank
cleanup() {
  [ -n "${reap_children_of:-}" ] && pkill -9 -P "$reap_children_of" 2>/dev/null  # (sd_socket_fdstore)
  jobs -p | xargs -r kill -9 2>/dev/null
  # Members a failed case left waiting for a file here (their supervisor is gone).
  pkill -9 -f -- "$dir/" 2>/dev/null
  declare -F cleanup_more >/dev/null && cleanup_more
  chattr -i "$dir"/* 2>/dev/null
  rm -rf "$dir" "$bank" "$bank".sock
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
# `hrctl blocks` succeeds, prints its table, and lists no block matching PATTERN / one that does.
blocks_lack() {
  local out rc
  out=$(H blocks --bank "$bank"); rc=$?
  [ $rc -eq 0 ] || fail "hrctl blocks exited $rc ($2)"
  grep -q '^NAME ' <<<"$out" || fail "hrctl blocks printed no table ($2)"
  if grep -q -- "$1" <<<"$out"; then fail "$2: $(grep -- "$1" <<<"$out")"; fi
  return 0
}
blocks_have() {
  local out rc
  out=$(H blocks --bank "$bank"); rc=$?
  [ $rc -eq 0 ] || fail "hrctl blocks exited $rc ($2)"
  grep -q -- "$1" <<<"$out" || fail "$2"
}
# One field of `hrctl status --json` (a Python expression over d, the parsed document).
status_field() {
  local out rc
  out=$(H status --bank "$bank" --json); rc=$?
  [ $rc -eq 0 ] || fail "hrctl status --json exited $rc"
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$out" ||
    fail "status --json: cannot evaluate $1 on: $out"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# gone_within PID SECONDS: true once PID has ended (or is a zombie its new parent has not reaped
# yet: a SIGKILL is delivered, and a reparented child reaped, after its killer exits).
gone_within() {
  local i st
  for ((i = 0; i < $2 * 20; i++)); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$st" ] || [ "$st" = Z ] && return 0
    sleep 0.05
  done
  return 1
}
# launch N PATTERN ARGS...: `hrctl ARGS` in the background (output in $dir/outN, $dir/errN),
# its pid in $launched once PATTERN is in its output.
launch() {
  local n=$1 pattern=$2
  shift 2
  "$hrctl" "$@" >"$dir/out$n" 2>"$dir/err$n" &
  launched=$!
  wait_for "$dir/out$n" "$pattern"
}
# One connection to 127.0.0.1:PORT: its answer (a pid) in $answer; a refused connection or no
# answer within 20 s (a connection queued on a socket nobody accepts from) fails the test.
ask() {
  exec 5<>"/dev/tcp/127.0.0.1/$1" || fail "connection refused ($2)"
  read -t 20 -r answer <&5 || fail "no answer on a connection ($2)"
  exec 5<&-
}
# Under AddressSanitizer the programs' deliberate SIGSEGVs must stay signals (not "exit 1").
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
T=(--bank "$bank" --bank-size 32M)

# A fake service manager (sd_* cases): the listener bound at $dir/notify (for NOTIFY_SOCKET)
# writes what it receives to $dir/out-notify, a line per assignment: "USEC KEY=VALUE"
# (CLOCK_MONOTONIC microseconds).
fake_manager() {
  [ -n "$listener" ] || fail "no notify listener given"
  "$listener" "$dir/notify" "$dir/out-notify" &
  local i; for ((i = 0; i < 100; i++)); do [ -S "$dir/notify" ] && return 0; sleep 0.05; done
  fail "the fake service manager did not bind $dir/notify"
}
got() { grep -c -- "$1" "$dir/out-notify" 2>/dev/null; }  # lines of the manager's record
first_at() { awk -v p="$1" 'index($0, p) { print $1; exit }' "$dir/out-notify"; }
# hr_bg N ARGS...: `hrctl ARGS` in the background (output in $dir/outN, $dir/errN), its pid in $p.
hr_bg() {
  local n=$1
  shift
  "$hrctl" "$@" >"$dir/out$n" 2>"$dir/err$n" &
  p=$!
}

# A bank whose group 0 ("web", one member) is recorded running while nothing runs: its
# supervisor and then its member were killed (SIGKILL). The member's last pid in $down_pid.
make_down_bank() {
  launch down "run 1" run "${T[@]}" -g web -- "$member" --wait "$dir/go"; local p=$launched
  down_pid=$(status_field 'd["groups"][0]["members"][0]["pid"]')
  kill -9 $p; wait $p 2>/dev/null
  [ -n "$down_pid" ] && [ "$down_pid" -gt 0 ] || fail "no member pid"
  kill -9 "$down_pid"
  local i; for ((i = 0; i < 100; i++)); do kill -0 "$down_pid" 2>/dev/null || break; sleep 0.1; done
}
# Offset of the runtime block ("HHRT", version 4) in the bank file (layout.hpp): its header is
# 128 bytes, then 8 request slots of 320, then max_groups (32 here) group slots of 128, then
# the process slots of 64.
rt_offset() { grep -obUaP 'HHRT\x04\x00\x00\x00' "$bank" | head -1 | cut -d: -f1; }
group_slot() { echo $(($(rt_offset) + 128 + 8 * 320 + 128 * $1)); }
proc_slot() { echo $(($(rt_offset) + 128 + 8 * 320 + 32 * 128 + 64 * $1)); }
request_slot() { echo $(($(rt_offset) + 128 + 320 * $1)); }
# poke OFFSET VALUE: a little-endian 32-bit word into the bank file.
poke() {
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($2 & 255)) $((($2 >> 8) & 255)) $((($2 >> 16) & 255)) $((($2 >> 24) & 255)))" |
    dd of="$bank" bs=1 seek="$1" conv=notrunc status=none
}
