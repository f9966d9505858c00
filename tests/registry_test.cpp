// SPDX-License-Identifier: MIT
// The hash registry on its own: insert, lookup, remove, a full table, chains, undo.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include <hotrestart/detail/journal.hpp>
#include <hotrestart/policies/hash_registry.hpp>

#include "support.hpp"

using namespace hotrestart;

namespace {

struct table {
  std::uint32_t max;
  std::vector<std::uint64_t> storage;
  std::byte* base;
  hash_registry reg;
  detail::journal_bounds bounds;

  explicit table(std::uint32_t m)
      : max(m),
        storage((bank_format::header_size + hash_registry::region_bytes(m)) / 8 + 8, 0),
        base(reinterpret_cast<std::byte*>(storage.data())),
        reg(base, bank_format::header_size, m),
        bounds{bank_format::header_size,
               bank_format::header_size + hash_registry::region_bytes(m)} {
    reg.format();
  }
  result<std::uint32_t> insert(const std::string& name, std::uint32_t first,
                               std::string_view key = {}) {
    bank_txn t(base, bounds, 1);
    auto r = reg.insert(t, {name, hash_registry::hash(name), key, first, 1, 100});
    if (r) REQUIRE(detail::journal::commit(t));
    return r;
  }
  result<void> remove(std::uint32_t idx) {
    bank_txn t(base, bounds, 2);
    auto r = reg.remove(t, idx);
    if (r) REQUIRE(detail::journal::commit(t));
    return r;
  }
  lookup_result find(const std::string& name) const {
    return reg.lookup(name, hash_registry::hash(name));
  }
  registry_census census() const {
    std::string problems;
    auto c = reg.check([&](const error& e) { problems += hrtest::text(e) + "\n"; });
    CHECK_MESSAGE(c.problems == 0, problems);
    return c;
  }
};

std::string name_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "blk%09d", i);
  return buf;
}

}  // namespace

TEST_CASE("the index keeps at least two slot words per block, in groups of one cache line") {
  CHECK(hash_registry::index_words(1) == 16);
  CHECK(hash_registry::index_words(30) == 64);
  CHECK(hash_registry::index_words(65536) == 131072);
  CHECK(hash_registry::index_words(65537) == 262144);
  CHECK(hash_registry::group_count(30) == 4);
  CHECK(hash_registry::group_count(65536) == 8192);
  // The region keeps format version 2's size, so a bank converts in place.
  for (std::uint32_t m : {1u, 8u, 30u, 1000u, 65536u, 1u << 22})
    CHECK(hash_registry::entries_offset(m) ==
          (64 + 4ull * hash_registry::index_words(m) + 63) / 64 * 64);
}

TEST_CASE("insert, find, remove, reuse") {
  table t(100);
  for (int i = 0; i < 100; ++i) {
    auto r = t.insert(name_of(i), static_cast<std::uint32_t>(i));
    REQUIRE(r);
  }
  HR_CHECK_ERR(t.insert("one too many", 0), errc::block_table_full);
  for (int i = 0; i < 100; ++i) {
    auto f = t.find(name_of(i));
    REQUIRE(f.status == lookup_status::found);
    CHECK(f.entry.first_page == static_cast<std::uint32_t>(i));
    CHECK(t.reg.name(f.entry.index) == name_of(i));
  }
  CHECK(t.find("missing").status == lookup_status::missing);
  CHECK(t.find(name_of(1).substr(0, 11)).status == lookup_status::missing);  // prefix only
  CHECK(t.census().in_use == 100);
  for (int i = 0; i < 100; i += 2) HR_REQUIRE_OK(t.remove(t.find(name_of(i)).entry.index));
  for (int i = 0; i < 100; ++i)
    CHECK((t.find(name_of(i)).status == lookup_status::found) == (i % 2 == 1));
  CHECK(t.census().in_use == 50);
  for (int i = 0; i < 50; ++i) REQUIRE(t.insert("again" + std::to_string(i), 1));
  CHECK(t.census().in_use == 100);
}

TEST_CASE("names are compared in full, keys are kept with their length") {
  table t(8);
  REQUIRE(t.insert("a", 1, std::string_view("K\0Y", 3)));
  REQUIRE(t.insert("aa", 2));
  REQUIRE(t.insert(std::string(32, 'z'), 3));
  CHECK(t.find("a").entry.first_page == 1);
  CHECK(t.find("aa").entry.first_page == 2);
  CHECK(t.find(std::string(32, 'z')).entry.first_page == 3);
  CHECK(t.find(std::string(31, 'z')).status == lookup_status::missing);
  auto idx = t.find("a").entry.index;
  CHECK(t.reg.key(idx) == std::string_view("K\0Y", 3));
  CHECK(t.reg.key_hash(idx) == hash_registry::hash_key(std::string_view("K\0Y", 3)));
}

