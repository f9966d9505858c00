// SPDX-License-Identifier: MIT
// Many threads, one bank object: create, find, free, free_all and replace at once, with the
// lock-free find racing every kind of writer (the seqlock around the index probe). Built
// in every preset; under TSan these are the tests that make the suite's race claims real.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hotrestart/backends/mmap_file.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

constexpr int stable_blocks = 8;

std::string stable_name(int i) {
  return "stable" + std::to_string(i);
}

// Stable blocks are written before the threads start and never freed: readers may read them.
void make_stable(mmap_bank& b) {
  for (int i = 0; i < stable_blocks; ++i) {
    auto x = b.find_or_create(stable_name(i), 100 + 37u * static_cast<unsigned>(i));
    REQUIRE(x);
    std::memset(x->data, 0x40 + i, x->size);
  }
}

bool stable_intact(const block& x, int i) {
  if (x.size != 100 + 37u * static_cast<unsigned>(i)) return false;
  for (std::uint64_t k = 0; k < x.size; ++k)
    if (x.data[k] != static_cast<std::byte>(0x40 + i)) return false;
  return true;
}

}  // namespace

TEST_CASE("threads create, find, free, free_all and replace on one bank") {
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("threads.bank").c_str(),
                             {.bank_size = 128 * 4096, .max_blocks = 96});
  REQUIRE(b);
  make_stable(*b);
  constexpr int writers = 3, readers = 2;
  constexpr int iterations = 3000;
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::atomic<long> finds{0};
  // Writers start only once every reader has done a lookup: on a loaded 2-core machine the
  // readers could otherwise be scheduled after the writers finished and race nothing.
  std::atomic<int> readers_running{0};
  std::vector<std::thread> pool;
  for (int w = 0; w < writers; ++w) {
    pool.emplace_back([&, w] {
      while (readers_running.load() < readers) std::this_thread::yield();
      std::minstd_rand rng(static_cast<unsigned>(w) * 7919u + 1u);
      const std::string key = "key" + std::to_string(w);
      for (int it = 0; it < iterations; ++it) {
        const std::string name = "t" + std::to_string(w) + "." + std::to_string(rng() % 10);
        const auto op = static_cast<unsigned>(rng() % 100);
        if (op < 40) {
          auto x = b->find_or_create(name, 1 + rng() % 9000, key);
          if (!x && x.error().code != errc::bank_full && x.error().code != errc::block_table_full &&
              x.error().code != errc::size_exceeds_block)
            ++failures;
        } else if (op < 60) {
          auto r = b->free(name);
          if (!r && r.error().code != errc::not_found) ++failures;
        } else if (op < 65) {
          if (!b->free_all(key)) ++failures;
        } else if (op < 80) {
          const std::string other = "t" + std::to_string(w) + "." + std::to_string(rng() % 10);
          auto r = b->replace(name, other);
          if (!r && r.error().code != errc::not_found) ++failures;
        } else {
          const int s = static_cast<int>(rng() % stable_blocks);
          auto x = b->find(stable_name(s));
          if (!x || !stable_intact(*x, s)) ++failures;
        }
      }
    });
  }
  for (int r = 0; r < readers; ++r) {
    pool.emplace_back([&, r] {
      std::minstd_rand rng(static_cast<unsigned>(r) + 99u);
      long n = 0;
      do {
        const int s = static_cast<int>(rng() % stable_blocks);
        auto x = b->find(stable_name(s));
        if (!x || !stable_intact(*x, s)) ++failures;
        // Names that come and go: found or not found, never an error.
        auto y = b->find("t" + std::to_string(rng() % writers) + "." + std::to_string(rng() % 10));
        if (!y && y.error().code != errc::not_found) ++failures;
        if (n == 0) ++readers_running;
        n += 2;
      } while (!stop.load(std::memory_order_relaxed));
      finds += n;
    });
  }
  for (int w = 0; w < writers; ++w) pool[static_cast<std::size_t>(w)].join();
  stop = true;
  for (std::size_t i = writers; i < pool.size(); ++i) pool[i].join();
  CHECK(failures.load() == 0);
  MESSAGE("lookups raced against the writers: " << finds.load());
  hrtest::require_consistent(*b);
  for (int i = 0; i < stable_blocks; ++i) {
    auto x = b->find(stable_name(i));
    REQUIRE(x);
    CHECK(stable_intact(*x, i));
  }
}

TEST_CASE("a name being replaced over and over is always found (old block or new, never none)") {
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("replace.bank").c_str(),
                             {.bank_size = 64 * 4096, .max_blocks = 32});
  REQUIRE(b);
  REQUIRE(b->find_or_create("hot", 1000));
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0}, bad_sizes{0};
  std::thread writer([&] {
    for (int i = 0; i < 4000; ++i) {
      // Sizes alternate so that readers can tell versions apart without reading the bytes
      // (the old block's pages are reused at once: reading them would be a use after free).
      if (!b->find_or_create("hot.new", i % 2 == 0 ? 2000 : 1000)) ++misses;
      if (!b->replace("hot", "hot.new")) ++misses;
      // Churn on other names too: frees that unlink entries from shared chains.
      if (!b->find_or_create("churn" + std::to_string(i % 5), 100)) ++misses;
      if (!b->free("churn" + std::to_string((i + 2) % 5)) && i >= 3) ++misses;
    }
    stop = true;
  });
  auto reader = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      auto x = b->find("hot");
      if (!x)
        ++misses;
      else if (x->size != 1000 && x->size != 2000)
        ++bad_sizes;
    }
  };
  std::thread r1(reader), r2(reader);
  writer.join();
  r1.join();
  r2.join();
  CHECK(misses.load() == 0);
  CHECK(bad_sizes.load() == 0);
  hrtest::require_consistent(*b);
}

