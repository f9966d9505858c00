// SPDX-License-Identifier: MIT
// The bank's conformance suite: every promise of find-or-create, find, free, free_all,
// replace, iteration, statistics and limits. A backend's test file defines its fixtures and
// instantiates the suite for them:
//
//   struct my_fixture {
//     using bank = basic_bank<my_backend>;          // the bank type under test
//     static constexpr bool has_files = ...;         // open of a fresh location: not_found
//     auto where();                                  // a location for a fresh bank, stable
//   };                                               // for the fixture's lifetime
//   #define HR_CONFORMANCE_FIXTURES my_fixture
//   #include "conformance.hpp"
#ifndef HOTRESTART_TESTS_CONFORMANCE_HPP
#define HOTRESTART_TESTS_CONFORMANCE_HPP

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <hotrestart/bank.hpp>

#include "bank_audit.hpp"
#include "support.hpp"

// The no-exceptions build of the suite (test_bank_noexcept) must really be one.
#if defined(DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS) &&                 \
    (defined(__cpp_exceptions) || defined(__cpp_rtti) || defined(__EXCEPTIONS) || \
     defined(__GXX_RTTI))
#error "test_bank_noexcept must be built with -fno-exceptions -fno-rtti"
#endif

#ifndef HR_CONFORMANCE_FIXTURES
#error "define HR_CONFORMANCE_FIXTURES (a comma-separated list of fixtures) before including"
#endif

namespace hr_conformance {
inline bool all_zero(const hotrestart::block& b) {
  return std::all_of(b.data, b.data + b.capacity, [](std::byte x) { return x == std::byte{0}; });
}

/// check() finds nothing, and stats() agrees with the blocks for_each lists: their count, the
/// pages they cover, the pages no block covers, and the longest run of those (largest_free).
template <class Bank>
void require_consistent(Bank& b) {
  hrtest::require_consistent(b);
  auto a = hrtest::audit_bank(b);
  HR_REQUIRE_OK(a);
  auto st = b.stats();
  HR_REQUIRE_OK(st);
  const char* why = hrtest::compare_stats(*st, *a, b.layout());
  CHECK_MESSAGE(why == nullptr, (why != nullptr ? why : ""), " (blocks ", a->blocks, ", used ",
                a->used, ", largest gap ", a->largest_gap, "; stats: blocks ", st->blocks,
                ", used ", st->used, ", free ", st->free, ", largest_free ", st->largest_free, ")");
}
}  // namespace hr_conformance

