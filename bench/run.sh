#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole benchmark suite in one command: builds in Release, runs bench_alloc (every path,
# backend and peer), its PMDK rows once per PMEM_IS_PMEM_FORCE setting, and hr_restart_bench,
# keeps the Google Benchmark JSON, and regenerates bench/README.md's tables and bench/plots/.
#
#   bench/run.sh            the full suite (about 20-25 minutes on 2 cores): bench/README.md,
#                           bench/plots/*.png, bench/results/*.json
#   bench/run.sh --quick    a few minutes, N up to 65,536, small restart sizes: writes into
#                           build/bench-quick/ (README.md, plots/, results/), not into bench/
#   options: --out DIR (where the quick/full outputs go), --no-build, --no-install
#            (do not apt-get missing packages), --skip-restart, --skip-alloc
#   environment: HR_BENCH_DIR (tmpfs folder, /dev/shm), HR_BENCH_DISK_DIR (disk folder for the
#            durable-mode rows, /var/tmp), BENCH_ALLOC_ARGS / BENCH_RESTART_ARGS (extra flags),
#            HR_BENCH_BASELINE (a commit whose hotrestart rows run beside this one's, built in a
#            worktree: default 645c0b9, the last commit of bank format 2; "none" to skip)
#
# Peak use: one store at a time (4-6 GiB of /dev/shm at N = 1,048,576, 8 GiB for the 8 GiB
# restart bank). Everything the run makes is named after HR_BENCH_PREFIX and removed at the end,
# also when the run is interrupted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

mode=full out="" build=1 install=1 restart=1 alloc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --out) out=$2; shift ;;
    --no-build) build=0 ;;
    --no-install) install=0 ;;
    --skip-restart) restart=0 ;;
    --skip-alloc) alloc=0 ;;
    -h|--help) sed -n '3,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$mode" = full ]; then
  out=${out:-bench}
  results="$out/results" plots="$out/plots" readme="$out/README.md"
  ns=16,1024,65536,1048576
  # 5 repetitions; 3 at N = 1,048,576 (its stores take longest to build and to walk).
  alloc_flags="--benchmark_min_time=0.1 --benchmark_repetitions=5 --hr_big_reps=3 --benchmark_report_aggregates_only=true"
  pmdk_msync_ns=16,1024,65536
  restart_flags="--sizes 1M,64M,1G,4G,8G --runs 240 --floor 240 --rounds 6"
else
  out=${out:-build/bench-quick}
  results="$out/results" plots="$out/plots" readme="$out/README.md"
  ns=16,1024,65536
  alloc_flags="--benchmark_min_time=0.02 --benchmark_repetitions=1"
  pmdk_msync_ns=16,1024
  restart_flags="--sizes 1M,64M --runs 24 --floor 24 --rounds 2 --cold 2 --many 8 --many-runs 20 --many-size 64M"
fi
alloc_flags="$alloc_flags ${BENCH_ALLOC_ARGS:-}"
restart_flags="$restart_flags ${BENCH_RESTART_ARGS:-}"
mkdir -p "$results" "$plots"
if [ "$mode" = quick ]; then cp bench/README.md "$readme"; fi

# ---- what the suite needs (Debian packages) --------------------------------------------------
need=()
dpkg -s libbenchmark-dev >/dev/null 2>&1 || need+=(libbenchmark-dev)
dpkg -s libboost-dev >/dev/null 2>&1 || need+=(libboost-dev)
dpkg -s libpmemobj-dev >/dev/null 2>&1 || need+=(libpmemobj-dev)
dpkg -s python3-matplotlib >/dev/null 2>&1 || need+=(python3-matplotlib)
dpkg -s libexpected-dev >/dev/null 2>&1 || need+=(libexpected-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ $install = 1 ]; then
    sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    echo "run.sh: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null ||
      { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null; }
  else
    echo "run.sh: missing packages (rows will be absent): ${need[*]}" >&2
  fi
fi
py=/usr/bin/python3  # Debian's, which sees python3-matplotlib (the first python3 on PATH may not)