// Names whose hash falls in `group` of a bank of `max_blocks` blocks (the index's home group).
std::vector<std::string> names_in_group(std::uint32_t max_blocks, std::uint32_t group,
                                        const std::string& prefix, int count) {
  const std::uint32_t mask = hash_registry::group_count(max_blocks) - 1;
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < count; ++i) {
    std::string n = prefix + std::to_string(i);
    if ((hash_registry::hash(n) & mask) == group) out.push_back(n);
  }
  return out;
}

TEST_CASE("lock-free readers under a concurrent writer: finds never fail while groups overflow") {
  // 64 blocks: 8 groups of 15 slots. Ten stable names share group 2; a writer keeps creating
  // and freeing names of the same group (so that it fills, overflows into groups 3 and 4, and
  // drains, moving the overflow counts up and down) and replacing one of the stable names.
  constexpr std::uint32_t max_blocks = 64;
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("groups.bank").c_str(),
                             {.bank_size = 128 * 4096, .max_blocks = max_blocks});
  REQUIRE(b);
  const auto stable = names_in_group(max_blocks, 2, "s", 10);
  const auto churn = names_in_group(max_blocks, 2, "c", 24);
  for (const auto& n : stable) REQUIRE(b->find_or_create(n, 100));
  std::atomic<bool> stop{false};
  std::atomic<long> failed{0}, finds{0}, overflowed{0};
  std::atomic<int> readers_running{0};
  constexpr int readers = 2;
  std::thread writer([&] {
    while (readers_running.load() < readers) std::this_thread::yield();
    std::minstd_rand rng(5);
    for (int it = 0; it < 6000; ++it) {
      const auto& n = churn[rng() % churn.size()];
      if (rng() % 2 == 0) {
        if (!b->find_or_create(n, 64)) ++failed;
      } else if (auto r = b->free(n); !r && r.error().code != errc::not_found) {
        ++failed;
      }
      if (it % 7 == 0) {
        // The stable name "s0" moves to a fresh entry, atomically (old block or new).
        if (!b->find_or_create("s0.next", 100) || !b->replace(stable[0], "s0.next")) ++failed;
      }
      const std::uint64_t g2 = b->layout().registry_off + 64 + 64 * 2;
      if (detail::load32(b->backend().data(), g2) != 0) ++overflowed;
    }
    stop = true;
  });
  std::vector<std::thread> pool;
  for (int r = 0; r < readers; ++r) {
    pool.emplace_back([&, r] {
      std::minstd_rand rng(static_cast<unsigned>(r) + 11u);
      long n = 0;
      do {
        auto x = b->find(stable[rng() % stable.size()]);
        if (!x || x->size != 100) ++failed;
        auto y = b->find(churn[rng() % churn.size()]);
        if (!y && y.error().code != errc::not_found) ++failed;
        if (n == 0) ++readers_running;
        n += 2;
      } while (!stop.load(std::memory_order_relaxed));
      finds += n;
    });
  }
  writer.join();
  for (auto& t : pool) t.join();
  CHECK(failed.load() == 0);
  CHECK(overflowed.load() > 0);  // the group did overflow while the readers ran
  MESSAGE("finds: " << finds.load()
                    << ", writer steps with group 2 overflowed: " << overflowed.load());
  hrtest::require_consistent(*b);
  for (const auto& n : stable) CHECK(b->find(n));
}

TEST_CASE("threads racing to find-or-create the same names create each exactly once") {
  // The create path skips its second lookup when no create or free ran since its lock-free
  // find (bank.hpp): a race on the same name must still create it once and hand both callers
  // the same block.
  hrtest::scratch_dir dir;
  auto b = mmap_bank::create(dir.file("race.bank").c_str(),
                             {.bank_size = 10000 * 4096, .max_blocks = 9500});
  REQUIRE(b);
  constexpr int names = 9000, threads = 3;
  std::atomic<int> created{0}, failed{0};
  std::vector<std::vector<const std::byte*>> got(threads, std::vector<const std::byte*>(names));
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      for (int i = 0; i < names; ++i) {
        // Other frees and creates meanwhile, so that both the skip and the lookup run.
        if (i % 7 == t) {
          const std::string tmp = "tmp" + std::to_string(t);
          (void)b->find_or_create(tmp, 10);
          (void)b->free(tmp);
        }
        auto x = b->find_or_create("same" + std::to_string(i), 100);
        if (!x) {
          ++failed;
          continue;
        }
        if (x->created) ++created;
        got[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] = x->data;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failed.load() == 0);
  CHECK(created.load() == names);
  for (std::size_t i = 0; i < static_cast<std::size_t>(names); ++i)
    for (std::size_t t = 1; t < static_cast<std::size_t>(threads); ++t)
      CHECK(got[t][i] == got[0][i]);
  hrtest::require_consistent(*b);
}

TEST_CASE("threads that open the bank themselves (one mapping each) agree with each other") {
  hrtest::scratch_dir dir;
  const std::string path = dir.file("mappings.bank");
  REQUIRE(mmap_bank::create(path.c_str(), {.bank_size = 64 * 4096, .max_blocks = 64}));
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      auto b = mmap_bank::open(path.c_str());
      if (!b) {
        ++failures;
        return;
      }
      for (int i = 0; i < 500; ++i) {
        const std::string name = "m" + std::to_string(t) + "." + std::to_string(i % 7);
        auto x = b->find_or_create(name, 64);
        if (!x) {
          ++failures;
          continue;
        }
        if (!b->free(name)) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failures.load() == 0);
  auto b = mmap_bank::open(path.c_str());
  REQUIRE(b);
  hrtest::require_consistent(*b);
  auto st = b->stats();
  REQUIRE(st);
  CHECK(st->blocks == 0u);
}
