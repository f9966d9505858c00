// SPDX-License-Identifier: MIT
// An audit of a bank's space that does not trust its counters: from the blocks `for_each`
// lists (the registry's view) it computes the pages in use, the free runs between blocks and
// the largest of them, and finds blocks that overlap or stick out of the data region. Then
// `compare_stats` holds `stats()` (counters and the allocator's free lists) against it. Used
// by the conformance suite, the fuzz target and the torture parent, so that "no space lost"
// is checked against a second data structure instead of `used + free == total`.
#ifndef HOTRESTART_TESTS_BANK_AUDIT_HPP
#define HOTRESTART_TESTS_BANK_AUDIT_HPP

#include <algorithm>
#include <cstdint>
#include <vector>

#include <hotrestart/bank.hpp>

namespace hrtest {

struct extent {
  std::uint64_t offset = 0;    ///< from the start of the bank (block_info::offset)
  std::uint64_t capacity = 0;  ///< bytes (whole pages)
};

struct space_audit {
  std::uint64_t used = 0;         ///< bytes in the listed blocks
  std::uint64_t largest_gap = 0;  ///< longest run of pages no block covers, in bytes
  std::uint32_t blocks = 0;
  const char* problem = nullptr;  ///< first impossibility found, or null
};

/// Audits the extents of every block of a bank with layout `l`.
inline space_audit audit_space(std::vector<extent> ex, const hotrestart::bank_layout& l) {
  space_audit a;
  a.blocks = static_cast<std::uint32_t>(ex.size());
  std::sort(ex.begin(), ex.end(),
            [](const extent& x, const extent& y) { return x.offset < y.offset; });
  const std::uint64_t begin = l.data_off,
                      end = l.data_off + std::uint64_t{l.total_pages} * l.page_size;
  std::uint64_t at = begin;
  for (const extent& e : ex) {
    if (e.capacity == 0 || e.capacity % l.page_size != 0 || (e.offset - begin) % l.page_size != 0) {
      if (a.problem == nullptr) a.problem = "a block is not made of whole pages";
    }
    if (e.offset < begin || e.offset > end || e.capacity > end - e.offset) {
      if (a.problem == nullptr) a.problem = "a block lies outside the data region";
      continue;
    }
    if (e.offset < at) {
      if (a.problem == nullptr) a.problem = "two blocks share pages";
    } else {
      a.largest_gap = std::max(a.largest_gap, e.offset - at);
    }
    a.used += e.capacity;
    at = std::max(at, e.offset + e.capacity);
  }
  a.largest_gap = std::max(a.largest_gap, end - at);
  return a;
}

/// The first way `s` (from stats()) disagrees with the audit, or null.
inline const char* compare_stats(const hotrestart::bank_stats& s, const space_audit& a,
                                 const hotrestart::bank_layout& l) {
  if (a.problem != nullptr) return a.problem;
  if (s.blocks != a.blocks) return "stats().blocks differs from the blocks listed";
  if (s.used != a.used) return "stats().used differs from the listed blocks' pages";
  if (s.free != l.bank_size - a.used) return "stats().free differs from the pages no block covers";
  if (s.largest_free != a.largest_gap)
    return "stats().largest_free differs from the longest run of pages between blocks";
  if (s.bank_size != l.bank_size) return "stats().bank_size differs from the layout";
  return nullptr;
}

/// Lists every block of `b` (under its lock) and audits them.
template <class Bank>
hotrestart::result<space_audit> audit_bank(Bank& b) {
  std::vector<extent> ex;
  auto n = b.for_each([&](const hotrestart::block_info& i) {
    ex.push_back({i.offset, i.capacity});
  });
  if (!n) return hotrestart::fail(n.error());
  return audit_space(std::move(ex), b.layout());
}

}  // namespace hrtest

#endif  // HOTRESTART_TESTS_BANK_AUDIT_HPP
