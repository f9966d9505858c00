// SPDX-License-Identifier: MIT
// What every benchmark of bench_alloc shares: the workload of shared/FACTS.md (12-character
// names, lookups in a shuffled order over all N names, one-page blocks, 16 deletion groups),
// the scratch places (files, shm objects) and their removal even when the run is interrupted,
// and the single slot that holds the one store being measured (stores are built one at a time:
// at N = 1,048,576 each holds 4 GiB).
#ifndef HOTRESTART_BENCH_COMMON_HPP
#define HOTRESTART_BENCH_COMMON_HPP

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <hotrestart/error.hpp>

#include "names.hpp"

namespace hrbench {

inline constexpr std::uint64_t page = 4096;
inline constexpr std::uint32_t fresh_names = 256;  // names cycled through by create + free
inline constexpr std::uint32_t groups = 16;        // deletion groups: N/16 blocks each

namespace detail {
inline pid_t owner = 0;  // the process that makes and removes the places (not forked helpers)
}

[[noreturn]] inline void die(const char* what, const char* why) {
  std::fprintf(stderr, "bench_alloc: %s: %s\n", what, why);
  if (::getpid() != detail::owner) ::_exit(1);  // a helper: no exit handlers, no destructors
  std::exit(1);
}
[[noreturn]] inline void die(const char* what, const hotrestart::error& e) {
  die(what, hotrestart::describe(e).text);
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Scratch places. Every file or shm object is registered here when made and unregistered when
// removed; SIGINT/SIGTERM/SIGHUP unlink whatever is left (unlink and rmdir are
// async-signal-safe) before the process dies. bench/run.sh also removes HR_BENCH_PREFIX* after
// the run, for a SIGKILL.

namespace detail {
inline constexpr int max_places = 64;
inline char places[max_places][256];
inline std::atomic<bool> used[max_places];
inline char scratch_dir[256];
inline char disk_scratch_dir[256];  // (kept as bytes: the exit handler must not need a string)

inline void remove_all_places() {
  if (::getpid() != owner) return;
  for (int i = 0; i < max_places; ++i)
    if (used[i].exchange(false)) ::unlink(places[i]);
  if (scratch_dir[0] != '\0') ::rmdir(scratch_dir);
  if (disk_scratch_dir[0] != '\0') ::rmdir(disk_scratch_dir);
}
inline void on_signal(int sig) {
  remove_all_places();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace detail

/// Registers a path to unlink at exit or on a signal; returns its slot.
inline int track(const std::string& path) {
  for (int i = 0; i < detail::max_places; ++i) {
    if (detail::used[i].load()) continue;
    std::snprintf(detail::places[i], sizeof detail::places[i], "%s", path.c_str());
    detail::used[i].store(true);  // after the path: a signal handler never sees half of it
    return i;
  }
  die("track", "too many scratch places at once");
}
/// Unlinks the path of slot `i` now.
inline void untrack_and_remove(int i) {
  if (::getpid() != detail::owner) return;
  if (i >= 0 && detail::used[i].exchange(false)) ::unlink(detail::places[i]);
}

/// HR_BENCH_PREFIX (default hr-bench-PID) names everything this run makes: the scratch folder
/// `$HR_BENCH_DIR/PREFIX.d` (default /dev/shm), shm objects `/PREFIX-...`, disk files in
/// `$HR_BENCH_DISK_DIR/PREFIX.d` (default /var/tmp).
inline const std::string& prefix() {
  static const std::string p = [] {
    const char* e = std::getenv("HR_BENCH_PREFIX");
    return e != nullptr && *e != '\0' ? std::string(e) : "hr-bench-" + std::to_string(::getpid());
  }();
  return p;
}

inline std::string make_dir(const char* env, const char* fallback) {
  const char* root = std::getenv(env);
  std::string d =
      std::string(root != nullptr && *root != '\0' ? root : fallback) + "/" + prefix() + ".d";
  if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) die("mkdir", std::strerror(errno));
  return d;
}

/// The tmpfs folder (made on first use, removed at exit).
inline const std::string& tmpfs_dir() {
  static const std::string d = [] {
    std::string s = make_dir("HR_BENCH_DIR", "/dev/shm");
    std::snprintf(detail::scratch_dir, sizeof detail::scratch_dir, "%s", s.c_str());
    return s;
  }();
  return d;
}
inline const std::string& disk_dir() {
  static const std::string d = [] {
    std::string s = make_dir("HR_BENCH_DISK_DIR", "/var/tmp");
    std::snprintf(detail::disk_scratch_dir, sizeof detail::disk_scratch_dir, "%s", s.c_str());
    return s;
  }();
  return d;
}

inline void install_cleanup() {
  detail::owner = ::getpid();
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, detail::on_signal);
  // (Not disk_dir() here: a function's static string may be destroyed before this runs.)
  std::atexit([] { detail::remove_all_places(); });
}

/// In a forked helper process: die with the parent (its files are the parent's to remove).
inline void become_helper() {
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, SIG_DFL);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/// Is there room for a store of `bytes` (in RAM, and in `dir` when it is given)? Keeps 2 GiB
/// of memory free for everything else on the machine.
inline bool room_for(std::uint64_t bytes, const std::string& dir = {}) {
  std::uint64_t avail_kib = 0;
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr)
      if (std::sscanf(line, "MemAvailable: %" SCNu64 " kB", &avail_kib) == 1) break;
    std::fclose(f);
  }
  const std::uint64_t margin = 2ull << 30;
  if (avail_kib * 1024 < bytes + margin) return false;
  if (!dir.empty()) {
    struct statvfs v {};
    if (::statvfs(dir.c_str(), &v) == 0 &&
        static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize < bytes + (256ull << 20))
      return false;
  }
  return true;
}

