// SPDX-License-Identifier: MIT
// Restart latency under `hrctl run`, against the floor (a fresh posix_spawn of this
// same program that maps the existing bank and reads one value, no supervisor) and against
// rebuilding the state by reading it back. See bench_restart/README.md.
//
// One binary, three roles:
//   hr_restart_bench [--sizes 1M,1G,8G] [--runs N] [--floor N] [--cold N] [--dir D] [--hrctl P]
//       the driver: for each size, a bank on D, `hrctl run` of the target, the floor, the cold
//       read, a table; every bank file is removed at the end.
//   hr_restart_bench target RUNS        run by hrctl: run 1 fills the state, runs 1..RUNS-1
//       record their crash time and die of SIGSEGV, run RUNS exits cleanly.
//   hr_restart_bench floor BANK INDEX   spawned by the driver: open, find, read one value.
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
  std::uint32_t runs;
};

constexpr const char* state_name = "bench-state";
constexpr const char* times_name = "bench-times";

[[noreturn]] void die(const char* what, const error& e) {
  std::fprintf(stderr, "hr_restart_bench: %s: %s\n", what, describe(e).text);
  std::exit(90);
}

// ---- the target, run by hrctl -------------------------------------------------------------

int target(std::uint64_t t_main, std::uint32_t runs, std::uint32_t settle_us) {
  auto self = posix::process::attach();
  if (!self) die("attach", self.error());
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
      st = self->bank().find_or_create(state_name, s->largest_free);
      if (!st) die("state block", st.error());
      auto* words = reinterpret_cast<std::uint64_t*>(st->data);
      const std::uint64_t n = st->size / 8;
      for (std::uint64_t i = 0; i < n; i += 512) words[i] = i;
      words[n - 1] = state_magic;
    }
    t->runs = 0;
  }
  const std::uint32_t run = ++t->runs;
  if (run < max_samples) {
    t->main_ns[run] = t_main;
    t->found_ns[run] = t_found;
    t->value_seen[run] = value;
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
int crasher(const char* path, std::uint32_t index) {
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

int spawn_wait(const std::vector<std::string>& args, bool quiet_out) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet_out) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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

struct size_result {
  std::string label;
  std::uint64_t bytes = 0;
  summary bare, raw_main, restart, restart_main, restart_to_main, floor, floor_main, floor_to_main,
      cold_read, cold_touch;
  double first_restart_us = 0;  // after the run that filled (and so had mapped) the whole state
  std::uint32_t bad_values = 0;
};

// The results as JSON (microseconds): what bench/report.py plots against the bank size.
bool write_json(const std::string& path, const std::vector<size_result>& results,
                const summary& memfd, std::uint32_t settle_us) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  auto put = [&](const char* name, const summary& s, bool comma) {
    std::fprintf(f,
                 "\"%s\": {\"n\": %zu, \"min\": %.3f, \"p10\": %.3f, \"median\": %.3f, \"p90\": "
                 "%.3f, \"max\": %.3f}%s",
                 name, s.n, s.min, s.p10, s.median, s.p90, s.max, comma ? ", " : "");
  };
  std::fprintf(f, "{\"unit\": \"us\", \"settle_us\": %u, \"sizes\": [\n", settle_us);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const size_result& r = results[i];
    std::fprintf(f,
                 "  {\"label\": \"%s\", \"bytes\": %" PRIu64
                 ", \"first_restart\": %.3f, \"bad_values\": %u, ",
                 r.label.c_str(), r.bytes, r.first_restart_us, r.bad_values);
    put("restart", r.restart, true);
    put("floor", r.floor, true);
    put("bare", r.bare, true);
    put("restart_to_main", r.restart_to_main, true);
    put("floor_to_main", r.floor_to_main, true);
    put("restart_main", r.restart_main, true);
    put("floor_main", r.floor_main, true);
    put("raw_main", r.raw_main, true);
    put("cold_read", r.cold_read, true);
    put("cold_touch", r.cold_touch, false);
    std::fprintf(f, "}%s\n", i + 1 < results.size() ? "," : "");
  }
  std::fprintf(f, "], ");
  put("memfd", memfd, false);
  std::fprintf(f, "}\n");
  return std::fclose(f) == 0;
}

