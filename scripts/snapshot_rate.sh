#!/usr/bin/env bash
# Measures how long `hrctl snapshot` stalls writers (the copy under the lock, with the members
# stopped) for banks of given sizes in given directories, and extrapolates to 8 GiB.
# Usage: scripts/snapshot_rate.sh HRCTL WRITER DIR [DIR...]   (sizes: SIZES="256M 1G")
# WRITER is tests/runtime/hr_writer; each bank is filled with data first (4 blocks).
set -euo pipefail
hrctl=$1 writer=$2
shift 2
for d in "$@"; do
  for size in ${SIZES:-256M 1G}; do
    bank=$d/rate-$$.bank snap=$d/rate-$$.snap
    rm -f "$bank" "$snap"
    bytes=$(numfmt --from=iec "$size")
    "$hrctl" run --bank "$bank" --bank-size "$size" --quiet -- "$writer" fill 4 $((bytes / 5)) 1 >/dev/null
    fs=$(stat -f -c %T "$d")
    for i in 1 2 3; do
      out=$("$hrctl" snapshot --bank "$bank" --force --json "$snap")
      python3 - "$fs" "$size" "$out" <<'PY'
import json, sys
fs, size, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rate = d["bytes"] / (d["copy_ms"] / 1e3) / 2**30 if d["copy_ms"] > 0 else float("inf")
print(f'{fs:6} {size:>5} {d["method"]:16} stall {d["stall_ms"]:9.1f} ms  copy {d["copy_ms"]:9.1f} ms'
      f'  {rate:6.2f} GiB/s  -> 8 GiB: {8 / rate if rate else 0:6.2f} s')
PY
    done
    rm -f "$bank" "$snap"
  done
done
