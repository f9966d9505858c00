#!/usr/bin/env bash
# systemd-analyze verify on the shipped units (dist/systemd), ExecStart= pointed at the build's
# hrctl: clean, no warning. Negative control: a copy with a misspelt directive is reported.
# Usage: verify.sh SOURCE_DIR HRCTL. No container needed (--man=no; the host's systemd need not
# run). Exit 77 without systemd-analyze (a failure with HR_REQUIRE_SYSTEMD=1).
set -euo pipefail
src=$1 hrctl=$2
if ! command -v systemd-analyze >/dev/null; then
  [ "${HR_REQUIRE_SYSTEMD:-0}" = 1 ] && { echo "FAIL: no systemd-analyze" >&2; exit 1; }
  echo "SKIP: no systemd-analyze" >&2
  exit 77
fi
d=$(mktemp -d /tmp/hr-verify.XXXXXX)
trap 'rm -rf "$d"' EXIT
sed -e "s|@HRCTL@|$hrctl|g" -e "s|@DOCDIR@|/usr/share/doc/hotrestart|g" \
  "$src/dist/systemd/hrctl@.service.in" >"$d/hrctl@.service"
cp "$src/dist/systemd/hrctl@example.socket" "$d/"
cd "$d"
# The instance of the template the example socket activates, and the socket.
out=$(systemd-analyze verify --man=no ./hrctl@example.service ./hrctl@example.socket 2>&1) ||
  { echo "$out"; echo "FAIL: systemd-analyze verify failed" >&2; exit 1; }
[ -z "$out" ] || { echo "$out"; echo "FAIL: systemd-analyze verify is not clean" >&2; exit 1; }
echo "hrctl@.service and hrctl@example.socket: systemd-analyze verify clean"
# Negative control: the check sees a bad directive.
sed 's/^KillMode=process/KillMode=procss/' "hrctl@.service" >"bad@.service"
if out=$(systemd-analyze verify --man=no ./bad@x.service 2>&1) && [ -z "$out" ]; then
  echo "FAIL: a misspelt KillMode= passed the verification" >&2
  exit 1
fi
echo "negative control: $(grep -m1 -i "kill mode" <<<"$out")"
