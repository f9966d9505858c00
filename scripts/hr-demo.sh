#!/usr/bin/env bash
# The hot restart demo: the ChorusOS hello world (examples/hello_chorus, unchanged from the
# ChorusOS guide) run under the hrctl supervisor on the default mmap-file backend, with a fresh
# bank on /dev/shm. It prints "Hello world!", crashes (SIGSEGV), is restarted by the
# controller from its image in the bank, finds its counter, frees it and exits cleanly; the
# group terminates and its blocks are freed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
hr_install "${hr_base_packages[@]}"
cmake --preset default >/dev/null
cmake --build --preset default --target hrctl hello_chorus >/dev/null
hrctl=build/default/tools/hrctl/hrctl
hello=build/default/examples/hello_chorus/hello_chorus
bank="${HOTRESTART_BANK:-/dev/shm/hotrestart-demo-$$.bank}"
rm -f "$bank"
trap 'rm -f "$bank"' EXIT
echo "\$ hrctl run --bank $bank --bank-size 4M -- $hello"
set +e
"$hrctl" run --bank "$bank" --bank-size 4M -- "$hello" 2>&1
rc=$?
set -e
echo "hrctl run exited with status $rc (0: the group terminated cleanly)"
echo
echo "\$ hrctl blocks --bank $bank    # only the runtime's own blocks are left"
"$hrctl" blocks --bank "$bank"
echo
echo "\$ hrctl status --bank $bank"
"$hrctl" status --bank "$bank"
exit $rc
