// SPDX-License-Identifier: MIT
// The extent allocator on its own: allocation, coalescing, exhaustion, a random model check,
// and undo of its stores through the intent record.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include <hotrestart/detail/journal.hpp>
#include <hotrestart/policies/extent_allocator.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

struct arena {
  std::uint32_t pages;
  std::vector<std::uint64_t> storage;  // 8-byte aligned words
  std::byte* base;
  extent_allocator alloc;
  detail::journal_bounds bounds;

  explicit arena(std::uint32_t n)
      : pages(n),
        storage((bank_format::header_size + extent_allocator::region_bytes(n)) / 8 + 1, 0),
        base(reinterpret_cast<std::byte*>(storage.data())),
        alloc(base, bank_format::header_size, n),
        bounds{bank_format::header_size,
               bank_format::header_size + extent_allocator::region_bytes(n)} {
    alloc.format();
  }
  result<std::uint32_t> allocate(std::uint32_t n, std::uint32_t owner = 0) {
    bank_txn t(base, bounds, 1);
    auto r = alloc.allocate(t, n, owner);
    if (r) REQUIRE(detail::journal::commit(t));
    return r;
  }
  result<void> deallocate(std::uint32_t first, std::uint32_t n) {
    bank_txn t(base, bounds, 2);
    auto r = alloc.deallocate(t, first, n);
    if (r) REQUIRE(detail::journal::commit(t));
    return r;
  }
  allocator_census census() {
    std::string problems;
    auto c = alloc.check([&](const error& e) { problems += hrtest::text(e) + "\n"; });
    CHECK_MESSAGE(c.problems == 0, problems);
    return c;
  }
};

}  // namespace

TEST_CASE("a fresh region is one free extent") {
  arena a(100);
  auto c = a.census();
  CHECK(c.free_pages == 100);
  CHECK(c.free_extents == 1);
  CHECK(a.alloc.largest_free() == 100);
}

TEST_CASE("allocation splits, free coalesces on both sides") {
  arena a(10);
  auto x = a.allocate(3, 7);
  auto y = a.allocate(2, 8);
  auto z = a.allocate(4, 9);
  REQUIRE(x);
  REQUIRE(y);
  REQUIRE(z);
  CHECK(a.alloc.owner_of(*x, 3) == 7);
  CHECK(a.alloc.owner_of(*y, 2) == 8);
  CHECK(a.alloc.owner_of(*x, 2) == detail::nil);  // wrong length is not that extent
  auto c = a.census();
  CHECK(c.used_pages == 9);
  CHECK(c.free_pages == 1);
  // The extents by address (an allocation may take a free extent's first or last pages).
  struct ext {
    std::uint32_t first, pages;
  } by_addr[3] = {{*x, 3}, {*y, 2}, {*z, 4}};
  std::sort(std::begin(by_addr), std::end(by_addr),
            [](const ext& l, const ext& r) { return l.first < r.first; });
  HR_REQUIRE_OK(a.deallocate(by_addr[0].first, by_addr[0].pages));
  HR_REQUIRE_OK(a.deallocate(by_addr[2].first, by_addr[2].pages));
  CHECK(a.census().free_extents == 2);
  // The middle one merges left and right into one extent.
  HR_REQUIRE_OK(a.deallocate(by_addr[1].first, by_addr[1].pages));
  c = a.census();
  CHECK(c.free_extents == 1);
  CHECK(c.free_pages == 10);
  CHECK(a.alloc.largest_free() == 10);
}

TEST_CASE("a free that grows its right neighbour moves that extent's list node in place") {
  arena a(40);
  for (std::uint32_t i = 0; i < 40; ++i) REQUIRE(a.allocate(1, i));
  CHECK(a.census().free_pages == 0);
  // Three free extents of 4 pages (class 2), listed [10,14) -> [20,24) -> [30,34): each push
  // goes to the head.
  for (std::uint32_t first : {30u, 20u, 10u})
    for (std::uint32_t p = first; p < first + 4; ++p) HR_REQUIRE_OK(a.deallocate(p, 1));
  CHECK(a.census().free_extents == 3);
  // Page 19's left neighbour is used and its right one, [20,24), is in the middle of its list:
  // the merged extent [19,24) stays in class 2, and takes the list place of [20,24).
  auto freed = [&](std::uint32_t page) {
    bank_txn t(a.base, a.bounds, 2);
    HR_REQUIRE_OK(a.alloc.deallocate(t, page, 1));
    const std::uint32_t stores = t.size();
    HR_REQUIRE_OK(detail::journal::commit(t));
    return stores;
  };
  // Two tags, the moved node's two links, and its neighbours' links (an unlink and a push
  // would make at least eight).
  CHECK(freed(19) <= 6);
  auto c = a.census();  // the free lists' links, back links and classes are checked here
  CHECK(c.free_extents == 3);
  CHECK(c.free_pages == 13);
  // The same at the head of the list: [10,14) grows down to page 9. (Without the move, each
  // of these frees makes eight stores: checked by hand.)
  CHECK(freed(9) <= 6);
  c = a.census();
  CHECK(c.free_extents == 3);
  CHECK(c.free_pages == 14);
  CHECK(a.alloc.largest_free() == 5);
  // Both moved extents are found where they now start, and allocate from there.
  auto five = a.allocate(5);
  REQUIRE(five);
  CHECK((*five == 9 || *five == 19));
  a.census();
  HR_REQUIRE_OK(a.deallocate(*five, 5));
  CHECK(a.census().free_pages == 14);
}

