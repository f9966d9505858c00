// SPDX-License-Identifier: MIT
// Restart latency under `hrctl run`, against the floor (a fresh posix_spawn of this
// same program that maps the existing bank and reads one value, no supervisor) and against
// rebuilding the state by reading it back. See bench_restart/README.md.
//
// One binary, three roles:
//   hr_restart_bench [--sizes 1M,1G,8G] [--runs N] [--floor N] [--cold N] [--dir D] [--hrctl P]
//       the driver: for each size, a bank on D, `hrctl run` of the target, the floor, the cold
//       read, a table; every bank file is removed at the end.
//   hr_restart_bench target RUNS SETTLE_US [go]   run by hrctl: run 1 fills the state, runs
//       1..RUNS-1 record their crash time and die of SIGSEGV, run RUNS exits cleanly. With `go`,
//       run 1 waits until the driver says go (the 64-member rows: every standby parked first).
//       Under `hrctl run --standby` the runs after the first are standbys promoted: they record
//       when they return from the standby point and that they were one.
//   hr_restart_bench idle               a member of the 64-member rows that only waits.
//   hr_restart_bench floor BANK INDEX   spawned by the driver: open, find, read one value.
//
// With HRCTL_TRACE set for hrctl (tools/hrctl/trace.hpp) the driver also splits each restart
// into its parts: crash -> hrctl woken -> reaped -> controller done -> spawn or promotion
// begins -> returned -> the new instance's main() or return from the standby point -> found.
//
// Timestamps are CLOCK_MONOTONIC nanoseconds written into a block of the bank ("bench-times"),
// so they cross the crash and the processes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <hotrestart/posix/process.hpp>

#ifndef HR_BENCH_HRCTL
#define HR_BENCH_HRCTL "hrctl"
#endif

extern char** environ;

namespace {

using namespace hotrestart;

std::uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

constexpr std::uint32_t max_samples = 4096;
constexpr std::uint64_t state_magic = 0x5354415445424e48ull;  // "HNBETATS"

// The timestamps block. Index k is run k (1-based) or floor spawn k.
struct times_block {
  std::uint64_t crash_ns[max_samples];  // the dying run, just before the fault
  std::uint64_t main_ns[max_samples];   // the new run's main()
  std::uint64_t found_ns[max_samples];  // the new run, its state block found and read
  std::uint64_t floor_main_ns[max_samples];
  std::uint64_t floor_found_ns[max_samples];
  std::uint64_t value_seen[max_samples];     // what the run read (checked by the driver)
  std::uint64_t raw_ns[max_samples];         // raw open + mmap + read one value, from main()
  std::uint64_t bare_crash_ns[max_samples];  // the crasher of the bare-supervisor reference
  std::uint64_t standby_ns[max_samples];     // the run returned from the standby point
  std::uint64_t attached_ns[max_samples];    // the run's attach() returned
  std::uint64_t pid[max_samples];            // the run's pid (to match hrctl's trace)
  std::uint64_t from_standby[max_samples];   // 1: the run was a standby, promoted
  std::uint32_t runs;
  std::uint32_t go;  // the 64-member rows: set by the driver once every standby is parked
};

constexpr const char* state_name = "bench-state";
constexpr const char* times_name = "bench-times";

[[noreturn]] void die(const char* what, const error& e) {
  std::fprintf(stderr, "hr_restart_bench: %s: %s\n", what, describe(e).text);
  std::exit(90);
}

// ---- the target, run by hrctl -------------------------------------------------------------

int target(std::uint64_t t_main, std::uint32_t runs, std::uint32_t settle_us, bool wait_go) {
  // A standby waits here (attach() would park at the same point): the promotion's end is
  // timed on its own. Outside a standby this returns at once.
  const char* sfd = std::getenv("HR_STANDBY_FD");
  const bool standby = sfd != nullptr && *sfd != '\0';
  posix::process::standby_point();
  const std::uint64_t t_standby = now_ns();
  auto self = posix::process::attach();
  if (!self) die("attach", self.error());
  const std::uint64_t t_attached = now_ns();
  std::uint64_t value = 0;
  if (self->restarted()) {
    // The measured path: the first find after main().
    auto st = self->bank().find(state_name);
    if (!st) die("state block lost", st.error());
    const auto* words = reinterpret_cast<const std::uint64_t*>(st->data);
    value = words[st->size / 8 - 1];  // one value, at the far end of the state
  }
  const std::uint64_t t_found = now_ns();
  auto tb = self->bank().find_or_create(times_name, sizeof(times_block));
  if (!tb) die("times block", tb.error());
  auto* t = reinterpret_cast<times_block*>(tb->data);
  if (!self->restarted()) {
    // Run 1 fills the rest of the bank with the state, every page of it.
    auto s = self->bank().stats();
    if (!s) die("stats", s.error());
    auto st = self->bank().find(state_name);  // kept from an earlier round
    if (!st) {
      // (With `go`, other groups come first in the bank: half of what they left.)
      st = self->bank().find_or_create(
          state_name, wait_go ? s->largest_free / 2 / 4096 * 4096 : s->largest_free);
      if (!st) die("state block", st.error());
      auto* words = reinterpret_cast<std::uint64_t*>(st->data);
      const std::uint64_t n = st->size / 8;
      for (std::uint64_t i = 0; i < n; i += 512) words[i] = i;
      words[n - 1] = state_magic;
    }
    t->runs = 0;
  }
  if (wait_go && !self->restarted())
    while (std::atomic_ref<std::uint32_t>(t->go).load() == 0) ::usleep(5000);
  const std::uint32_t run = ++t->runs;
  if (run < max_samples) {
    t->main_ns[run] = t_main;
    t->found_ns[run] = t_found;
    t->value_seen[run] = value;
    t->standby_ns[run] = t_standby;
    t->attached_ns[run] = t_attached;
    t->pid[run] = static_cast<std::uint64_t>(::getpid());
    t->from_standby[run] = standby ? 1 : 0;
  }
  if (run >= runs || run + 1 >= max_samples) self->exit_cleanly(0);
  // Let the supervisor settle in its poll() before the next crash, as between real crashes.
  if (settle_us != 0) ::usleep(settle_us);
  // No core file: the kernel would write one (core_pattern "core") and that is not ours to time.
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0);
  t->crash_ns[run] = now_ns();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  volatile int* p = nullptr;
  *p = 1;  // the crash
  return 1;
}