TEST_CASE("removing an entry that is not in use is refused") {
  table t(4);
  HR_CHECK_ERR(t.remove(2), errc::corrupt);
  HR_CHECK_ERR(t.remove(99), errc::corrupt);
  t.census();
}

// Names other than `name` whose hash falls in the same group of a table of `max` blocks.
std::vector<std::string> same_group_as(const std::string& name, std::uint32_t max, int count) {
  const std::uint32_t mask = hash_registry::group_count(max) - 1;
  const std::uint32_t want = hash_registry::hash(name) & mask;
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < count; ++i) {
    std::string other = "other" + std::to_string(i);
    if ((hash_registry::hash(other) & mask) == want) out.push_back(other);
  }
  return out;
}

std::uint64_t group_off(std::uint32_t /*max*/, std::uint32_t g) {
  return bank_format::header_size + 64 + 64ull * g;
}

TEST_CASE("a full group overflows into the next ones, and lookups follow it exactly") {
  const std::uint32_t max = 64;  // 8 groups of 15 slots
  table t(max);
  const std::uint32_t groups = hash_registry::group_count(max);
  REQUIRE(groups == 8);
  const std::uint32_t home = hash_registry::hash("seed") & (groups - 1);
  auto names = same_group_as("seed", max, 40);
  for (std::size_t i = 0; i < 40; ++i) REQUIRE(t.insert(names[i], static_cast<std::uint32_t>(i)));
  // 15 in the home group, 15 in the next, 10 in the one after: the two passed count them.
  CHECK(detail::load32(t.base, group_off(max, home)) == 25);
  CHECK(detail::load32(t.base, group_off(max, (home + 1) % groups)) == 10);
  CHECK(detail::load32(t.base, group_off(max, (home + 2) % groups)) == 0);
  for (std::size_t i = 0; i < 40; ++i) {
    auto f = t.find(names[i]);
    REQUIRE(f.status == lookup_status::found);
    CHECK(f.entry.first_page == static_cast<std::uint32_t>(i));
  }
  auto more = same_group_as("seed", max, 41);
  CHECK(t.find(more[40]).status == lookup_status::missing);  // walks the three groups
  CHECK(t.census().in_use == 40);
  // Removing the home group's entries leaves holes; the overflowed ones stay reachable and the
  // counts drop as their probes are taken off.
  for (std::size_t i = 0; i < 15; ++i) HR_REQUIRE_OK(t.remove(t.find(names[i]).entry.index));
  CHECK(detail::load32(t.base, group_off(max, home)) == 25);  // the others still passed it
  for (std::size_t i = 15; i < 40; ++i) REQUIRE(t.find(names[i]).status == lookup_status::found);
  for (std::size_t i = 15; i < 40; ++i) HR_REQUIRE_OK(t.remove(t.find(names[i]).entry.index));
  CHECK(detail::load32(t.base, group_off(max, home)) == 0);
  CHECK(detail::load32(t.base, group_off(max, (home + 1) % groups)) == 0);
  CHECK(t.census().in_use == 0);
}

TEST_CASE("a damaged index is reported, never followed out of the table") {
  table t(16);
  auto a = t.insert("x", 1);
  REQUIRE(a);
  const std::uint32_t groups = hash_registry::group_count(16);
  const std::uint32_t g = hash_registry::hash("x") & (groups - 1);
  // The slot holding x: make it name an entry beyond the table, with x's tag.
  std::uint64_t slot = 0;
  for (std::uint32_t k = 1; k <= 15 && slot == 0; ++k)
    if (detail::load32(t.base, group_off(16, g) + 4 * k) != 0) slot = group_off(16, g) + 4 * k;
  REQUIRE(slot != 0);
  const std::uint32_t v = detail::load32(t.base, slot);
  detail::store32(t.base, slot, (v & ~31u) | 31u);  // entry 30 of 16
  CHECK(t.find("x").status == lookup_status::inconsistent);
  auto c = t.reg.check([](const error&) {});
  CHECK(c.problems > 0);
  // A wrong overflow count is found by check (a lookup only reads further than it must).
  detail::store32(t.base, slot, v);
  CHECK(t.census().problems == 0);
  detail::store32(t.base, group_off(16, g), 3);
  CHECK(t.find("x").status == lookup_status::found);
  std::string text;
  c = t.reg.check([&](const error& e) { text += hrtest::text(e); });
  CHECK(c.problems == 1);
  CHECK(text.find("overflow count") != std::string::npos);
}

