// SPDX-License-Identifier: MIT
// How fast is the lock-free find while writers work on the same bank? A reader thread finds
// random names among 1,024 blocks for a fixed time, alone and next to a writer thread that
// creates and frees (unlinks from shared chains, odd sequence windows) or replaces (the whole
// switch under an odd sequence). Prints ns per find (median of runs) and writer ops per second.
// No thresholds on the figures; but every find must hit (all names exist and no writer
// touches them), and a miss makes the exit status 1. `hr_lookup_bench [seconds-per-run]
// [runs] [plant-miss]`: with plant-miss the readers also look up a name that was never
// created (the smoke test's negative control: it must fail).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>

using namespace hotrestart;
using clock_type = std::chrono::steady_clock;

namespace {

enum class writer_kind { none, create_free, replace, find_or_create_hit };

const char* label(writer_kind k) {
  switch (k) {
    case writer_kind::none: return "alone";
    case writer_kind::create_free: return "+1 writer: create+free";
    case writer_kind::replace: return "+1 writer: replace";
    case writer_kind::find_or_create_hit: return "+1 thread: find_or_create hits";
  }
  return "";
}

struct figures {
  double ns_per_find;
  double writer_ops_per_s;
};

long g_misses = 0;

figures run_once(mmap_bank& b, const std::vector<std::string>& names, writer_kind k, double seconds,
                 int readers) {
  std::atomic<bool> stop{false};
  std::atomic<long> writer_ops{0};
  std::thread writer;
  if (k != writer_kind::none) {
    writer = std::thread([&] {
      long n = 0;
      std::mt19937 rng(5);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string w = "writer" + std::to_string(n % 16);
        if (k == writer_kind::create_free) {
          (void)b.find_or_create(w, 4096);
          (void)b.free("writer" + std::to_string((n + 8) % 16));
        } else if (k == writer_kind::replace) {
          (void)b.find_or_create("shadow", 4096);
          (void)b.replace(w, "shadow");
        } else {
          (void)b.find_or_create(names[rng() % names.size()], 100);
        }
        ++n;
      }
      writer_ops = n;
    });
  }
  std::atomic<long> total{0};
  std::atomic<long> found{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> rs;
  for (int r = 0; r < readers; ++r) {
    rs.emplace_back([&, r] {
      std::mt19937 rng(static_cast<unsigned>(r) + 1u);
      long n = 0, hits = 0;
      const auto end = t0 + std::chrono::duration<double>(seconds);
      while (clock_type::now() < end) {
        for (int i = 0; i < 256; ++i) hits += b.find(names[rng() % names.size()]).has_value();
        n += 256;
      }
      total += n;
      found += hits;
    });
  }
  for (auto& t : rs) t.join();
  const double el = std::chrono::duration<double>(clock_type::now() - t0).count();
  stop = true;
  if (writer.joinable()) writer.join();
  if (found.load() != total.load()) {
    std::fprintf(stderr, "lookup bench: a find missed! (%ld of %ld, %s)\n",
                 total.load() - found.load(), total.load(), label(k));
    g_misses += total.load() - found.load();
  }
  return {el * 1e9 * readers / static_cast<double>(total.load()),
          static_cast<double>(writer_ops.load()) / el};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool plant_miss = argc > 3 && std::string(argv[3]) == "plant-miss";
  char path[] = "/dev/shm/hr-lookup-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return 2;
  ::close(fd);
  ::unlink(path);
  auto b = mmap_bank::create(path, {.bank_size = 1200 * 4096, .max_blocks = 2048});
  if (!b) return 2;
  std::vector<std::string> names;
  for (int i = 0; i < 1024; ++i) {
    names.push_back("block-" + std::to_string(i * 7919 % 100003));
    if (!b->find_or_create(names.back(), 100)) return 2;
  }
  if (plant_miss) names.push_back("never-created");
  std::printf("lock-free find, 1,024 blocks, %d runs of %.2f s (median)\n", runs, seconds);
  std::printf("%-34s %8s %14s\n", "scenario", "ns/find", "writer ops/s");
  for (int readers : {1, 2}) {
    for (writer_kind k : {writer_kind::none, writer_kind::create_free, writer_kind::replace,
                          writer_kind::find_or_create_hit}) {
      if (readers == 2 && k != writer_kind::none) continue;  // two cores: keep one per thread
      std::vector<figures> f;
      for (int r = 0; r < runs; ++r) f.push_back(run_once(*b, names, k, seconds, readers));
      std::sort(f.begin(), f.end(),
                [](const figures& x, const figures& y) { return x.ns_per_find < y.ns_per_find; });
      const figures& m = f[f.size() / 2];
      std::printf("%d reader(s) %-23s %8.1f %14.0f\n", readers, label(k), m.ns_per_find,
                  m.writer_ops_per_s);
    }
  }
  ::unlink(path);
  if (g_misses != 0) {
    std::fprintf(stderr, "lookup bench: FAILED: %ld finds missed a block that exists\n", g_misses);
    return 1;
  }
  return 0;
}