// A member of the 64-member rows: attached, then waits until it is stopped.
int idle() {
  auto self = posix::process::attach();
  if (!self) die("attach", self.error());
  for (;;) ::pause();
}

// ---- the floor: map the existing bank, read one value --------------------------------------

// The same without the bank: open + mmap + read the file's last word, then the bank for the
// times block. What the 25 µs goal is measured against.
int raw_child(std::uint64_t t_main, const char* path, std::uint32_t index) {
  const int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return 4;
  struct stat st {};
  ::fstat(fd, &st);
  const auto bytes = static_cast<std::size_t>(st.st_size);
  void* m = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return 4;
  const volatile std::uint64_t v = static_cast<const std::uint64_t*>(m)[bytes / 8 - 1];
  (void)v;
  const std::uint64_t t_found = now_ns();
  ::munmap(m, bytes);
  auto b = mmap_bank::open(path);
  if (!b) die("open", b.error());
  auto tb = b->find(times_name);
  if (!tb) die("times", tb.error());
  auto* t = reinterpret_cast<times_block*>(tb->data);
  if (index < max_samples) t->raw_ns[index] = t_found - t_main;
  return 0;
}

// The crash of the bare-supervisor reference: record the time, then the same fault as the target.
// `settle_us`: it waits that long first (the machine idle at the crash, as under hrctl).
int crasher(const char* path, std::uint32_t index, std::uint32_t settle_us) {
  if (settle_us != 0) ::usleep(settle_us);
  auto b = mmap_bank::open(path);
  if (!b) die("open", b.error());
  auto tb = b->find(times_name);
  if (!tb) die("times", tb.error());
  auto* t = reinterpret_cast<times_block*>(tb->data);
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0);
  if (index < max_samples) t->bare_crash_ns[index] = now_ns();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  volatile int* p = nullptr;
  *p = 1;
  return 1;
}

int floor_child(std::uint64_t t_main, const char* path, std::uint32_t index) {
  auto b = mmap_bank::open(path);
  if (!b) die("open", b.error());
  auto st = b->find(state_name);
  if (!st) die("find", st.error());
  const std::uint64_t value = reinterpret_cast<const std::uint64_t*>(st->data)[st->size / 8 - 1];
  const std::uint64_t t_found = now_ns();
  auto tb = b->find(times_name);
  if (!tb) die("times", tb.error());
  auto* t = reinterpret_cast<times_block*>(tb->data);
  if (index < max_samples) {
    t->floor_main_ns[index] = t_main;
    t->floor_found_ns[index] = t_found;
  }
  return value == state_magic ? 0 : 3;
}

// ---- the driver ----------------------------------------------------------------------------

struct summary {
  std::size_t n = 0;
  double min = 0, p10 = 0, median = 0, p90 = 0, max = 0;
};

summary summarize(std::vector<double> v) {
  summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
  };
  s.n = v.size();
  s.min = v.front();
  s.p10 = at(0.10);
  s.median = at(0.50);
  s.p90 = at(0.90);
  s.max = v.back();
  return s;
}

std::string fmt_us(double us) {
  char b[32];
  if (us >= 100000)
    std::snprintf(b, sizeof b, "%.3f s", us / 1e6);
  else if (us >= 1000)
    std::snprintf(b, sizeof b, "%.3f ms", us / 1000);
  else
    std::snprintf(b, sizeof b, "%.1f µs", us);
  return b;
}

std::string row(const summary& s) {
  return fmt_us(s.median) + " | " + fmt_us(s.p10) + " – " + fmt_us(s.p90) + " | " + fmt_us(s.min) +
         " | " + std::to_string(s.n);
}

bool parse_size(const std::string& s, std::uint64_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str()) return false;
  std::uint64_t mul = 1;
  if (*end == 'K')
    mul = 1ull << 10, ++end;
  else if (*end == 'M')
    mul = 1ull << 20, ++end;
  else if (*end == 'G')
    mul = 1ull << 30, ++end;
  if (*end != '\0') return false;
  out = v * mul;
  return true;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

// read() of the whole bank file (1 MiB at a time): rebuilding the state from a copy of it.
double cold_read_us(const std::string& path, std::vector<char>& buf) {
  const std::uint64_t t0 = now_ns();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::uint64_t sum = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    sum += static_cast<unsigned char>(buf[static_cast<std::size_t>(n) - 1]);
  }
  ::close(fd);
  const std::uint64_t t1 = now_ns();
  asm volatile("" : : "r"(sum));  // the reads are not optimised away
  return static_cast<double>(t1 - t0) / 1000.0;
}

// A fresh mapping of the bank with every page touched (read): what a program pays when it
// walks all its state after a restart.
double cold_touch_us(const std::string& path) {
  const std::uint64_t t0 = now_ns();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  ::fstat(fd, &st);
  const auto bytes = static_cast<std::size_t>(st.st_size);
  void* m = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return -1;
  const auto* p = static_cast<const volatile unsigned char*>(m);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < bytes; i += 4096) sum += p[i];
  ::munmap(m, bytes);
  const std::uint64_t t1 = now_ns();
  asm volatile("" : : "r"(sum));  // the reads are not optimised away
  return static_cast<double>(t1 - t0) / 1000.0;
}