TEST_CASE("the index is rebuilt from the entries alone (the conversion from format 2)") {
  table t(200);
  for (int i = 0; i < 150; ++i) REQUIRE(t.insert(name_of(i), static_cast<std::uint32_t>(i)));
  for (int i = 0; i < 150; i += 3) HR_REQUIRE_OK(t.remove(t.find(name_of(i)).entry.index));
  std::vector<std::uint64_t> good = t.storage;
  // Anything in the index's bytes (format 2 kept bucket heads there): rebuilt, same answers.
  const std::uint64_t from = bank_format::header_size + 64;
  const std::uint64_t to = bank_format::header_size + hash_registry::entries_offset(200);
  for (std::uint64_t off = from; off < to; off += 4)
    detail::store32(t.base, off, static_cast<std::uint32_t>(off * 2654435761u));
  auto placed = t.reg.rebuild_index();
  REQUIRE(placed);
  CHECK(*placed == 100);
  for (int i = 0; i < 150; ++i)
    CHECK((t.find(name_of(i)).status == lookup_status::found) == (i % 3 != 0));
  CHECK(t.census().in_use == 100);
  // Idempotent: a second rebuild (a conversion cut short and run again) writes the same bytes.
  std::vector<std::uint64_t> once = t.storage;
  REQUIRE(t.reg.rebuild_index());
  CHECK(once == t.storage);
  // An entry whose hash disagrees with its name is left out (no lookup could reach it before
  // either), and check() reports it; the others are placed.
  const std::uint64_t e = bank_format::header_size + hash_registry::entries_offset(200) +
                          hash_registry::entry_bytes * t.find(name_of(1)).entry.index;
  detail::store32(t.base, e, detail::load32(t.base, e) ^ 1u);
  placed = t.reg.rebuild_index();
  REQUIRE(placed);
  CHECK(*placed == 99);
  CHECK(t.find(name_of(2)).status == lookup_status::found);
  CHECK(t.reg.check([](const error&) {}).problems > 0);
}

TEST_CASE("an insert and a remove never committed change nothing") {
  table t(16);
  REQUIRE(t.insert("keep", 1));
  std::vector<std::uint64_t> before = t.storage;
  {
    bank_txn x(t.base, t.bounds, 1);
    REQUIRE(t.reg.insert(x, {"new", hash_registry::hash("new"), {}, 2, 1, 1}));
    // Crash before commit: the entry was filled (it is unreachable), nothing else changed.
    CHECK(x.load(t.bounds.tables_begin) != detail::load32(t.base, t.bounds.tables_begin));
  }
  CHECK(t.find("new").status == lookup_status::missing);
  CHECK(t.census().in_use == 1);
  CHECK(t.census().problems == 0);
  before = t.storage;
  {
    bank_txn x(t.base, t.bounds, 2);
    REQUIRE(t.reg.remove(x, t.find("keep").entry.index));
  }
  CHECK(t.find("keep").status == lookup_status::found);
  CHECK(std::memcmp(before.data(), t.storage.data(), before.size() * 8) == 0);
}

TEST_CASE("a committed insert whose publication was interrupted is completed by recovery") {
  table t(16);
  const std::size_t from = bank_format::header_size / 8;
  std::vector<std::uint64_t> before = t.storage;
  REQUIRE(t.insert("pub", 2));
  // Undo the applied stores of the tables but keep the record, marked committed: a crash
  // between the commit point and the publication.
  std::vector<std::uint64_t> after = t.storage;
  for (std::size_t i = from; i < before.size(); ++i) t.storage[i] = before[i];
  // The entry's own fields are direct stores (made before the commit): keep them.
  const std::uint32_t idx = 0;
  const std::uint64_t e = bank_format::header_size + hash_registry::entries_offset(16) +
                          hash_registry::entry_bytes * idx;
  std::memcpy(t.base + e, reinterpret_cast<const std::byte*>(after.data()) + e,
              hash_registry::entry_bytes);
  for (const std::uint64_t journaled : {e + 24})  // its in-use word is not
    std::memcpy(t.base + journaled, reinterpret_cast<const std::byte*>(before.data()) + journaled,
                4);
  detail::store32(t.base, bank_format::journal_state,
                  static_cast<std::uint32_t>(detail::journal_state::committed));
  CHECK(t.find("pub").status == lookup_status::missing);
  REQUIRE(detail::journal::recover(t.base, t.bounds));
  CHECK(t.find("pub").status == lookup_status::found);
  CHECK(t.census().in_use == 1);
  CHECK(std::memcmp(after.data() + from, t.storage.data() + from, (after.size() - from) * 8) == 0);
}