/// Bytes a file occupies (tmpfs: the pages it holds).
inline std::uint64_t allocated_bytes(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return 0;
  return static_cast<std::uint64_t>(sb.st_blocks) * 512u;
}

// ---------------------------------------------------------------------------------------------
// The workload

/// The workload's names (names.hpp), checked: i < 2^26.
inline std::string name_of(std::uint64_t i, char lead) {
  if (i >= (1ull << 26)) die("name_of", "index too large");
  return bench_name(i, lead);
}

struct workload {
  std::uint32_t n;
  std::vector<std::string> names;    // the N existing blocks; block i is in group i % 16
  std::vector<std::string> missing;  // N names that never exist
  std::vector<std::uint32_t> order;  // a shuffled permutation of 0..N-1
  std::vector<std::string> fresh;    // created and freed by create + free
  std::vector<std::string> writer;   // created and freed by the writer process

  explicit workload(std::uint32_t count) : n(count) {
    names.reserve(n);
    missing.reserve(n);
    order.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      names.push_back(name_of(i, 'n'));
      missing.push_back(name_of(i, 'm'));
      order.push_back(i);
    }
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::uint32_t i = 0; i < fresh_names; ++i) {
      fresh.push_back(name_of(i, 'f'));
      writer.push_back(name_of(i, 'w'));
    }
  }
  /// The i-th lookup: shuffled order over all N names (N is a power of two).
  const std::string& next(std::uint64_t& i) const { return names[order[i++ & (n - 1)]]; }
  const std::string& next_missing(std::uint64_t& i) const { return missing[order[i++ & (n - 1)]]; }
  static std::string key(std::uint32_t g) { return "group" + std::to_string(g); }
  std::uint32_t group_size() const { return n / groups > 0 ? n / groups : 1; }
};

/// The workload for N: one at a time (stores keep theirs alive while they need it).
inline std::shared_ptr<const workload> workload_for(std::uint32_t n) {
  static std::shared_ptr<const workload> w;
  if (!w || w->n != n) {
    w.reset();
    w = std::make_shared<const workload>(n);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// The slot: the one store alive. Asking for another store (or another N) destroys the current
// one first, so the peak is one store. Benchmarks are registered grouped by store.

struct store_base {
  virtual ~store_base() = default;
};

namespace detail {
inline std::unique_ptr<store_base> slot;
inline const void* slot_tag = nullptr;
inline std::uint32_t slot_n = 0;
}  // namespace detail

/// Called before the store in the slot is destroyed (ends processes that share it).
inline void (*before_release_slot)() = nullptr;

inline void release_slot() {
  if (before_release_slot != nullptr) before_release_slot();
  detail::slot.reset();
  detail::slot_tag = nullptr;
}

/// The store S holding N blocks, built on first use; nullptr (and the benchmark skipped) when
/// the machine has no room for it now.
template <class S>
S* store_for(benchmark::State& st) {
  static const char tag = 0;
  const auto n = static_cast<std::uint32_t>(st.range(0));
  if (detail::slot_tag != &tag || detail::slot_n != n) {
    release_slot();
    if (!room_for(S::footprint(n), S::dir())) {
      st.SkipWithError("not enough free memory or tmpfs space for this store now");
      return nullptr;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto w = workload_for(n);
    detail::slot = std::make_unique<S>(std::move(w));
    detail::slot_tag = &tag;
    detail::slot_n = n;
    std::fprintf(stderr, "  [built %s, N = %u, in %.1f s]\n", S::label, n, seconds_since(t0));
  }
  return static_cast<S*>(detail::slot.get());
}

}  // namespace hrbench

#endif  // HOTRESTART_BENCH_COMMON_HPP