// What one image -> sealed memfd costs (hrctl makes it once per image and caches it while the
// group lives; this says what a restart would pay without the cache).
double memfd_copy_us(const std::vector<char>& exe) {
  const std::uint64_t t0 = now_ns();
  const int fd = ::memfd_create("hr:bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  std::size_t done = 0;
  while (done < exe.size()) {
    const ssize_t n = ::write(fd, exe.data() + done, exe.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  ::close(fd);
  return static_cast<double>(now_ns() - t0) / 1000.0;
}

// ---- hrctl's trace (HRCTL_TRACE, tools/hrctl/trace.hpp) -------------------------------------

struct trace_mark {
  std::uint64_t ns = 0;
  std::string what;
  std::uint32_t id = 0;
  std::int64_t pid = 0;
};

std::vector<trace_mark> read_trace(const std::string& path) {
  std::vector<trace_mark> v;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return v;
  char what[32];
  unsigned long long ns = 0;
  unsigned id = 0;
  long long pid = 0;
  while (std::fscanf(f, "%llu %31s %u %lld", &ns, what, &id, &pid) == 4)
    v.push_back({ns, what, id, pid});
  std::fclose(f);
  return v;
}

// The parts of one restart, one after the other (their medians do not add up exactly).
enum part : std::size_t {
  p_wake,
  p_reaped,
  p_booked,
  p_spawn,
  p_returned,
  p_start,
  p_found,
  p_count
};
constexpr const char* part_names[p_count] = {
    "crash → hrctl woken (poll returned, pidfd readable)",
    "woken → reaped (waitpid)",
    "reaped → controller done (process_failed)",
    "controller done → spawn/promotion begins (process_started, run record)",
    "spawn/promotion begins → returned (vfork + exec / promotion message)",
    "returned → new instance's main() / return from the standby point",
    "main() / return from the standby point → first block found"};
constexpr const char* part_keys[p_count] = {"crash_wake",   "wake_reaped", "reaped_booked",
                                            "booked_spawn", "spawn_ret",   "ret_start",
                                            "start_found"};

double us_between(std::uint64_t from, std::uint64_t to) {
  return static_cast<double>(static_cast<std::int64_t>(to - from)) / 1000.0;
}

// The restarts of hrctl runs of the target: from the timestamps block and hrctl's trace.
struct run_rows {
  std::vector<double> restart;      // crash -> found
  std::vector<double> to_start;     // crash -> main() (fresh) or standby return (promoted)
  std::vector<double> start_found;  // main() / standby return -> found
  std::vector<double> attach;       // standby return -> attach() returned
  std::vector<double> parts[p_count];
  std::uint32_t restarts = 0;        // every restart seen
  std::uint32_t promoted = 0;        // of which the new run was a promoted standby
  std::uint32_t promoted_marks = 0;  // promotions in hrctl's trace
  std::uint32_t traced = 0;          // restarts matched in the trace
  std::uint32_t bad = 0;             // runs that did not find the state
};

// Restart k: run k-1 (pid `dead`) crashed at `crash`; run k (pid `born`) started at `start`
// (main() or the standby return) and found its state at `found`.
bool add_parts(run_rows& rr, const std::vector<trace_mark>& tr, std::int64_t dead,
               std::int64_t born, std::uint64_t crash, std::uint64_t start, std::uint64_t found) {
  const trace_mark *wake = nullptr, *reaped = nullptr, *booked = nullptr, *spawn = nullptr,
                   *ret = nullptr;
  std::size_t i = 0;
  for (; i < tr.size() && booked == nullptr; ++i) {
    const trace_mark& m = tr[i];
    if (m.pid != dead) continue;
    if (m.what == "wake")
      wake = &m;
    else if (m.what == "reaped")
      reaped = &m;
    else if (m.what == "booked")
      booked = &m;
  }
  if (booked == nullptr) return false;
  for (; i < tr.size() && ret == nullptr; ++i) {
    const trace_mark& m = tr[i];
    if (m.what == "spawn" && m.id == booked->id && spawn == nullptr)
      spawn = &m;
    else if ((m.what == "spawned" || m.what == "promoted") && m.pid == born)
      ret = &m;
  }
  if (wake == nullptr || reaped == nullptr || spawn == nullptr || ret == nullptr) return false;
  rr.parts[p_wake].push_back(us_between(crash, wake->ns));
  rr.parts[p_reaped].push_back(us_between(wake->ns, reaped->ns));
  rr.parts[p_booked].push_back(us_between(reaped->ns, booked->ns));
  rr.parts[p_spawn].push_back(us_between(booked->ns, spawn->ns));
  rr.parts[p_returned].push_back(us_between(spawn->ns, ret->ns));
  rr.parts[p_start].push_back(us_between(ret->ns, start));
  rr.parts[p_found].push_back(us_between(start, found));
  return true;
}

// Runs 2..n of one hrctl run. `standby`: only the restarts from a promoted standby are kept
// (the others are counted, not mixed in); otherwise only the fresh ones. `first`: restart 2
// (after the run that wrote the whole state) is set apart there.
void collect(run_rows& rr, const times_block* t, std::uint32_t n, bool standby,
             const std::string& trace_path, double* first) {
  const std::vector<trace_mark> tr = read_trace(trace_path);
  for (const trace_mark& m : tr) rr.promoted_marks += m.what == "promoted" ? 1 : 0;
  for (std::uint32_t k = 2; k <= n && k < max_samples; ++k) {
    ++rr.restarts;
    if (t->value_seen[k] != state_magic) ++rr.bad;
    const bool promoted = t->from_standby[k] != 0;
    rr.promoted += promoted ? 1 : 0;
    if (promoted != standby) continue;
    const double us = us_between(t->crash_ns[k - 1], t->found_ns[k]);
    if (k == 2 && first != nullptr) {
      *first = us;
      continue;
    }
    const std::uint64_t start = promoted ? t->standby_ns[k] : t->main_ns[k];
    rr.restart.push_back(us);
    rr.to_start.push_back(us_between(t->crash_ns[k - 1], start));
    rr.start_found.push_back(us_between(start, t->found_ns[k]));
    rr.attach.push_back(us_between(t->standby_ns[k], t->attached_ns[k]));
    if (add_parts(rr, tr, static_cast<std::int64_t>(t->pid[k - 1]),
                  static_cast<std::int64_t>(t->pid[k]), t->crash_ns[k - 1], start, t->found_ns[k]))
      ++rr.traced;
  }
}

struct rows_summary {
  summary restart, to_start, start_found, attach, parts[p_count];
  std::uint32_t restarts = 0, promoted = 0, promoted_marks = 0, traced = 0;
};

rows_summary summarize(const run_rows& rr) {
  rows_summary s;
  s.restart = summarize(rr.restart);
  s.to_start = summarize(rr.to_start);
  s.start_found = summarize(rr.start_found);
  s.attach = summarize(rr.attach);
  for (std::size_t p = 0; p < p_count; ++p) s.parts[p] = summarize(rr.parts[p]);
  s.restarts = rr.restarts;
  s.promoted = rr.promoted;
  s.promoted_marks = rr.promoted_marks;
  s.traced = rr.traced;
  return s;
}

struct size_result {
  std::string label;
  std::uint64_t bytes = 0;
  summary bare, bare_wake, bare_idle, bare_idle_wake, raw_main, restart, restart_main,
      restart_to_main, floor, floor_main, floor_to_main, cold_read, cold_touch;
  rows_summary plain, standby;  // the hrctl runs without and with --standby, part by part
  double first_restart_us = 0;  // after the run that filled (and so had mapped) the whole state
  std::uint32_t bad_values = 0;
};

// The 64-member rows: `members` groups of one member each in one bank under `hrctl serve`,
// the last group's member crashes, the others wait; with or without standbys.
struct many_result {
  std::uint32_t members = 0;
  bool standby = false;
  rows_summary rows;
  std::uint32_t parked = 0;        // standbys parked before the first crash
  std::uint64_t rss_kb = 0;        // their RSS, summed
  std::uint64_t pss_kb = 0;        // their PSS, summed
  std::uint32_t cpu_checked = 0;   // parked standbys whose CPU time was read twice
  std::uint32_t cpu_used = 0;      // ... of which used some meanwhile
  std::uint32_t cpu_check_ms = 0;  // how far apart
  double ready_s = 0;              // serve started -> every member running (and standby parked)
  std::uint32_t bad = 0;           // runs that did not find the state
  bool ok = false;
};

// ---- the results ---------------------------------------------------------------------------

// The results as JSON (microseconds): what bench/report.py plots against the bank size.
bool write_json(const std::string& path, const std::vector<size_result>& results,
                const std::vector<many_result>& many, const summary& memfd, std::uint32_t settle_us,
                std::uint32_t standby_settle_us) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  auto put = [&](const char* name, const summary& s, bool comma) {
    std::fprintf(f,
                 "\"%s\": {\"n\": %zu, \"min\": %.3f, \"p10\": %.3f, \"median\": %.3f, \"p90\": "
                 "%.3f, \"max\": %.3f}%s",
                 name, s.n, s.min, s.p10, s.median, s.p90, s.max, comma ? ", " : "");
  };
  auto put_rows = [&](const char* name, const rows_summary& r, bool comma) {
    std::fprintf(f,
                 "\"%s\": {\"restarts\": %u, \"promoted\": %u, \"promoted_in_trace\": %u, "
                 "\"traced\": %u, ",
                 name, r.restarts, r.promoted, r.promoted_marks, r.traced);
    put("restart", r.restart, true);
    put("to_start", r.to_start, true);
    put("start_found", r.start_found, true);
    put("standby_to_attached", r.attach, true);
    for (std::size_t p = 0; p < p_count; ++p) put(part_keys[p], r.parts[p], p + 1 < p_count);
    std::fprintf(f, "}%s", comma ? ", " : "");
  };
  std::fprintf(f, "{\"unit\": \"us\", \"settle_us\": %u, \"standby_settle_us\": %u, \"sizes\": [\n",
               settle_us, standby_settle_us);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const size_result& r = results[i];
    std::fprintf(f,
                 "  {\"label\": \"%s\", \"bytes\": %" PRIu64
                 ", \"first_restart\": %.3f, \"bad_values\": %u, ",
                 r.label.c_str(), r.bytes, r.first_restart_us, r.bad_values);
    put("restart", r.restart, true);
    put("floor", r.floor, true);
    put("bare", r.bare, true);
    put("bare_wake", r.bare_wake, true);
    put("bare_idle", r.bare_idle, true);
    put("bare_idle_wake", r.bare_idle_wake, true);
    put("restart_to_main", r.restart_to_main, true);
    put("floor_to_main", r.floor_to_main, true);
    put("restart_main", r.restart_main, true);
    put("floor_main", r.floor_main, true);
    put("raw_main", r.raw_main, true);
    put("cold_read", r.cold_read, true);
    put("cold_touch", r.cold_touch, true);
    put_rows("plain", r.plain, true);
    put_rows("standby", r.standby, false);
    std::fprintf(f, "}%s\n", i + 1 < results.size() ? "," : "");
  }
  std::fprintf(f, "], \"many\": [\n");
  for (std::size_t i = 0; i < many.size(); ++i) {
    const many_result& m = many[i];
    std::fprintf(f,
                 "  {\"members\": %u, \"standby\": %s, \"ok\": %s, \"parked\": %u, \"rss_kb\": "
                 "%" PRIu64 ", \"pss_kb\": %" PRIu64
                 ", \"cpu_checked\": %u, \"cpu_used\": %u, \"cpu_check_ms\": %u, \"ready_s\": "
                 "%.3f, ",
                 m.members, m.standby ? "true" : "false", m.ok ? "true" : "false", m.parked,
                 m.rss_kb, m.pss_kb, m.cpu_checked, m.cpu_used, m.cpu_check_ms, m.ready_s);
    put_rows("rows", m.rows, false);
    std::fprintf(f, "}%s\n", i + 1 < many.size() ? "," : "");
  }
  std::fprintf(f, "], ");
  put("memfd", memfd, false);
  std::fprintf(f, "}\n");
  return std::fclose(f) == 0;
}

// ---- processes -----------------------------------------------------------------------------

std::vector<char*> c_args(const std::vector<std::string>& args) {
  std::vector<char*> v;
  for (const auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

// The environment with HRCTL_TRACE=path (for hrctl: its trace) when `trace` is not empty.
struct env_with_trace {
  std::string kv;
  std::vector<char*> envp;
  explicit env_with_trace(const std::string& trace) {
    if (!trace.empty()) kv = "HRCTL_TRACE=" + trace;
    for (char** e = environ; *e != nullptr; ++e)
      if (std::strncmp(*e, "HRCTL_TRACE=", 12) != 0) envp.push_back(*e);
    if (!kv.empty()) envp.push_back(kv.data());
    envp.push_back(nullptr);
  }
};

pid_t spawn_bg(const std::vector<std::string>& args, const std::string& trace = {}, int out = -1) {
  std::vector<char*> argv = c_args(args);
  env_with_trace env(trace);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), env.envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int wait_status(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int spawn_wait(const std::vector<std::string>& args, const std::string& trace = {}) {
  const pid_t pid = spawn_bg(args, trace);
  return pid < 0 ? -1 : wait_status(pid);
}

// What a command writes on its stdout.
std::string capture(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  const pid_t pid = spawn_bg(args, {}, p[1]);
  ::close(p[1]);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  if (pid > 0) (void)wait_status(pid);
  return out;
}

// `members[].standby` objects of `hrctl status --json` (docs/json.md).
struct standby_seen {
  std::string state;
  long pid = 0, rss_kb = 0, pss_kb = 0, promotions = 0;
};

std::vector<standby_seen> standbys_in(const std::string& json) {
  std::vector<standby_seen> v;
  const std::string key = "\"standby\":{";
  for (std::size_t at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
    const std::size_t end = json.find('}', at);
    const std::string o = json.substr(at + key.size(), end - at - key.size());
    auto num = [&](const char* k) {
      const std::size_t p = o.find(std::string("\"") + k + "\":");
      return p == std::string::npos ? -1L : std::atol(o.c_str() + p + std::strlen(k) + 3);
    };
    standby_seen s;
    const std::size_t st = o.find("\"state\":\"");
    if (st != std::string::npos) s.state = o.substr(st + 9, o.find('"', st + 9) - st - 9);
    s.pid = num("pid");
    s.rss_kb = num("rss_kb");
    s.pss_kb = num("pss_kb");
    s.promotions = num("promotions");
    v.push_back(s);
  }
  return v;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15); -1 if gone.
long long cpu_ticks(long pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  long long fields[13] = {};
  // After ") ": state (field 3), then fields 4.. as numbers; utime and stime are 14 and 15.
  p += 2;
  ++p;  // the state letter
  for (long long& x : fields) x = std::strtoll(p, const_cast<char**>(&p), 10);
  return fields[10] + fields[11];
}

// ---- the 64-member rows ---------------------------------------------------------------------

many_result many_run(std::uint32_t members, bool standby, const std::string& bank_size,
                     std::uint32_t runs, std::uint32_t settle_us, std::uint32_t cpu_check_ms,
                     const std::string& dir, const std::string& hrctl, const std::string& self,
                     bool traced) {
  many_result m;
  m.members = members;
  m.standby = standby;
  const std::string base = dir + "/hr-restart-bench-" + std::to_string(::getpid()) + "-many" +
                           std::to_string(members) + (standby ? "s" : "");
  const std::string bank = base + ".bank", cfg = base + ".conf", trace = base + ".trace";
  for (const std::string& f : {bank, cfg, trace}) ::unlink(f.c_str());
  {
    FILE* f = std::fopen(cfg.c_str(), "w");
    if (f == nullptr) return m;
    const std::uint32_t limit = std::max<std::uint32_t>(32, members + 1);
    std::fprintf(f,
                 "bank = %s\nbank-size = %s\nmax-groups = %u\nmax-processes = %u\ninterval = "
                 "1\nmax-badness = 0\n",
                 bank.c_str(), bank_size.c_str(), limit, limit);
    // The waiting members first: each group's image is in the bank before the crashing member
    // fills it with its state.
    for (std::uint32_t g = 0; g < members; ++g) {
      std::fprintf(f, "[group %u]\n", g);
      if (g + 1 == members)
        std::fprintf(f, "run = \"%s\" target %u %u go\n", self.c_str(), runs, settle_us);
      else
        std::fprintf(f, "run = \"%s\" idle\n", self.c_str());
      std::fprintf(f, "standby = %s\n", standby ? "yes" : "no");
    }
    std::fclose(f);
  }
  std::fprintf(stderr, "[many] %u member%s %s standbys: hrctl serve, %u crashes of one...\n",
               members, members == 1 ? "" : "s", standby ? "with" : "without", runs - 1);
  const std::uint64_t t0 = now_ns();
  const pid_t serve =
      spawn_bg({hrctl, "serve", "--config", cfg, "--quiet"}, traced ? trace : std::string());
  if (serve < 0) return m;
  auto serve_alive = [&] {
    int st = 0;
    return ::waitpid(serve, &st, WNOHANG) == 0;
  };
  // Every member running and (with standbys) every standby parked; the crashing member waits for go.
  std::vector<standby_seen> seen;
  bool ready = false;
  for (int i = 0; i < 1200 && !ready && serve_alive(); ++i) {
    ::usleep(50000);
    const std::string js = capture({hrctl, "status", "--bank", bank, "--json"});
    seen = standbys_in(js);
    std::uint32_t parked = 0;
    for (const standby_seen& s : seen) parked += s.state == "parked" ? 1 : 0;
    ready = count_of(js, "\"alive\":true") == members && (!standby || parked == members);
    m.parked = parked;
  }
  m.ready_s = static_cast<double>(now_ns() - t0) / 1e9;
  if (!ready) {
    std::fprintf(stderr, "[many] not ready after %.1f s (%u parked)\n", m.ready_s, m.parked);
    ::kill(serve, SIGTERM);
    (void)wait_status(serve);
    for (const std::string& f : {bank, cfg, trace}) ::unlink(f.c_str());
    return m;
  }
  if (standby) {
    std::vector<std::pair<long, long long>> before;
    for (const standby_seen& s : seen) {
      m.rss_kb += static_cast<std::uint64_t>(std::max(0L, s.rss_kb));
      m.pss_kb += static_cast<std::uint64_t>(std::max(0L, s.pss_kb));
      before.emplace_back(s.pid, cpu_ticks(s.pid));
    }
    ::usleep(cpu_check_ms * 1000);
    m.cpu_check_ms = cpu_check_ms;
    for (const auto& [pid, ticks] : before) {
      const long long now = cpu_ticks(pid);
      if (ticks < 0 || now < 0) continue;
      ++m.cpu_checked;
      m.cpu_used += now != ticks ? 1 : 0;
    }
  }
  std::optional<mmap_bank> b;
  times_block* t = nullptr;
  for (int i = 0; i < 400 && t == nullptr; ++i) {
    if (auto o = mmap_bank::open(bank.c_str())) {
      b.emplace(std::move(*o));
      if (auto tb = b->find(times_name)) t = reinterpret_cast<times_block*>(tb->data);
    }
    if (t == nullptr) {
      b.reset();
      ::usleep(50000);
    }
  }
  if (t != nullptr) {
    std::atomic_ref<std::uint32_t>(t->go).store(1);
    const std::uint64_t limit_ns =
        now_ns() + (static_cast<std::uint64_t>(runs) * (settle_us + 200000u) + 30000000u) * 1000u;
    while (std::atomic_ref<std::uint32_t>(t->runs).load() < runs && now_ns() < limit_ns &&
           serve_alive())
      ::usleep(20000);
    ::usleep(100000);  // (the last run's times written, its clean exit handled)
    m.ok = std::atomic_ref<std::uint32_t>(t->runs).load() >= runs;
  }
  ::kill(serve, SIGTERM);
  (void)wait_status(serve);
  if (t != nullptr) {
    run_rows rr;
    double first = 0;
    collect(rr, t, std::min<std::uint32_t>(t->runs, runs), standby, trace, &first);
    m.rows = summarize(rr);
    m.bad = rr.bad;
  }
  b.reset();
  for (const std::string& f : {bank, cfg, trace}) ::unlink(f.c_str());
  return m;
}

// ---- the driver ----------------------------------------------------------------------------
int driver(int argc, char** argv) {
  std::vector<std::string> sizes = {"1M", "1G", "8G"};
  std::uint32_t runs = 400, floors = 400, colds = 0, settle_us = 20000, rounds = 8;
  std::uint32_t standby_settle_us = 80000, many = 64, many_runs = 60, cpu_check_ms = 1000;
  bool standby_rows = true, traced = true;
  std::string dir = "/dev/shm", hrctl = HR_BENCH_HRCTL, json, many_size = "1G";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    auto next_u32 = [&] { return static_cast<std::uint32_t>(std::atoi(next().c_str())); };
    if (a == "--sizes") {
      sizes.clear();
      std::string v = next();
      if (v == "none") continue;  // only the member rows (--many)
      for (std::size_t p = 0; p != std::string::npos;) {
        const std::size_t c = v.find(',', p);
        sizes.push_back(v.substr(p, c == std::string::npos ? c : c - p));
        p = c == std::string::npos ? c : c + 1;
      }
    } else if (a == "--runs")
      runs = next_u32();
    else if (a == "--floor")
      floors = next_u32();
    else if (a == "--rounds")
      rounds = std::max<std::uint32_t>(1, next_u32());
    else if (a == "--cold")
      colds = next_u32();
    else if (a == "--dir")
      dir = next();
    else if (a == "--settle-us")
      settle_us = next_u32();
    else if (a == "--standby-settle-us")
      standby_settle_us = next_u32();
    else if (a == "--no-standby")
      standby_rows = false;
    else if (a == "--no-trace")
      traced = false;
    else if (a == "--many")
      many = next_u32();
    else if (a == "--many-runs")
      many_runs = next_u32();
    else if (a == "--many-size")
      many_size = next();
    else if (a == "--cpu-check-ms")
      cpu_check_ms = next_u32();
    else if (a == "--hrctl")
      hrctl = next();
    else if (a == "--json")
      json = next();
    else {
      std::printf(
          "usage: hr_restart_bench [--sizes 1M,1G,8G (none: only the --many rows)] [--runs N "
          "(400)] [--floor N (400)] [--rounds "
          "N (8)]\n"
          "                        [--cold N (default: 20 / 5 / 3 by size)] [--dir /dev/shm]\n"
          "                        [--settle-us US (20000: each run waits before it crashes)]\n"
          "                        [--standby-settle-us US (80000: the same under --standby; the\n"
          "                          next standby is made 20 ms after a promotion and must be\n"
          "                          parked before the next crash)] [--no-standby]\n"
          "                        [--no-trace (no HRCTL_TRACE for hrctl: no parts)]\n"
          "                        [--many N (64; 0: none): N members with and without standbys\n"
          "                          in one bank under hrctl serve, one of them crashing, against\n"
          "                          1 member] [--many-runs N (60)] [--many-size S (1G)]\n"
          "                        [--cpu-check-ms MS (1000: a parked standby's CPU time, read\n"
          "                          this far apart)]\n"
          "                        [--hrctl PATH] [--json FILE (the results, for "
          "bench/report.py)]\n"
          "quick: hr_restart_bench --sizes 1M --runs 40 --floor 40 --rounds 2 --many 8 "
          "--many-runs 20\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  runs = std::clamp<std::uint32_t>(runs, 3, max_samples - 1);
  floors = std::clamp<std::uint32_t>(floors, 1, max_samples - 1);
  many_runs = std::clamp<std::uint32_t>(many_runs, 3, max_samples - 1);
  const std::string self = self_exe();
  std::vector<char> exe;
  {
    const int fd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    ::fstat(fd, &st);
    exe.resize(static_cast<std::size_t>(st.st_size));
    if (::read(fd, exe.data(), exe.size()) != static_cast<ssize_t>(exe.size())) exe.clear();
    ::close(fd);
  }
  std::vector<size_result> results;
  std::vector<char> buf(1u << 20);
  for (const std::string& label : sizes) {
    std::uint64_t bytes = 0;
    if (!parse_size(label, bytes)) {
      std::fprintf(stderr, "bad size %s\n", label.c_str());
      return 2;
    }
    const std::string bank =
        dir + "/hr-restart-bench-" + std::to_string(::getpid()) + "-" + label + ".bank";
    const std::string trace = traced ? bank + ".trace" : std::string();
    ::unlink(bank.c_str());
    // Rounds: each round is one `hrctl run` (its runs crash one after the other), one
    // `hrctl run --standby`, then the floor, the raw reference and the bare supervisor, so
    // that all of them see the same machine load (the cores are shared and the load changes by
    // the minute).
    const std::uint32_t per_run = std::max<std::uint32_t>(3, (runs + rounds - 1) / rounds + 1);
    const std::uint32_t per_floor = std::max<std::uint32_t>(1, (floors + rounds - 1) / rounds);
    size_result r;
    r.label = label;
    r.bytes = bytes;
    run_rows plain, standby;
    std::vector<double> fl, flm, flt, raw, bare, bare_wake, bare_idle, bare_idle_wake;
    std::optional<mmap_bank> b;
    times_block* t = nullptr;
    for (std::uint32_t round = 0; round < rounds; ++round) {
      std::fprintf(stderr, "[%s] round %u/%u: hrctl run (%u crashes)%s, %u floor, raw, bare...\n",
                   label.c_str(), round + 1, rounds, per_run - 1,
                   standby_rows ? ", hrctl run --standby (as many)" : "", per_floor);
      // --interval 1: hrctl's anti-tight-loop backoff (restarts of a group less than an
      // interval apart wait 10 ms * 2^k) is not what is measured; --max-badness 0: never
      // escalate. The state block outlives each round's group (it has no group key).
      ::unlink(trace.c_str());
      int rc = spawn_wait({hrctl, "run", "--bank", bank, "--bank-size", label, "--interval", "1",
                           "--max-badness", "0", "--quiet", "--", self, "target",
                           std::to_string(per_run), std::to_string(settle_us)},
                          trace);
      if (rc != 0) {
        std::fprintf(stderr, "hrctl run failed (status %d)\n", rc);
        ::unlink(bank.c_str());
        ::unlink(trace.c_str());
        return 1;
      }
      if (!b) {
        auto o = mmap_bank::open(bank.c_str());
        if (!o) die("open the bank after the run", o.error());
        b.emplace(std::move(*o));
        auto tb = b->find(times_name);
        if (!tb) die("times block", tb.error());
        t = reinterpret_cast<times_block*>(tb->data);
      }
      collect(plain, t, per_run, false, trace, round == 0 ? &r.first_restart_us : nullptr);
      if (standby_rows) {
        // The same with a warm standby: each restart is a promotion, if the next standby was
        // parked in time (the settle time); the others are counted apart.
        ::unlink(trace.c_str());
        rc = spawn_wait({hrctl, "run", "--standby", "--bank", bank, "--bank-size", label,
                         "--interval", "1", "--max-badness", "0", "--quiet", "--", self, "target",
                         std::to_string(per_run), std::to_string(standby_settle_us)},
                        trace);
        if (rc != 0) {
          std::fprintf(stderr, "hrctl run --standby failed (status %d)\n", rc);
          ::unlink(bank.c_str());
          ::unlink(trace.c_str());
          return 1;
        }
        collect(standby, t, per_run, true, trace, nullptr);
      }
      ::unlink(trace.c_str());
      for (std::uint32_t i = 1; i <= per_floor && i < max_samples; ++i) {
        const std::uint64_t t0 = now_ns();
        if (spawn_wait({self, "floor", bank, std::to_string(i)}) != 0) {
          ++r.bad_values;
          continue;
        }
        fl.push_back(static_cast<double>(t->floor_found_ns[i] - t0) / 1000.0);
        flm.push_back(static_cast<double>(t->floor_found_ns[i] - t->floor_main_ns[i]) / 1000.0);
        flt.push_back(static_cast<double>(t->floor_main_ns[i] - t0) / 1000.0);
        ::usleep(2000);
      }
      for (std::uint32_t i = 1; i <= per_floor && i < max_samples; ++i) {
        if (spawn_wait({self, "raw", bank, std::to_string(i)}) != 0) continue;
        raw.push_back(static_cast<double>(t->raw_ns[i]) / 1000.0);
      }
      // The bare supervisor: a child crashes, we see it on a pidfd and posix_spawn the floor
      // program at once. The least any supervisor can do; hrctl's own cost is the difference.
      // Twice: the child crashing at once (as before), and after `settle_us` (the machine idle
      // at the crash, as under hrctl): what waking an idle machine costs without hrctl.
      for (const bool idle : {false, true})
        for (std::uint32_t i = 1; i <= per_floor && 2 * per_floor + i < max_samples; ++i) {
          const std::uint32_t ci = idle ? per_floor + i : i, fi = per_floor + ci;
          std::vector<std::string> cargs = {self, "crasher", bank, std::to_string(ci),
                                            std::to_string(idle ? settle_us : 0)};
          std::vector<char*> cv = c_args(cargs);
          pid_t cpid = 0;
          if (::posix_spawn(&cpid, cv[0], nullptr, nullptr, cv.data(), environ) != 0) continue;
          const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, cpid, 0));
          pollfd pf{pfd, POLLIN, 0};
          while (::poll(&pf, 1, -1) < 0 && errno == EINTR) {
          }
          const std::uint64_t woke = now_ns();
          int st = 0;
          ::waitpid(cpid, &st, 0);
          ::close(pfd);
          if (spawn_wait({self, "floor", bank, std::to_string(fi)}) != 0) continue;
          (idle ? bare_idle : bare)
              .push_back(us_between(t->bare_crash_ns[ci], t->floor_found_ns[fi]));
          (idle ? bare_idle_wake : bare_wake).push_back(us_between(t->bare_crash_ns[ci], woke));
          ::usleep(2000);
        }
    }
    r.restart = summarize(plain.restart);
    r.restart_main = summarize(plain.start_found);
    r.restart_to_main = summarize(plain.to_start);
    r.plain = summarize(plain);
    r.standby = summarize(standby);
    r.bad_values += plain.bad + standby.bad;
    r.floor = summarize(fl);
    r.floor_main = summarize(flm);
    r.floor_to_main = summarize(flt);
    r.raw_main = summarize(raw);
    r.bare = summarize(bare);
    r.bare_wake = summarize(bare_wake);
    r.bare_idle = summarize(bare_idle);
    r.bare_idle_wake = summarize(bare_idle_wake);
    const std::uint32_t c = colds != 0                ? colds
                            : bytes >= (4ull << 30)   ? 3u
                            : bytes >= (512ull << 20) ? 5u
                                                      : 20u;
    std::fprintf(stderr, "[%s] cold rebuild: %u x read() and %u x touch every page...\n",
                 label.c_str(), c, c);
    std::vector<double> cr, ct;
    for (std::uint32_t i = 0; i < c; ++i) {
      cr.push_back(cold_read_us(bank, buf));
      ct.push_back(cold_touch_us(bank));
    }
    r.cold_read = summarize(cr);
    r.cold_touch = summarize(ct);
    b.reset();  // unmap before the file goes
    ::unlink(bank.c_str());
    results.push_back(r);
  }
  // The 64-member rows: one member crashing among `many`, with and without standbys, and the
  // same configuration with 1 member, in the same supervisor mode (hrctl serve).
  std::vector<many_result> manies;
  if (many != 0) {
    std::vector<std::pair<std::uint32_t, bool>> configs;
    for (bool sb : {true, false}) {
      if (sb && !standby_rows) continue;
      configs.emplace_back(1, sb);
      if (many > 1) configs.emplace_back(many, sb);
    }
    for (const auto& [n, sb] : configs)
      manies.push_back(many_run(n, sb, many_size, many_runs, sb ? standby_settle_us : settle_us,
                                cpu_check_ms, dir, hrctl, self, traced));
  }
  std::vector<double> mf;
  for (int i = 0; i < 50 && !exe.empty(); ++i) mf.push_back(memfd_copy_us(exe));
  const summary memfd = summarize(mf);

  std::printf(
      "\n| bank | measure | median | p10 – p90 | min | n |\n|---|---|---:|---:|---:|---:|\n");
  for (const auto& r : results) {
    std::printf("| %s | **restart**: crash → restarted instance has its state (hrctl run) | %s |\n",
                r.label.c_str(), row(r.restart).c_str());
    if (standby_rows) {
      std::printf(
          "| %s | **restart with a standby**: crash → promoted standby has its state (hrctl run "
          "--standby; promoted %u of %u restarts, %u in hrctl's trace) | %s |\n",
          r.label.c_str(), r.standby.promoted, r.standby.restarts, r.standby.promoted_marks,
          row(r.standby.restart).c_str());
    }
    std::printf("| %s | floor: posix_spawn → state found (no supervisor) | %s |\n", r.label.c_str(),
                row(r.floor).c_str());
    std::printf("| %s | restart / floor (medians; target ≤ 1.3×, stretch 1.1×) | %.2f× | | | |\n",
                r.label.c_str(), r.restart.median / r.floor.median);
    if (standby_rows)
      std::printf(
          "| %s | restart with a standby / floor (medians; target ≤ 0.3×, stretch ≤ 0.15× and ≤ "
          "250 µs) | %.2f× | | | |\n",
          r.label.c_str(), r.standby.restart.median / r.floor.median);
    std::printf(
        "| %s | reference: bare supervisor (pidfd wake + posix_spawn of the floor program) | %s "
        "|\n",
        r.label.c_str(), row(r.bare).c_str());
    const std::pair<const char*, const summary*> parts[] = {
        {"reference: bare supervisor, crash → pidfd wake", &r.bare_wake},
        {"reference: bare supervisor, child idle (--settle-us) before it crashes: crash → state "
         "found",
         &r.bare_idle},
        {"reference: bare supervisor, child idle before it crashes: crash → pidfd wake",
         &r.bare_idle_wake},
        {"restart, part 1: crash → new instance's main()", &r.restart_to_main},
        {"floor, part 1: posix_spawn → main()", &r.floor_to_main},
        {"restarted instance: main() → first block found", &r.restart_main},
        {"with a standby: crash → return from the standby point", &r.standby.to_start},
        {"with a standby: return from the standby point → first block found",
         &r.standby.start_found},
        {"with a standby: return from the standby point → attach() returned", &r.standby.attach},
        {"floor instance: main() → first block found", &r.floor_main},
        {"reference: main() → raw open + mmap + read one value (no bank)", &r.raw_main},
        {"cold rebuild: read() of the bank file", &r.cold_read},
        {"cold rebuild: fresh mapping, touch every page", &r.cold_touch}};
    for (const auto& [what, s] : parts)
      if (s->n != 0) std::printf("| %s | %s | %s |\n", r.label.c_str(), what, row(*s).c_str());
    std::printf("| %s | first restart (the dying run had written the whole state) | %s | | | 1 |\n",
                r.label.c_str(), fmt_us(r.first_restart_us).c_str());
  }
  std::printf(
      "| – | image → sealed memfd (%zu-byte executable; hrctl caches it per image) | %s |\n",
      exe.size(), row(memfd).c_str());

  // The path part by part (hrctl's trace): medians.
  std::printf(
      "\nPart by part (medians of each part; HRCTL_TRACE marks and the instance's own):\n\n"
      "| bank | hrctl | n traced |");
  for (const char* p : part_names) std::printf(" %s |", p);
  std::printf("\n|---|---|---:|");
  for (std::size_t p = 0; p < p_count; ++p) std::printf("---:|");
  std::printf("\n");
  auto parts_row = [](const std::string& bank, const char* mode, const rows_summary& s) {
    std::printf("| %s | %s | %u |", bank.c_str(), mode, s.traced);
    for (const summary& p : s.parts) std::printf(" %s |", fmt_us(p.median).c_str());
    std::printf("\n");
  };
  for (const auto& r : results) {
    parts_row(r.label, "run", r.plain);
    if (standby_rows) parts_row(r.label, "run --standby", r.standby);
  }
  for (const auto& m : manies) {
    const std::string mode = std::string("serve, ") + std::to_string(m.members) + " member" +
                             (m.members == 1 ? "" : "s") + (m.standby ? ", standbys" : "");
    parts_row(many_size, mode.c_str(), m.rows);
  }

  if (!manies.empty()) {
    std::printf(
        "\nMembers in one bank (%s) under hrctl serve, one member crashing (%u crashes), "
        "the others waiting:\n\n"
        "| members | standbys | crash → state found: median | p10 – p90 | min | n | vs 1 member "
        "| promoted / restarts | parked standbys: RSS, PSS (sum; per standby) | CPU while parked "
        "|\n|---:|---|---:|---:|---:|---:|---:|---:|---|---|\n",
        many_size.c_str(), many_runs - 1);
    for (const auto& m : manies) {
      double one = 0;
      for (const auto& o : manies)
        if (o.members == 1 && o.standby == m.standby) one = o.rows.restart.median;
      char mem[160] = "–", cpu[96] = "–";
      if (m.standby && m.parked != 0) {
        std::snprintf(mem, sizeof mem, "%" PRIu64 " kB, %" PRIu64 " kB (%.0f kB, %.0f kB)",
                      m.rss_kb, m.pss_kb, static_cast<double>(m.rss_kb) / m.parked,
                      static_cast<double>(m.pss_kb) / m.parked);
        std::snprintf(cpu, sizeof cpu, "%u of %u used CPU over %u ms", m.cpu_used, m.cpu_checked,
                      m.cpu_check_ms);
      }
      std::printf("| %u | %s | %s | %.2f× | %u / %u | %s | %s |%s\n", m.members,
                  m.standby ? "yes" : "no", row(m.rows.restart).c_str(),
                  one > 0 ? m.rows.restart.median / one : 0.0, m.rows.promoted, m.rows.restarts,
                  mem, cpu, m.ok ? "" : " (incomplete: see stderr)");
    }
  }
  if (!json.empty() && !write_json(json, results, manies, memfd, settle_us, standby_settle_us)) {
    std::fprintf(stderr, "cannot write %s\n", json.c_str());
    return 1;
  }
  std::uint32_t bad = 0;
  for (const auto& r : results) bad += r.bad_values;
  for (const auto& m : manies) bad += m.bad + (m.ok ? 0 : 1);
  if (bad != 0) {
    std::printf("\nERROR: %u runs did not find the state they expected (or a row failed)\n", bad);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t t_main = now_ns();
  if (argc >= 3 && std::strcmp(argv[1], "target") == 0)
    return target(t_main, static_cast<std::uint32_t>(std::atoi(argv[2])),
                  argc >= 4 ? static_cast<std::uint32_t>(std::atoi(argv[3])) : 20000u,
                  argc >= 5 && std::strcmp(argv[4], "go") == 0);
  if (argc == 2 && std::strcmp(argv[1], "idle") == 0) return idle();
  if (argc >= 4 && std::strcmp(argv[1], "floor") == 0)
    return floor_child(t_main, argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])));
  if (argc >= 4 && std::strcmp(argv[1], "crasher") == 0)
    return crasher(argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])),
                   argc >= 5 ? static_cast<std::uint32_t>(std::atoi(argv[4])) : 0u);
  if (argc >= 4 && std::strcmp(argv[1], "raw") == 0)
    return raw_child(t_main, argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])));
  return driver(argc, argv);
}