namespace {
using namespace hotrestart;
using hr_conformance::all_zero;
using hr_conformance::require_consistent;

TEST_CASE_TEMPLATE("find_or_create creates once, zero-filled, then finds the same bytes", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where());
  HR_REQUIRE_OK(b);
  const std::uint32_t page = b->layout().page_size;
  auto first = b->find_or_create("PM1", 10);
  HR_REQUIRE_OK(first);
  CHECK(first->created);
  CHECK(first->size == 10);
  CHECK(first->capacity == page);
  CHECK(all_zero(*first));
  std::memcpy(first->data, "persistent", 10);
  auto again = b->find_or_create("PM1", page);  // up to the capacity is fine
  HR_REQUIRE_OK(again);
  CHECK_FALSE(again->created);
  CHECK(again->data == first->data);
  CHECK(again->size == 10);  // the size recorded at creation
  HR_CHECK_ERR(b->find_or_create("PM1", page + 1), errc::size_exceeds_block);
  auto found = b->find("PM1");
  HR_REQUIRE_OK(found);
  CHECK(std::memcmp(found->data, "persistent", 10) == 0);
  HR_CHECK_ERR(b->find("PM2"), errc::not_found);
  HR_CHECK_ERR(b->find_or_create("PM3", 0), errc::bad_size);
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("a reopened bank holds the same blocks and bytes", F, HR_CONFORMANCE_FIXTURES) {
  F fx;
  {
    auto b = F::bank::create(fx.where(), {.bank_size = 1 << 20, .max_blocks = 64});
    HR_REQUIRE_OK(b);
    for (int i = 0; i < 50; ++i) {
      auto blk = b->find_or_create("block" + std::to_string(i),
                                   100 + 4096u * static_cast<unsigned>(i % 3));
      HR_REQUIRE_OK(blk);
      std::memset(blk->data, i, blk->size);
    }
  }
  auto b = F::bank::open(fx.where());
  HR_REQUIRE_OK(b);
  CHECK(b->layout().max_blocks == 64);
  for (int i = 0; i < 50; ++i) {
    auto blk = b->find_or_create("block" + std::to_string(i), 1);
    HR_REQUIRE_OK(blk);
    CHECK_FALSE(blk->created);
    CHECK(blk->size == 100 + 4096u * static_cast<unsigned>(i % 3));
    CHECK(std::all_of(blk->data, blk->data + blk->size,
                      [i](std::byte x) { return x == static_cast<std::byte>(i); }));
  }
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("free, then the name is gone and a new block is zero-filled again", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where());
  HR_REQUIRE_OK(b);
  auto x = b->find_or_create("x", 8192);
  HR_REQUIRE_OK(x);
  std::memset(x->data, 0xAB, x->capacity);
  HR_REQUIRE_OK(b->free("x"));
  HR_CHECK_ERR(b->find("x"), errc::not_found);
  HR_CHECK_ERR(b->free("x"), errc::not_found);
  auto y = b->find_or_create("y", 8192);  // reuses the same pages
  HR_REQUIRE_OK(y);
  CHECK(y->created);
  CHECK(all_zero(*y));
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("free_all frees one key's blocks; a group's key only through the runtime", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where());
  HR_REQUIRE_OK(b);
  const group_key g3(3);
  HR_REQUIRE_OK(b->find_or_create("a1", 1, "KEY_A"));
  HR_REQUIRE_OK(b->find_or_create("a2", 1, "KEY_A"));
  HR_REQUIRE_OK(b->find_or_create("b1", 1, "KEY_B"));
  HR_REQUIRE_OK(b->find_or_create("plain", 1));
  HR_REQUIRE_OK(b->find_or_create("g1", 1, g3));
  HR_REQUIRE_OK(b->find_or_create("g2", 1, g3));
  // The key given at creation is not changed by a later find with another key.
  auto again = b->find_or_create("a1", 1, "KEY_B");
  HR_REQUIRE_OK(again);
  CHECK_FALSE(again->created);
  auto n = b->free_all("KEY_A");
  HR_REQUIRE_OK(n);
  CHECK(*n == 2);
  HR_CHECK_ERR(b->find("a1"), errc::not_found);
  HR_REQUIRE_OK(b->find("b1"));
  HR_CHECK_ERR(b->free_all(g3), errc::key_reserved);
  HR_CHECK_ERR(b->free_all(""), errc::key_reserved);
  HR_CHECK_ERR(b->free_all(std::string(33, 'k')), errc::key_too_long);
  HR_REQUIRE_OK(b->find("g1"));
  auto g = b->free_all(hotrestart::detail::internal_access, g3);
  HR_REQUIRE_OK(g);
  CHECK(*g == 2);
  HR_CHECK_ERR(b->find("g2"), errc::not_found);
  auto none = b->free_all("KEY_A");
  HR_REQUIRE_OK(none);
  CHECK(*none == 0);
  auto st = b->stats();
  HR_REQUIRE_OK(st);
  CHECK(st->blocks == 2);  // b1, plain
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("reserved names are the library's", F, HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where());
  HR_REQUIRE_OK(b);
  HR_CHECK_ERR(b->find_or_create("__HR_controller", 1), errc::name_reserved);
  HR_REQUIRE_OK(b->find_or_create(hotrestart::detail::internal_access, "__HR_controller", 1));
  HR_CHECK_ERR(b->free("__HR_controller"), errc::name_reserved);
  HR_REQUIRE_OK(b->free(hotrestart::detail::internal_access, "__HR_controller"));
}

TEST_CASE_TEMPLATE("limits: block table, bank size, names, media", F, HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where(), {.bank_size = 8 * 4096, .max_blocks = 4, .page_size = 4096});
  HR_REQUIRE_OK(b);
  HR_CHECK_ERR(b->find_or_create("huge", 9 * 4096), errc::bank_full);
  HR_REQUIRE_OK(b->find_or_create("a", 4096 * 5));
  auto full = b->find_or_create("b", 4096 * 4);
  HR_CHECK_ERR(full, errc::bank_full);
  CHECK(full.error().details[0].a == 4);  // pages requested
  CHECK(full.error().details[0].b == 3);  // largest free extent, in pages
  HR_REQUIRE_OK(b->find_or_create("b", 1));
  HR_REQUIRE_OK(b->find_or_create("c", 1));
  HR_REQUIRE_OK(b->find_or_create("d", 1));
  auto table = b->find_or_create("e", 1);
  HR_CHECK_ERR(table, errc::block_table_full);
  CHECK(table.error().details[0].a == 4);
  HR_CHECK_ERR(b->find_or_create("", 1), errc::name_empty);
  HR_CHECK_ERR(b->find_or_create(std::string(33, 'n'), 1), errc::name_too_long);
  HR_CHECK_ERR(b->find_or_create(block_name{"FLASH", "a"}, 1), errc::unknown_medium);
  HR_CHECK_ERR(b->find_or_create("k", 1, std::string(33, 'k')), errc::key_too_long);
  // Failed calls changed nothing.
  auto st = b->stats();
  HR_REQUIRE_OK(st);
  CHECK(st->blocks == 4);
  CHECK(st->used == 8 * 4096);
  CHECK(st->free == 0);
  CHECK(st->largest_free == 0);
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("statistics and iteration", F, HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(
      fx.where(), {.bank_size = 1 << 20, .max_blocks = 30, .page_size = 4096, .medium = "NVRAM"});
  HR_REQUIRE_OK(b);
  CHECK(b->medium() == "NVRAM");
  HR_REQUIRE_OK(b->find_or_create(block_name{"NVRAM", "one"}, 1, "K1"));
  HR_REQUIRE_OK(b->find_or_create("two", 5000));
  auto st = b->stats();
  HR_REQUIRE_OK(st);
  CHECK(st->bank_size == 1 << 20);
  CHECK(st->blocks == 2);
  CHECK(st->used == 3 * 4096);
  CHECK(st->free == (1 << 20) - 3 * 4096);
  CHECK(st->largest_free == (1 << 20) - 3 * 4096);
  CHECK(st->overhead == b->layout().overhead_bytes());
  CHECK(st->overhead > 0);
  CHECK(st->overhead < 64 * 1024);
  std::map<std::string, std::pair<std::string, std::uint64_t>> seen;
  auto n = b->for_each([&](const block_info& i) {
    seen[std::string(i.name)] = {std::string(i.key), i.capacity};
  });
  HR_REQUIRE_OK(n);
  CHECK(*n == 2);
  CHECK(seen["one"] == std::pair<std::string, std::uint64_t>{"K1", 4096});
  CHECK(seen["two"] == std::pair<std::string, std::uint64_t>{"", 8192});
  // A hole between two blocks: largest_free is the longest run, not the sum.
  HR_REQUIRE_OK(b->find_or_create("three", 4096 * 10));
  HR_REQUIRE_OK(b->find_or_create("four", 1));
  HR_REQUIRE_OK(b->free("three"));
  auto holed = b->stats();
  HR_REQUIRE_OK(holed);
  CHECK(holed->free == (1 << 20) - 4 * 4096);
  CHECK(holed->largest_free == (1 << 20) - 14 * 4096);
  require_consistent(*b);
}

TEST_CASE_TEMPLATE("open_or_create adopts a bank's tunables or names each difference", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  {
    auto b = F::bank::open_or_create(fx.where(), {.bank_size = 1 << 20, .max_blocks = 30});
    HR_REQUIRE_OK(b);
    HR_REQUIRE_OK(b->find_or_create("kept", 1));
  }
  auto same = F::bank::open_or_create(fx.where(), {.bank_size = 1 << 20, .max_blocks = 30});
  HR_REQUIRE_OK(same);
  HR_REQUIRE_OK(same->find("kept"));
  auto other = F::bank::open_or_create(fx.where(), {.bank_size = 2 << 20, .max_blocks = 40});
  HR_CHECK_ERR(other, errc::tunables_mismatch);
  CHECK(other.error().detail_count == 2);
  CHECK(std::string(other.error().details[0].field) == "bank_size");
  CHECK(other.error().kinds[0] == detail_kind::given_recorded);
  CHECK(other.error().details[0].a == 2u << 20);  // given
  CHECK(other.error().details[0].b == 1u << 20);  // recorded in the bank
  CHECK(std::string(other.error().details[1].field) == "max_blocks");
  auto opened = F::bank::open(fx.where());  // plain open adopts whatever is recorded
  HR_REQUIRE_OK(opened);
  CHECK(opened->layout().bank_size == 1u << 20);
  // One rule for every tunable: what the caller leaves unset is adopted, what it sets must match.
  auto unset = F::bank::open_or_create(fx.where());
  HR_REQUIRE_OK(unset);
  CHECK(unset->layout().max_blocks == 30u);
  HR_REQUIRE_OK(F::bank::open_or_create(fx.where(), {.max_blocks = 30}));
  HR_REQUIRE_OK(F::bank::open_or_create(fx.where(), {.bank_size = (1 << 20) - 100}));  // pages
  HR_REQUIRE_OK(F::bank::open_or_create(fx.where(), {.medium = "RAM", .durable = false}));
  auto medium = F::bank::open_or_create(fx.where(), {.medium = "ROM"});
  HR_CHECK_ERR(medium, errc::tunables_mismatch);
  CHECK(medium.error().kinds[0] == detail_kind::names);
  CHECK(std::string(describe(medium.error()).text)
            .find(R"(medium given "ROM", the bank has "RAM")") != std::string::npos);
  auto page = F::bank::open_or_create(fx.where(), {.page_size = 8192});
  HR_CHECK_ERR(page, errc::tunables_mismatch);
  CHECK(std::string(page.error().details[0].field) == "page_size");
}

TEST_CASE_TEMPLATE("bad tunables are refused before anything is created", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  HR_CHECK_ERR(F::bank::create(fx.where(), {.bank_size = 0}), errc::bad_tunables);
  HR_CHECK_ERR(F::bank::create(fx.where(), {.max_blocks = 0}), errc::bad_tunables);
  HR_CHECK_ERR(F::bank::create(fx.where(), {.page_size = 3000}), errc::bad_tunables);
  // Sizes whose rounding up to whole pages would wrap around 2^64 (once a crash: zero pages).
  for (const std::uint64_t huge :
       {~std::uint64_t{0}, ~std::uint64_t{0} - 4094, std::uint64_t{1} << 63})
    HR_CHECK_ERR(F::bank::create(fx.where(), {.bank_size = huge, .page_size = 4096}),
                 errc::bad_tunables);
  HR_CHECK_ERR(F::bank::create(fx.where(), {.medium = ""}), errc::medium_empty);
  HR_CHECK_ERR(F::bank::open(fx.where()), F::has_files ? errc::not_found : errc::not_a_bank);
}

TEST_CASE_TEMPLATE("a random mix of operations keeps every invariant and every byte", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  std::mt19937 rng(42);
  std::map<std::string, std::pair<std::uint64_t, std::uint8_t>> model;  // name -> size, fill
  auto created = F::bank::create(fx.where(), {.bank_size = 2 << 20, .max_blocks = 200});
  HR_REQUIRE_OK(created);
  // An optional, not a result assigned anew: without exceptions, tl::expected 1.0.0's move
  // assignment copies (assign_common(rhs)), which a bank (move-only) refuses to compile.
  std::optional<typename F::bank> b(std::move(*created));
  for (int step = 0; step < 3000; ++step) {
    const std::string name = "n" + std::to_string(rng() % 300);
    const int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      const std::uint64_t size = 1 + rng() % 20000;
      auto r = b->find_or_create(name, size, rng() % 2 ? "KA" : "");
      auto m = model.find(name);
      if (m != model.end()) {
        if (r) {
          CHECK_FALSE(r->created);
          CHECK(r->size == m->second.first);
          CHECK(static_cast<std::uint8_t>(r->data[r->size - 1]) == m->second.second);
        } else {
          CHECK(r.error().code == errc::size_exceeds_block);
        }
      } else if (r) {
        CHECK(r->created);
        CHECK(all_zero(*r));
        const auto fill = static_cast<std::uint8_t>(1 + rng() % 250);
        std::memset(r->data, fill, r->size);
        model[name] = {size, fill};
      } else {
        CHECK((r.error().code == errc::bank_full || r.error().code == errc::block_table_full));
      }
    } else if (op < 9) {
      auto r = b->free(name);
      CHECK(r.has_value() == (model.erase(name) == 1));
    } else if (step % 97 == 0) {
      auto r = b->free_all("KA");
      HR_REQUIRE_OK(r);
      // Rebuild the model from the bank: free_all removed every KA block.
      std::map<std::string, std::pair<std::uint64_t, std::uint8_t>> kept;
      for (auto& [n, v] : model)
        if (b->find(n)) kept[n] = v;
      model.swap(kept);
    }
    if (step % 500 == 0) {
      require_consistent(*b);
      auto again = F::bank::open(fx.where());  // reopen in the middle
      HR_REQUIRE_OK(again);
      b.emplace(std::move(*again));
    }
  }
  require_consistent(*b);  // also holds stats() against the blocks (not used + free == total)
  auto st = b->stats();
  HR_REQUIRE_OK(st);
  CHECK(st->blocks == model.size());
  std::uint64_t model_bytes = 0;
  const std::uint64_t page = b->layout().page_size;
  for (auto& [n, v] : model) model_bytes += (v.first + page - 1) / page * page;
  CHECK(st->used == model_bytes);
}

