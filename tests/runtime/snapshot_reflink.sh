#!/usr/bin/env bash
# hrctl snapshot takes the reflink path (ioctl FICLONE) on XFS with reflink=1: the JSON says
# "method":"clone", the snapshot's extents are shared with the bank's (filefrag), and the file
# system's used space did not grow by the bank's size. Needs root (a loop mount): skipped
# (exit 77) without it, unless HR_REQUIRE_ROOT=1, which makes that a failure.
# Usage: snapshot_reflink.sh HRCTL WRITER
set -uo pipefail
hrctl=$1 writer=$2
need() {
  if [ "${HR_REQUIRE_ROOT:-0}" = 1 ]; then echo "FAIL [reflink]: $1 (HR_REQUIRE_ROOT=1)"; exit 1; fi
  echo "SKIP [reflink]: $1"; exit 77
}
[ "$(id -u)" = 0 ] || need "needs root"
command -v mkfs.xfs >/dev/null || need "mkfs.xfs missing (apt-get install xfsprogs)"
command -v filefrag >/dev/null || need "filefrag missing (e2fsprogs)"
dir=$(mktemp -d /tmp/hr-reflink.XXXXXX)
mnt=$dir/mnt
cleanup() {
  jobs -p | xargs -r kill -9 2>/dev/null
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL [reflink]: $*"; cat "$dir"/err* 2>/dev/null; exit 1; }
truncate -s 1G "$dir/xfs.img"
mkfs.xfs -q -m reflink=1 "$dir/xfs.img" || fail "mkfs.xfs"
mkdir "$mnt"
mount -o loop "$dir/xfs.img" "$mnt" || need "cannot loop-mount (no loop devices in this container?)"
chmod 700 "$mnt"
bank=$mnt/app.bank
timeout 120 "$hrctl" run --bank "$bank" --bank-size 256M --quiet -- "$writer" fill 4 50000000 1 >/dev/null 2>"$dir/err.fill" || fail "fill"
sync
used() { df --output=used -B1 "$mnt" | tail -1; }
before=$(used)
timeout 120 "$hrctl" snapshot --bank "$bank" --json "$mnt/snap.bank" >"$dir/out" 2>"$dir/err.snap" || fail "snapshot"
sync
after=$(used)
grep -q '"method":"clone"' "$dir/out" || fail "not cloned: $(cat "$dir/out")"
bytes=$(stat -c %s "$bank")
grew=$((after - before))
echo "bank $bytes bytes; used space grew by $grew bytes; $(cat "$dir/out")"
[ "$grew" -lt $((bytes / 4)) ] || fail "used space grew by $grew bytes for a $bytes-byte bank: not shared"
filefrag -v "$mnt/snap.bank" | grep -q shared || fail "no shared extent: $(filefrag -v "$mnt/snap.bank")"
timeout 60 "$hrctl" check --bank "$mnt/snap.bank" >/dev/null || fail "check of the cloned snapshot"
# Restore from the clone: the clone path again, and the blocks read back.
timeout 60 "$hrctl" restore --bank "$bank" --json "$mnt/snap.bank" >"$dir/out.r" 2>"$dir/err.r" || fail "restore"
grep -q '"method":"clone"' "$dir/out.r" || fail "restore not cloned: $(cat "$dir/out.r")"
timeout 60 "$hrctl" check --bank "$bank" >/dev/null || fail "check after restore"
echo "ok [reflink]"
