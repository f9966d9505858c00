// SPDX-License-Identifier: MIT
// How many cache lines of the index does a find read? These guests have no hardware counters
// (`perf stat` says <not supported>), so the library is built here with HOTRESTART_LOAD_HOOK:
// every metadata load it makes passes its address to count_line() below, which records the
// distinct 64-byte lines one find touches. A find's lines inside the registry's region are its
// index lines; the header line every find reads (the sequence word, the sweep hint) is counted
// apart. Block data is never read by a find.
//
//   hr_find_lines [N...]      (default 16 1024 65536 1048576)
//
// For each N: a bank on /dev/shm with N blocks named as bench_alloc names them (64-byte pages,
// so that N = 1,048,576 takes 64 MiB), then every name found once in a shuffled order (at most
// 65,536 of them) and as many names that do not exist. Prints a Markdown table: index lines
// per hit and per miss (mean, the largest, the share above the 2 / 1), header lines.
// The exit status is 1 if a find answered wrongly, or if a hit counted fewer than two index
// lines or a miss none (a find reads at least its bucket and, on a hit, its entry: fewer means
// the instrument is not counting; the build without the hook is the negative control).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {
// The lines of the find being counted (a find reads a handful; more are kept as "many").
constexpr int max_lines = 64;
std::uintptr_t g_lines[max_lines];
int g_count = 0;
bool g_on = false;
}  // namespace

void count_line(const std::uint32_t* word) {
  if (!g_on) return;
  const std::uintptr_t line = reinterpret_cast<std::uintptr_t>(word) >> 6;
  for (int i = 0; i < g_count; ++i)
    if (g_lines[i] == line) return;
  if (g_count < max_lines) g_lines[g_count++] = line;
}

#include <hotrestart/backends/mmap_file.hpp>
#include <hotrestart/policies/hash_registry.hpp>

#include "names.hpp"

using namespace hotrestart;

namespace {

struct tally {
  std::uint64_t finds = 0, index_lines = 0, header_lines = 0, above = 0;
  int most = 0, least = max_lines;
  void add(int index, int header, int limit) {
    ++finds;
    index_lines += static_cast<std::uint64_t>(index);
    header_lines += static_cast<std::uint64_t>(header);
    if (index > limit) ++above;
    most = std::max(most, index);
    least = std::min(least, index);
  }
  double mean() const {
    return finds ? static_cast<double>(index_lines) / static_cast<double>(finds) : 0;
  }
  double header_mean() const {
    return finds ? static_cast<double>(header_lines) / static_cast<double>(finds) : 0;
  }
  double share_above() const {
    return finds ? 100.0 * static_cast<double>(above) / static_cast<double>(finds) : 0;
  }
};

int measure(const std::string& path, std::uint32_t n, bool& ok) {
  auto b = mmap_bank::create(
      path.c_str(),
      {.bank_size = std::uint64_t{n} * 64 + 64 * 64, .max_blocks = n, .page_size = 64});
  if (!b) {
    std::fprintf(stderr, "hr_find_lines: create a bank of %u blocks: %s\n", n,
                 describe(b.error()).text);
    return 2;
  }
  std::vector<std::string> names, missing;
  for (std::uint32_t i = 0; i < n; ++i) {
    names.push_back(hrbench::bench_name(i, 'n'));
    missing.push_back(hrbench::bench_name(i, 'm'));
    auto c = b->find_or_create(names.back(), 1, "group" + std::to_string(i % 16));
    if (!c) {
      std::fprintf(stderr, "hr_find_lines: create %s: %s\n", names.back().c_str(),
                   describe(c.error()).text);
      ::unlink(path.c_str());
      return 2;
    }
  }
  const bank_layout& l = b->layout();
  const std::byte* base = b->backend().data();
  const std::uintptr_t reg_lo = reinterpret_cast<std::uintptr_t>(base + l.registry_off) >> 6;
  const std::uintptr_t reg_hi =
      (reinterpret_cast<std::uintptr_t>(base + l.registry_off + hash_registry::region_bytes(n)) +
       63) >>
      6;
  const std::uintptr_t head_hi = reinterpret_cast<std::uintptr_t>(base + l.registry_off) >> 6;
  std::vector<std::uint32_t> order(n);
  for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937 rng(42);
  std::shuffle(order.begin(), order.end(), rng);
  const std::uint32_t finds = std::min<std::uint32_t>(n, 65536);
  tally hit, miss;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t k = 0; k < finds; ++k) {
      const std::string& name = pass == 0 ? names[order[k]] : missing[order[k]];
      g_count = 0;
      g_on = true;
      auto r = b->find(name);
      g_on = false;
      int index = 0, header = 0;
      for (int i = 0; i < g_count; ++i) {
        if (g_lines[i] >= reg_lo && g_lines[i] < reg_hi)
          ++index;
        else if (g_lines[i] < head_hi)
          ++header;
      }
      if (pass == 0) {
        if (!r || r->data == nullptr) {
          std::fprintf(stderr, "hr_find_lines: %s not found\n", name.c_str());
          ok = false;
        }
        hit.add(index, header, 2);
      } else {
        if (r || r.error().code != errc::not_found) {
          std::fprintf(stderr, "hr_find_lines: %s found, or another error\n", name.c_str());
          ok = false;
        }
        miss.add(index, header, 1);
      }
    }
  }
  if (hit.least < 2 || miss.least < 1) ok = false;
  std::printf("| %u | %.1f MiB | %.2f | %d | %.1f%% | %.2f | %d | %.1f%% | %.2f |\n", n,
              static_cast<double>(hash_registry::region_bytes(n)) / 1048576.0, hit.mean(), hit.most,
              hit.share_above(), miss.mean(), miss.most, miss.share_above(), hit.header_mean());
  return 0;
}

int run(std::uint32_t n, bool& ok) {
  const std::string path = "/dev/shm/hr-find-lines-" + std::to_string(::getpid()) + ".bank";
  ::unlink(path.c_str());
  const int rc = measure(path, n, ok);  // (the bank is unmapped when it returns)
  ::unlink(path.c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::uint32_t> ns;
  for (int i = 1; i < argc; ++i)
    ns.push_back(static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  if (ns.empty()) ns = {16, 1024, 65536, 1048576};
  std::printf(
      "| N | index (registry region) | hit: index lines, mean | most | > 2 | miss: mean | most | > "
      "1 | "
      "header lines per find |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  bool ok = true;
  for (std::uint32_t n : ns) {
    if (n == 0 || n > max_blocks_limit) {
      std::fprintf(stderr, "hr_find_lines: N must be 1..%u\n", max_blocks_limit);
      return 2;
    }
    if (const int rc = run(n, ok); rc != 0) return rc;
  }
  if (!ok) {
    std::printf("FAILED: a find answered wrongly, or the instrument counted no line\n");
    return 1;
  }
  return 0;
}