TEST_CASE_TEMPLATE("replace switches a name to a new block and frees the old one", F,
                   HR_CONFORMANCE_FIXTURES) {
  F fx;
  auto b = F::bank::create(fx.where());
  HR_REQUIRE_OK(b);
  auto old = b->find_or_create("value", 4096, "K");
  HR_REQUIRE_OK(old);
  std::memset(old->data, 1, 4096);
  auto shadow = b->find_or_create("value.next", 8192, "K");
  HR_REQUIRE_OK(shadow);
  std::memset(shadow->data, 2, 8192);
  auto before = b->stats();
  HR_REQUIRE_OK(before);
  HR_REQUIRE_OK(b->replace("value", "value.next"));
  HR_CHECK_ERR(b->find("value.next"), errc::not_found);
  auto now = b->find("value");
  HR_REQUIRE_OK(now);
  CHECK(now->data == shadow->data);
  CHECK(now->capacity == 8192);
  CHECK(now->data[8191] == std::byte{2});
  auto after = b->stats();
  HR_REQUIRE_OK(after);
  CHECK(after->blocks == before->blocks - 1);
  CHECK(after->used == before->used - 4096);
  // Replacing a name that does not exist yet is a rename.
  HR_REQUIRE_OK(b->find_or_create("fresh.next", 1));
  HR_REQUIRE_OK(b->replace("fresh", "fresh.next"));
  HR_REQUIRE_OK(b->find("fresh"));
  HR_CHECK_ERR(b->replace("fresh", "absent"), errc::not_found);
  HR_CHECK_ERR(b->replace("x", "__HR_shadow"), errc::name_reserved);
  // The renamed block keeps its key.
  auto n = b->free_all("K");
  HR_REQUIRE_OK(n);
  CHECK(*n == 1);
  require_consistent(*b);
}

}  // namespace

#endif  // HOTRESTART_TESTS_CONFORMANCE_HPP