TEST_CASE("a full bank says how large the largest free extent is") {
  arena a(8);
  auto x = a.allocate(3);
  auto y = a.allocate(2);
  auto z = a.allocate(3);
  REQUIRE((x && y && z));
  HR_REQUIRE_OK(a.deallocate(*x, 3));
  HR_REQUIRE_OK(a.deallocate(*z, 3));
  auto big = a.allocate(4);  // 6 pages free, but in two pieces of 3
  HR_CHECK_ERR(big, errc::bank_full);
  CHECK(big.error().kinds[0] == detail_kind::requested_available);
  CHECK(big.error().details[0].a == 4);  // pages requested
  CHECK(big.error().details[0].b == 3);  // the largest free extent
  HR_CHECK_ERR(a.allocate(9), errc::bank_full);
  CHECK(a.allocate(3));  // a 3 in class 1 is found by the first-fit fallback
  a.census();
}

TEST_CASE("freeing something that is not a used extent is refused, nothing changes") {
  arena a(16);
  auto x = a.allocate(4);
  REQUIRE(x);
  std::vector<std::uint64_t> before = a.storage;
  HR_CHECK_ERR(a.deallocate(*x, 3), errc::corrupt);
  HR_CHECK_ERR(a.deallocate(*x + 4, 1), errc::corrupt);
  HR_CHECK_ERR(a.deallocate(15, 5), errc::corrupt);
  CHECK(std::memcmp(before.data() + bank_format::header_size / 8,
                    a.storage.data() + bank_format::header_size / 8,
                    (before.size() - bank_format::header_size / 8) * 8) == 0);
}

TEST_CASE("random allocations and frees agree with a model") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const std::uint32_t pages = 64 + seed * 13;
    arena a(pages);
    std::map<std::uint32_t, std::uint32_t> live;  // first -> length
    for (int step = 0; step < 600; ++step) {
      if (live.empty() || rng() % 3 != 0) {
        const std::uint32_t n = 1 + static_cast<std::uint32_t>(rng() % (rng() % 4 == 0 ? 24 : 4));
        auto r = a.allocate(n);
        // Model: is there any free run of n pages?
        std::uint32_t longest = 0, run = 0, next = 0;
        for (auto [f, l] : live) {
          run = f - next;
          if (run > longest) longest = run;
          next = f + l;
        }
        if (pages - next > longest) longest = pages - next;
        if (r) {
          CHECK(longest >= n);
          auto after = live.lower_bound(*r);
          if (after != live.end()) CHECK(*r + n <= after->first);
          if (after != live.begin()) {
            auto before = std::prev(after);
            CHECK(before->first + before->second <= *r);
          }
          live[*r] = n;
        } else {
          CHECK(r.error().code == errc::bank_full);
          CHECK(longest < n);
          CHECK(a.alloc.largest_free() == longest);
        }
      } else {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        HR_REQUIRE_OK(a.deallocate(it->first, it->second));
        live.erase(it);
      }
      if (step % 50 == 0) {
        std::uint64_t used = 0;
        for (auto [f, l] : live) used += l;
        auto c = a.census();
        CHECK(c.used_pages == used);
        CHECK(c.used_extents == live.size());
      }
    }
  }
}

TEST_CASE("an allocation never committed leaves the tables as they were, byte for byte") {
  arena a(32);
  REQUIRE(a.allocate(5));
  REQUIRE(a.allocate(7));
  std::vector<std::uint64_t> before = a.storage;
  {
    bank_txn t(a.base, a.bounds, 1);
    REQUIRE(a.alloc.allocate(t, 3, 1));
    CHECK(t.size() > 0);
    // "Crash": no commit. Nothing was written; recovery has nothing to do.
  }
  auto rec = detail::journal::recover(a.base, a.bounds);
  REQUIRE(rec);
  CHECK_FALSE(*rec);
  CHECK(std::memcmp(before.data(), a.storage.data(), before.size() * 8) == 0);
  a.census();
}

TEST_CASE("a committed allocation whose stores never reached the tables is redone by recovery") {
  arena a(32);
  REQUIRE(a.allocate(5));
  const std::size_t from = bank_format::header_size / 8;
  std::vector<std::uint64_t> before = a.storage;
  REQUIRE(a.allocate(3));
  std::vector<std::uint64_t> after = a.storage;
  // The tables as before the commit, the intent record as the commit left it, marked
  // committed: a crash right after the commit point.
  std::memcpy(a.storage.data() + from, before.data() + from, (before.size() - from) * 8);
  detail::store32(a.base, bank_format::journal_state,
                  static_cast<std::uint32_t>(detail::journal_state::committed));
  auto rec = detail::journal::recover(a.base, a.bounds);
  REQUIRE(rec);
  CHECK(*rec);
  CHECK(std::memcmp(after.data() + from, a.storage.data() + from, (after.size() - from) * 8) == 0);
  CHECK(detail::load32(a.base, bank_format::journal_state) == 0u);
  a.census();
}
