// SPDX-License-Identifier: MIT
// The policy concepts of the Persistent Memory Manager. A bank is
// basic_bank<Backend, Allocator, Registry>; each policy is a view over its own region of the
// bank (byte offsets from the bank's base, never pointers kept in the bank) and writes only
// through the transaction it is given, so that every one of its stores happens at commit or
// not at all (and reads through it, to see its own pending stores).
#ifndef HOTRESTART_POLICIES_CONCEPTS_HPP
#define HOTRESTART_POLICIES_CONCEPTS_HPP

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../detail/journal.hpp"
#include "../error.hpp"

namespace hotrestart {

/// What an allocator's full scan counted.
struct allocator_census {
  std::uint64_t used_pages = 0;
  std::uint64_t free_pages = 0;
  std::uint32_t used_extents = 0;
  std::uint32_t free_extents = 0;
  std::uint32_t problems = 0;
};

/// A problem reporter that discards problems (for census-only calls).
struct ignore_problems {
  void operator()(const error&) const {}
};

/// block_allocator: pages in, extents out.
///
/// | member                                   | meaning                                                    |
/// |------------------------------------------|------------------------------------------------------------|
/// | `A::layout_id` (u32)                     | part of the bank fingerprint; change it when the layout changes |
/// | `A::region_bytes(total_pages)`           | bytes of metadata for a bank of that many pages            |
/// | `A(base, region_off, total_pages)`       | a view over an existing region                             |
/// | `a.format()`                             | fresh region: every page free (creation only, unjournaled) |
/// | `a.allocate(txn, pages, owner)`          | first page of a new extent; `bank_full` or `corrupt`       |
/// | `a.deallocate(txn, first, pages)`        | gives the extent back; `corrupt` if it is not a used extent |
/// | `a.largest_free()`                       | largest free extent in pages                               |
/// | `a.owner_of(first, pages)`               | the owner given at allocation, nil if not a used extent    |
/// | `a.check(report)` -> `allocator_census`  | full scan; each problem goes to `report(const error&)`     |
template <class A>
concept block_allocator = requires(A& a, const A& ca, bank_txn& t, std::byte* base,
                                   std::uint32_t n) {
  { A::layout_id } -> std::convertible_to<std::uint32_t>;
  { A::region_bytes(n) } -> std::same_as<std::uint64_t>;
  A(base, std::uint64_t{}, n);
  { ca.format() } -> std::same_as<void>;
  { ca.allocate(t, n, n) } -> std::same_as<result<std::uint32_t>>;
  { ca.deallocate(t, n, n) } -> std::same_as<result<void>>;
  { ca.largest_free() } -> std::same_as<std::uint32_t>;
  { ca.owner_of(n, n) } -> std::same_as<std::uint32_t>;
  { ca.check(ignore_problems{}) } -> std::same_as<allocator_census>;
};

/// What a registry lookup found. `inconsistent` means the walk met an impossible link: a
/// lock-free reader retries (a writer may have been mid-change), a locked one reports corrupt.
enum class lookup_status : std::uint8_t { found, missing, inconsistent };

/// A registry entry as readers see it.
struct entry_view {
  std::uint32_t index = 0;
  std::uint32_t first_page = 0;
  std::uint32_t pages = 0;
  std::uint64_t size = 0;
};

struct lookup_result {
  lookup_status status = lookup_status::missing;
  entry_view entry;
};

/// What the new entry records.
struct entry_data {
  std::string_view name;
  std::uint32_t hash = 0;
  std::string_view key;
  std::uint32_t first_page = 0;
  std::uint32_t pages = 0;
  std::uint64_t size = 0;
};

/// A registry's full scan.
struct registry_census {
  std::uint32_t in_use = 0;
  std::uint64_t pages = 0;
  std::uint32_t problems = 0;
};

/// name_registry: names to blocks.
///
/// | member                                  | meaning                                                     |
/// |-----------------------------------------|-------------------------------------------------------------|
/// | `R::layout_id` (u32)                    | part of the bank fingerprint                                |
/// | `R::region_bytes(max_blocks)`           | bytes of metadata for that many blocks                      |
/// | `R(base, region_off, max_blocks)`       | a view over an existing region                              |
/// | `r.format()`                            | fresh region: no names (creation only, unjournaled)         |
/// | `r.hash(name)`                          | the fixed hash of a name                                    |
/// | `r.lookup(name, hash)`                  | lock-free; never writes; O(1) expected                      |
/// | `r.insert(txn, entry_data)`             | index of the new entry; `block_table_full` or `corrupt`; the store that makes it visible to lock-free readers is its last `txn.store`; an entry filled with `txn.store_unreachable` is declared with `txn.note_direct` |
/// | `r.remove(txn, index)`                  | unlinks and releases an entry; `corrupt` if it is not in use |
/// | `r.rename(txn, index, name, hash)`     | gives an entry in use another name; `corrupt` if it is not in use |
/// | `r.next_index()`                        | the entry the next insert will use (the allocator records it as owner) |
/// | `r.in_use(i)`, `r.view(i)`, `r.name(i)`, `r.key(i)`, `r.key_hash(i)` | reading entry `i` (under the lock) |
/// | `R::hash_key(key)`                      | the fixed hash of a deletion key                            |
/// | `r.check(report)` -> `registry_census`  | full scan                                                   |
///
/// Optional: a registry that can take over the region of the previous bank format version in
/// place declares `R::previous_layout_id` and `r.rebuild_index()` -> `result<std::uint32_t>`
/// (unjournaled and idempotent); `open` then converts such banks (basic_bank::convert).
template <class R>
concept name_registry = requires(R& r, const R& cr, bank_txn& t, std::byte* base, std::uint32_t n,
                                 std::string_view s, const entry_data& d) {
  { R::layout_id } -> std::convertible_to<std::uint32_t>;
  { R::region_bytes(n) } -> std::same_as<std::uint64_t>;
  R(base, std::uint64_t{}, n);
  { cr.format() } -> std::same_as<void>;
  { R::hash(s) } -> std::same_as<std::uint32_t>;
  { cr.lookup(s, n) } -> std::same_as<lookup_result>;
  { cr.insert(t, d) } -> std::same_as<result<std::uint32_t>>;
  { cr.remove(t, n) } -> std::same_as<result<void>>;
  { cr.rename(t, n, s, n) } -> std::same_as<result<void>>;
  { cr.next_index() } -> std::same_as<std::uint32_t>;
  { cr.in_use(n) } -> std::same_as<bool>;
  { cr.view(n) } -> std::same_as<entry_view>;
  { cr.name(n) } -> std::same_as<std::string_view>;
  { cr.key(n) } -> std::same_as<std::string_view>;
  { cr.key_hash(n) } -> std::same_as<std::uint32_t>;
  { R::hash_key(s) } -> std::same_as<std::uint32_t>;
  { cr.check(ignore_problems{}) } -> std::same_as<registry_census>;
};

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_CONCEPTS_HPP
