// SPDX-License-Identifier: MIT
// Types shared by the typed-block tests and their child process: two schema versions of one
// record, and a node for relative-pointer links.
#ifndef HOTRESTART_TESTS_TYPED_TYPES_HPP
#define HOTRESTART_TESTS_TYPED_TYPES_HPP

#include <cstdint>
#include <string_view>

#include <hotrestart/offset_ptr.hpp>
#include <hotrestart/typed.hpp>

namespace hrtyped {

inline constexpr int fields = 31;

/// Version 1: a sequence number and 31 words that all hold it (a torn value shows at once).
struct rec_v1 {
  static constexpr std::string_view hr_type_name = "test::rec";
  static constexpr std::uint32_t hr_schema_version = 1;
  std::uint64_t seq = 0;
  std::uint64_t fill[fields] = {};

  void set(std::uint64_t v) {
    seq = v;
    for (auto& f : fill) f = v;
  }
  bool whole() const {
    for (auto f : fill)
      if (f != seq) return false;
    return true;
  }
};

/// Version 2: one more field, so another size.
struct rec_v2 {
  static constexpr std::string_view hr_type_name = "test::rec";
  static constexpr std::uint32_t hr_schema_version = 2;
  std::uint64_t seq = 0;
  std::uint64_t fill[fields] = {};
  std::uint32_t extra = 7;  // the initial value gives it; the migration overwrites it
  std::uint32_t origin = 0;

  bool whole() const {
    for (auto f : fill)
      if (f != seq) return false;
    return true;
  }
};

inline constexpr std::uint32_t migrated_mark = 0xBEEFu;

/// The migration every test uses: keeps the words, marks the record.
inline void migrate_v1_v2(const rec_v1& o, rec_v2& n) {
  n.seq = o.seq;
  for (int i = 0; i < fields; ++i) n.fill[i] = o.fill[i];
  n.extra = migrated_mark;
  n.origin = 1;
}

/// An element of a linked list whose links cross blocks.
struct node {
  std::uint64_t value = 0;
  hotrestart::offset_ptr<node> next;
};

/// A typed block that heads such a list.
struct list_head {
  static constexpr std::string_view hr_type_name = "test::list";
  static constexpr std::uint32_t hr_schema_version = 1;
  hotrestart::offset_ptr<node> first;
  std::uint64_t count = 0;
};

}  // namespace hrtyped

#endif  // HOTRESTART_TESTS_TYPED_TYPES_HPP
