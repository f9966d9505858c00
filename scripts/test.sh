#!/usr/bin/env bash
# Builds hotrestart and runs the whole test suite (CTest): the library, hrctl end to end, the
# firmwares under QEMU, the packages, and (as root) the trust boundary with a second user.
# Installs what is missing first (with sudo when not root).
#
# A skipped test fails this command: a suite that silently ran less is not a pass. A test is
# skipped when what it needs is absent (not root, for the tests that play another user). Say
# that this is fine with --allow-skips (or HR_ALLOW_SKIPS=1). HR_CMAKE_ARGS adds configure
# options (CI: -DHOTRESTART_REQUIRE_FIRMWARE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
allow=${HR_ALLOW_SKIPS:-0}
for a in "$@"; do
  case $a in
    --allow-skips) allow=1 ;;
    *) echo "usage: scripts/test.sh [--allow-skips]" >&2; exit 2 ;;
  esac
done
. scripts/deps.sh
hr_install "${hr_base_packages[@]}" "${hr_firmware_packages[@]}"
# shellcheck disable=SC2086
cmake --preset default ${HR_CMAKE_ARGS:-}
cmake --build --preset default
log=build/default/test.log
set +e
ctest --preset default 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || exit "$rc"
skipped=$(grep -c '(Skipped)$' "$log" || true)
if [ "$skipped" -ne 0 ]; then
  echo "scripts/test.sh: $skipped test(s) were skipped (listed above):" >&2
  grep -B0 '(Skipped)$' "$log" | sed 's/^/  /' >&2
  if [ "$allow" = 1 ]; then
    echo "scripts/test.sh: allowed (--allow-skips)" >&2
  else
    echo "scripts/test.sh: a skipped test is a failure here; run as root for the tests that play another user, or pass --allow-skips" >&2
    exit 1
  fi
fi
echo "scripts/test.sh: every test ran and passed"