int driver(int argc, char** argv) {
  std::vector<std::string> sizes = {"1M", "1G", "8G"};
  std::uint32_t runs = 400, floors = 400, colds = 0, settle_us = 20000, rounds = 8;
  std::string dir = "/dev/shm", hrctl = HR_BENCH_HRCTL, json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--sizes") {
      sizes.clear();
      std::string v = next();
      for (std::size_t p = 0; p != std::string::npos;) {
        const std::size_t c = v.find(',', p);
        sizes.push_back(v.substr(p, c == std::string::npos ? c : c - p));
        p = c == std::string::npos ? c : c + 1;
      }
    } else if (a == "--runs")
      runs = static_cast<std::uint32_t>(std::atoi(next().c_str()));
    else if (a == "--floor")
      floors = static_cast<std::uint32_t>(std::atoi(next().c_str()));
    else if (a == "--rounds")
      rounds = static_cast<std::uint32_t>(std::max(1, std::atoi(next().c_str())));
    else if (a == "--cold")
      colds = static_cast<std::uint32_t>(std::atoi(next().c_str()));
    else if (a == "--dir")
      dir = next();
    else if (a == "--settle-us")
      settle_us = static_cast<std::uint32_t>(std::atoi(next().c_str()));
    else if (a == "--hrctl")
      hrctl = next();
    else if (a == "--json")
      json = next();
    else {
      std::printf(
          "usage: hr_restart_bench [--sizes 1M,1G,8G] [--runs N (400)] [--floor N (400)] [--rounds "
          "N (8)]\n"
          "                        [--cold N (default: 20 / 5 / 3 by size)] [--dir /dev/shm]\n"
          "                        [--settle-us US (20000: each run waits before it crashes)]\n"
          "                        [--hrctl PATH] [--json FILE (the results, for "
          "bench/report.py)]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  runs = std::clamp<std::uint32_t>(runs, 3, max_samples - 1);
  floors = std::clamp<std::uint32_t>(floors, 1, max_samples - 1);
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
    ::unlink(bank.c_str());
    // Rounds: each round is one `hrctl run` (its runs crash one after the other), then the
    // floor, the raw reference and the bare supervisor, so that all of them see the same
    // machine load (the cores are shared and the load changes by the minute).
    const std::uint32_t per_run = std::max<std::uint32_t>(3, (runs + rounds - 1) / rounds + 1);
    const std::uint32_t per_floor = std::max<std::uint32_t>(1, (floors + rounds - 1) / rounds);
    size_result r;
    r.label = label;
    r.bytes = bytes;
    std::vector<double> restart, restart_main, to_main, fl, flm, flt, raw, bare;
    std::optional<mmap_bank> b;
    times_block* t = nullptr;
    for (std::uint32_t round = 0; round < rounds; ++round) {
      std::fprintf(stderr, "[%s] round %u/%u: hrctl run (%u crashes), %u floor, raw, bare...\n",
                   label.c_str(), round + 1, rounds, per_run - 1, per_floor);
      // --interval 1: hrctl's anti-tight-loop backoff (restarts of a group less than an
      // interval apart wait 10 ms * 2^k) is not what is measured; --max-badness 0: never
      // escalate. The state block outlives each round's group (it has no group key).
      const int rc = spawn_wait({hrctl, "run", "--bank", bank, "--bank-size", label, "--interval",
                                 "1", "--max-badness", "0", "--quiet", "--", self, "target",
                                 std::to_string(per_run), std::to_string(settle_us)},
                                false);
      if (rc != 0) {
        std::fprintf(stderr, "hrctl run failed (status %d)\n", rc);
        ::unlink(bank.c_str());
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
      for (std::uint32_t k = 2; k <= per_run && k < max_samples; ++k) {
        if (t->value_seen[k] != state_magic) ++r.bad_values;
        const double us = static_cast<double>(t->found_ns[k] - t->crash_ns[k - 1]) / 1000.0;
        if (k == 2 && round == 0) {
          r.first_restart_us = us;  // after the run that filled the state
        } else {
          restart.push_back(us);
          to_main.push_back(static_cast<double>(t->main_ns[k] - t->crash_ns[k - 1]) / 1000.0);
        }
        restart_main.push_back(static_cast<double>(t->found_ns[k] - t->main_ns[k]) / 1000.0);
      }
      for (std::uint32_t i = 1; i <= per_floor && i < max_samples; ++i) {
        const std::uint64_t t0 = now_ns();
        if (spawn_wait({self, "floor", bank, std::to_string(i)}, false) != 0) {
          ++r.bad_values;
          continue;
        }
        fl.push_back(static_cast<double>(t->floor_found_ns[i] - t0) / 1000.0);
        flm.push_back(static_cast<double>(t->floor_found_ns[i] - t->floor_main_ns[i]) / 1000.0);
        flt.push_back(static_cast<double>(t->floor_main_ns[i] - t0) / 1000.0);
        ::usleep(2000);
      }
      for (std::uint32_t i = 1; i <= per_floor && i < max_samples; ++i) {
        if (spawn_wait({self, "raw", bank, std::to_string(i)}, false) != 0) continue;
        raw.push_back(static_cast<double>(t->raw_ns[i]) / 1000.0);
      }
      // The bare supervisor: a child crashes, we see it on a pidfd and posix_spawn the floor
      // program at once. The least any supervisor can do; hrctl's own cost is the difference.
      for (std::uint32_t i = 1; i <= per_floor && per_floor + i < max_samples; ++i) {
        std::vector<std::string> cargs = {self, "crasher", bank, std::to_string(i)};
        std::vector<char*> cv;
        for (auto& a : cargs) cv.push_back(a.data());
        cv.push_back(nullptr);
        pid_t cpid = 0;
        if (::posix_spawn(&cpid, cv[0], nullptr, nullptr, cv.data(), environ) != 0) continue;
        const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, cpid, 0));
        pollfd pf{pfd, POLLIN, 0};
        while (::poll(&pf, 1, -1) < 0 && errno == EINTR) {
        }
        int st = 0;
        ::waitpid(cpid, &st, 0);
        ::close(pfd);
        if (spawn_wait({self, "floor", bank, std::to_string(per_floor + i)}, false) != 0) continue;
        bare.push_back(static_cast<double>(t->floor_found_ns[per_floor + i] - t->bare_crash_ns[i]) /
                       1000.0);
        ::usleep(2000);
      }
    }
    r.restart = summarize(restart);
    r.restart_main = summarize(restart_main);
    r.restart_to_main = summarize(to_main);
    r.floor = summarize(fl);
    r.floor_main = summarize(flm);
    r.floor_to_main = summarize(flt);
    r.raw_main = summarize(raw);
    r.bare = summarize(bare);
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
  std::vector<double> mf;
  for (int i = 0; i < 50 && !exe.empty(); ++i) mf.push_back(memfd_copy_us(exe));
  const summary memfd = summarize(mf);

  std::printf(
      "\n| bank | measure | median | p10 – p90 | min | n |\n|---|---|---:|---:|---:|---:|\n");
  for (const auto& r : results) {
    std::printf("| %s | **restart**: crash → restarted instance has its state (hrctl run) | %s |\n",
                r.label.c_str(), row(r.restart).c_str());
    std::printf("| %s | floor: posix_spawn → state found (no supervisor) | %s |\n", r.label.c_str(),
                row(r.floor).c_str());
    std::printf("| %s | restart / floor (medians) | %.2f× | | | |\n", r.label.c_str(),
                r.restart.median / r.floor.median);
    std::printf(
        "| %s | reference: bare supervisor (pidfd wake + posix_spawn of the floor program) | %s "
        "|\n",
        r.label.c_str(), row(r.bare).c_str());
    const std::pair<const char*, const summary*> parts[] = {
        {"restart, part 1: crash → new instance's main()", &r.restart_to_main},
        {"floor, part 1: posix_spawn → main()", &r.floor_to_main},
        {"restarted instance: main() → first block found", &r.restart_main},
        {"floor instance: main() → first block found", &r.floor_main},
        {"reference: main() → raw open + mmap + read one value (no bank)", &r.raw_main},
        {"cold rebuild: read() of the bank file", &r.cold_read},
        {"cold rebuild: fresh mapping, touch every page", &r.cold_touch}};
    for (const auto& [what, s] : parts)
      std::printf("| %s | %s | %s |\n", r.label.c_str(), what, row(*s).c_str());
    std::printf("| %s | first restart (the dying run had written the whole state) | %s | | | 1 |\n",
                r.label.c_str(), fmt_us(r.first_restart_us).c_str());
  }
  std::printf(
      "| – | image → sealed memfd (%zu-byte executable; hrctl caches it per image) | %s |\n",
      exe.size(), row(memfd).c_str());
  if (!json.empty() && !write_json(json, results, memfd, settle_us)) {
    std::fprintf(stderr, "cannot write %s\n", json.c_str());
    return 1;
  }
  std::uint32_t bad = 0;
  for (const auto& r : results) bad += r.bad_values;
  if (bad != 0) {
    std::printf("\nERROR: %u runs did not find the state they expected\n", bad);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t t_main = now_ns();
  if (argc >= 3 && std::strcmp(argv[1], "target") == 0)
    return target(t_main, static_cast<std::uint32_t>(std::atoi(argv[2])),
                  argc >= 4 ? static_cast<std::uint32_t>(std::atoi(argv[3])) : 20000u);
  if (argc >= 4 && std::strcmp(argv[1], "floor") == 0)
    return floor_child(t_main, argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])));
  if (argc >= 4 && std::strcmp(argv[1], "crasher") == 0)
    return crasher(argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])));
  if (argc >= 4 && std::strcmp(argv[1], "raw") == 0)
    return raw_child(t_main, argv[2], static_cast<std::uint32_t>(std::atoi(argv[3])));
  return driver(argc, argv);
}