# ---- room ---------------------------------------------------------------------------------------
shm_dir=${HR_BENCH_DIR:-/dev/shm}
avail_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
shm_kib=$(df -k --output=avail "$shm_dir" | tail -1)
echo "run.sh: $((avail_kib / 1024)) MiB of memory available, $((shm_kib / 1024)) MiB free in $shm_dir"
if [ "$mode" = full ] && { [ "$avail_kib" -lt $((11 << 20)) ] || [ "$shm_kib" -lt $((11 << 20)) ]; }; then
  echo "run.sh: WARNING: under 11 GiB free: the stores that do not fit at that moment are skipped" \
       "(the 8 GiB restart bank needs 8 GiB)" >&2
fi

# ---- cleanup, also on interruption ---------------------------------------------------------------
export HR_BENCH_PREFIX="hr-bench-$$"
child=""
cleanup() {
  rm -rf "$shm_dir/$HR_BENCH_PREFIX".* "$shm_dir/$HR_BENCH_PREFIX"-* "/dev/shm/$HR_BENCH_PREFIX"-* \
         "${HR_BENCH_DISK_DIR:-/var/tmp}/$HR_BENCH_PREFIX".d 2>/dev/null || true
}
on_signal() {
  [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null
  wait 2>/dev/null
  cleanup
  echo "run.sh: interrupted; scratch files removed" >&2
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM HUP
# Runs a command in its own process group (so that an interruption ends all of it) and waits.
run() {
  setsid "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return $rc
}

# ---- build ----------------------------------------------------------------------------------------
bdir=build/bench
if [ $build = 1 ]; then
  cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DHOTRESTART_BUILD_TESTS=OFF \
    -DHOTRESTART_BUILD_EXAMPLES=OFF -DHOTRESTART_BUILD_BENCHMARKS=ON -DHOTRESTART_INSTALL=OFF >/dev/null
  cmake --build "$bdir" -j2 --target bench_alloc hr_find_lines hr_restart_bench hrctl
fi
alloc_bin=$bdir/bench/bench_alloc

# ---- the baseline: the previous bank format, built from its commit in a worktree ---------------
baseline=${HR_BENCH_BASELINE:-645c0b9}
base_bin=""
if [ $alloc = 1 ] && [ "$baseline" != none ]; then
  wt=build/bench-baseline-src
  if [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" != "$(git rev-parse "$baseline")" ]; then
    git worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
    git worktree prune
    git worktree add --detach "$wt" "$baseline" >/dev/null
  fi
  if [ $build = 1 ]; then
    cmake -S "$wt" -B build/bench-baseline -DCMAKE_BUILD_TYPE=Release -DHOTRESTART_BUILD_TESTS=OFF \
      -DHOTRESTART_BUILD_EXAMPLES=OFF -DHOTRESTART_BUILD_BENCHMARKS=ON -DHOTRESTART_INSTALL=OFF >/dev/null
    cmake --build build/bench-baseline -j2 --target bench_alloc hr_find_lines
  fi
  base_bin=build/bench-baseline/bench/bench_alloc
fi
restart_bin=$bdir/bench/hr_restart_bench

# ---- run --------------------------------------------------------------------------------------------
start_s=$(date +%s)
start_h=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run.sh: $mode run, load average $load_before"
if [ $alloc = 1 ]; then
  # shellcheck disable=SC2086
  run "$alloc_bin" --hr_ns=$ns --benchmark_filter=-pmdk $alloc_flags \
    --benchmark_out="$results/alloc.json" --benchmark_out_format=json
  # libpmem reads PMEM_IS_PMEM_FORCE when it loads: one invocation per setting.
  # shellcheck disable=SC2086
  run env PMEM_IS_PMEM_FORCE=1 "$alloc_bin" --hr_ns=$ns --benchmark_filter=pmdk $alloc_flags \
    --benchmark_out="$results/pmdk_force.json" --benchmark_out_format=json
  # shellcheck disable=SC2086
  run env PMEM_IS_PMEM_FORCE=0 "$alloc_bin" --hr_ns=$pmdk_msync_ns --benchmark_filter=pmdk $alloc_flags \
    --benchmark_out="$results/pmdk_msync.json" --benchmark_out_format=json
  # Index lines per find (counted, not timed).
  run "$bdir/bench/hr_find_lines" ${ns//,/ } >"$results/find_lines.md"
  if [ -n "$base_bin" ]; then
    # The baseline's own hotrestart rows (mmap on tmpfs), in the same run: report.py shows them
    # as "hr_mmap_base" beside this commit's.
    # shellcheck disable=SC2086
    run "$base_bin" --hr_ns=$ns '--benchmark_filter=^(find|find_missing|create_free|open_find|free_group|latency_find|latency_create_free|create_free_2proc)/hr_mmap/' \
      $alloc_flags --benchmark_out="$results/alloc_base.json" --benchmark_out_format=json
    run build/bench-baseline/bench/hr_find_lines ${ns//,/ } >"$results/find_lines_base.md"
    git -C build/bench-baseline-src log -1 --format='%h %s' >"$results/baseline.txt"
  fi
fi
if [ $restart = 1 ]; then
  rdir="$shm_dir/$HR_BENCH_PREFIX.restart"
  mkdir -p "$rdir"
  # shellcheck disable=SC2086
  run "$restart_bin" $restart_flags --dir "$rdir" --json "$results/restart.json" >"$results/restart.md"
  cat "$results/restart.md"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
dur=$(( $(date +%s) - start_s ))

# ---- machine, versions, load ------------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
hyp=$(lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*//p' | head -1)
CACHES=$(lscpu | sed -n 's/^\(L1d\|L2\|L3\) cache:[[:space:]]*/\1 /p' | paste -sd, - | sed 's/,/, /g')
CACHES=${CACHES:-not exposed to this guest}
# Kernel page-table isolation without PCID flushes the TLB at every kernel entry: it makes
# system calls, page faults and lookups after them dearer, so the run records it.
PTI="meltdown: $(cat /sys/devices/system/cpu/vulnerabilities/meltdown 2>/dev/null || echo '?'), pcid: $(grep -qw pcid /proc/cpuinfo && echo yes || echo no)"
MODE=$mode CPU="$cpu${hyp:+ ($hyp guest)}" CPUS=$(nproc) CACHES="$CACHES" PTI="$PTI" MEM="$(free -g | awk '/Mem:/ {print $2}') GiB" \
OS="$(. /etc/os-release && echo "$PRETTY_NAME")" KERNEL=$(uname -r) \
SHM="$(df -h --output=size "$shm_dir" | tail -1 | tr -d ' ')" \
THP="$(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null || echo '?')" \
COMPILER="$(${CXX:-c++} --version | head -1)" BENCHMARK=$(ver libbenchmark-dev) BOOST=$(ver libboost-dev) \
PMDK=$(ver libpmemobj-dev) COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- include backends bench || echo '+changes')" \
START="$start_h" DURATION="$((dur / 60)) min $((dur % 60)) s" LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" \
ALLOC_FLAGS="--hr_ns=$ns $alloc_flags" RESTART_FLAGS="$restart_flags" \
COMMAND="bench/run.sh${mode/full/}" RESULTS="$results" \
"$py" - <<'EOF'
import json, os
keys = ["mode", "cpu", "cpus", "caches", "pti", "mem", "os", "kernel", "shm", "thp", "compiler", "benchmark", "boost", "pmdk",
        "commit", "start", "duration", "load_before", "load_after", "alloc_flags", "restart_flags", "command"]
m = {k: os.environ.get(k.upper(), "?") for k in keys}
m["thp_shmem"] = m.pop("thp")
m["command"] = m["command"].replace("quick", " --quick")
json.dump(m, open(os.path.join(os.environ["RESULTS"], "meta.json"), "w"), indent=1)
EOF
"$py" bench/report.py --results "$results" --readme "$readme" --plots "$plots"
echo "run.sh: done in $((dur / 60)) min $((dur % 60)) s (load average $load_before before, $load_after after)"
