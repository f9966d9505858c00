#!/usr/bin/env bash
# hrctl as a systemd service under a real systemd (Debian 12: 252) booted in systemd-nspawn:
# the CTest label systemd (tests/systemd: systemd-analyze verify on the shipped units, then each
# scenario in its own container, docs/systemd.md "Tests"). Run here once (the main suite, the
# sanitizer presets and the clang run exclude the label). HR_REQUIRE_SYSTEMD=1: a skipped test
# (not root, no systemd-nspawn, an hrctl without a feature) fails the job. Reuses build/default
# from the main suite when it is there (else configures and builds hrctl and the test member,
# about 5 minutes more). Needs root (the containers). Budget: about 1 minute (12 containers).
. "$(dirname "$0")/../lib.sh"
ci_install systemd-container cmake g++ make libexpected-dev doctest-dev libboost-dev python3

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
b=build/default
[ -f "$b/CMakeCache.txt" ] || cmake --preset default >/dev/null
cmake --build "$b" -j2 --target hrctl sd_member
n=$(ctest --test-dir "$b" -N -L systemd | grep -Eo 'Total Tests: [0-9]+' | grep -Eo '[0-9]+')
[ "$n" -ge 13 ] || { echo "systemd job: only $n systemd tests registered" >&2; exit 1; }
"${sudo[@]}" env HR_REQUIRE_SYSTEMD=1 ctest --test-dir "$b" -L systemd --output-on-failure
echo "systemd job: $n tests passed in $(( $(date +%s) - start ))s"
