#!/usr/bin/env bash
# Untrusted banks under libFuzzer (clang 14, ASan + UBSan): replays the committed seed corpus,
# fuzzes for a bounded time, then runs the negative control (a planted out-of-bounds read the
# fuzzer must find). Prints executions and corpus size. Budget: about 4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -qq clang-14 libclang-rt-14-dev cmake make doctest-dev \
  libexpected-dev >/dev/null
FUZZ_SECONDS=${FUZZ_SECONDS:-150}
NEGATIVE_SECONDS=${NEGATIVE_SECONDS:-60}

CXX=clang++-14 cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOTRESTART_FUZZ=ON \
  -DHOTRESTART_BUILD_BENCHMARKS=OFF -DHOTRESTART_BUILD_EXAMPLES=OFF -DHOTRESTART_BUILD_TOOLS=OFF >/dev/null
cmake --build build/fuzz -j2 --target hr_fuzz_bank hr_fuzz_bank_planted
fz=build/fuzz/tests/fuzz
seeds=tests/fuzz/corpus
work=build/fuzz/corpus-work
rm -rf "$work" && mkdir -p "$work"

# 1. Replay every seed (each must run clean under ASan + UBSan).
"$fz/hr_fuzz_bank" -runs=0 "$seeds" 2>&1 | tail -2
echo "fuzz job: corpus of $(ls "$seeds" | wc -l) seed banks replayed"

# 2. Bounded fuzzing from the seeds; new inputs go to $work.
"$fz/hr_fuzz_bank" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$work" "$seeds" >build/fuzz/fuzz.log 2>&1 || {
  tail -60 build/fuzz/fuzz.log
  echo "fuzz job: the fuzzer found a crash" >&2
  exit 1
}
execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' build/fuzz/fuzz.log | grep -Eo '[0-9]+$')
echo "fuzz job: ${execs} executions in ${FUZZ_SECONDS}s, corpus grew to $(ls "$work" | wc -l) new + $(ls "$seeds" | wc -l) seeds"

# 3. Negative control: the planted out-of-bounds read must be found (and reported by ASan).
rm -rf build/fuzz/planted && mkdir -p build/fuzz/planted
if "$fz/hr_fuzz_bank_planted" -max_total_time="$NEGATIVE_SECONDS" -timeout=10 -max_len=65536 \
  -artifact_prefix=build/fuzz/planted/ build/fuzz/planted "$seeds" >build/fuzz/planted.log 2>&1; then
  echo "fuzz job: negative control NOT detected: the planted bug went unnoticed" >&2
  exit 1
fi
grep -q 'AddressSanitizer: .*buffer-overflow' build/fuzz/planted.log || {
  tail -30 build/fuzz/planted.log
  echo "fuzz job: the negative control failed for another reason" >&2
  exit 1
}
echo "fuzz job: negative control detected: $(grep -m1 -Eo 'AddressSanitizer: [a-z-]+' build/fuzz/planted.log) after $(grep -Eo '^#[0-9]+' build/fuzz/planted.log | tail -1) executions"
echo "fuzz job: passed in $(( $(date +%s) - start ))s"
