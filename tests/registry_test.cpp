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

TEST_CASE("bucket count keeps the load factor at most one half") {
  CHECK(hash_registry::bucket_count(1) == 16);
  CHECK(hash_registry::bucket_count(30) == 64);
  CHECK(hash_registry::bucket_count(65536) == 131072);
  CHECK(hash_registry::bucket_count(65537) == 262144);
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

// A name other than `name` whose hash falls in the same bucket of a table of `max` blocks.
std::string same_bucket_as(const std::string& name, std::uint32_t max) {
  const std::uint32_t mask = hash_registry::bucket_count(max) - 1;
  const std::uint32_t want = hash_registry::hash(name) & mask;
  for (int i = 0;; ++i) {
    std::string other = "other" + std::to_string(i);
    if ((hash_registry::hash(other) & mask) == want) return other;
  }
}

TEST_CASE("a cyclic chain is reported, not followed forever") {
  table t(4);
  auto a = t.insert("x", 1);
  REQUIRE(a);
  const std::string neighbour = same_bucket_as("x", 4);
  const std::uint32_t mask = hash_registry::bucket_count(4) - 1;
  const std::string elsewhere = [&] {
    for (int i = 0;; ++i) {
      std::string n = "apart" + std::to_string(i);
      if ((hash_registry::hash(n) & mask) != (hash_registry::hash("x") & mask)) return n;
    }
  }();
  REQUIRE(t.find(neighbour).status == lookup_status::missing);  // walks x, then the end
  // Make the entry point at itself: a lookup of another name in that bucket must walk the
  // cycle, give up after max_blocks steps and say the chain is inconsistent.
  const std::uint64_t entry =
      bank_format::header_size + hash_registry::entries_offset(4) + hash_registry::entry_bytes * *a;
  detail::store32(t.base, entry + 4, *a);
  CHECK(t.find(neighbour).status == lookup_status::inconsistent);
  CHECK(t.find("x").status == lookup_status::found);          // found before the cycle matters
  CHECK(t.find(elsewhere).status == lookup_status::missing);  // other buckets are unaffected
  auto c = t.reg.check([](const error&) {});
  CHECK(c.problems > 0);
  // A link out of the table is inconsistent too, never followed.
  detail::store32(t.base, entry + 4, 4);
  CHECK(t.find(neighbour).status == lookup_status::inconsistent);
  detail::store32(t.base, entry + 4, 0x7FFFFFFFu);
  CHECK(t.find(neighbour).status == lookup_status::inconsistent);
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
  for (const std::uint64_t journaled : {e + 4, e + 24})  // its link and in-use word are not
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
