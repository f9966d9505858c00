// SPDX-License-Identifier: MIT
// Error values of hotrestart: a code, a static message and the numbers behind it, no heap.
#ifndef HOTRESTART_ERROR_HPP
#define HOTRESTART_ERROR_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

namespace hotrestart {

/// Every way an operation of the library can fail. The numeric values are stable: tools print
/// them and tests compare them.
enum class errc : std::uint16_t {
  ok = 0,  ///< no error
  // Arguments: names, keys, sizes, tunables.
  name_empty = 1,   ///< a block name of zero bytes
  name_too_long,    ///< a block name longer than 32 bytes
  name_has_nul,     ///< a block name containing a NUL byte
  name_reserved,    ///< a name starting with `__HR` (the library's own blocks)
  medium_empty,     ///< a medium of zero bytes
  medium_too_long,  ///< a medium longer than 16 bytes
  unknown_medium,   ///< a medium that this bank does not serve
  key_too_long,     ///< a deletion key longer than 32 bytes
  key_reserved,     ///< the empty key or a group's key given to `free_all`
  bad_size,         ///< a size, alignment or pointer that does not fit (empty block...)
  bad_tunables,     ///< tunables out of range (bank size, block count, page size, medium)
  // Blocks.
  not_found = 20,      ///< no block (or bank, or object) of that name
  size_exceeds_block,  ///< an existing block is smaller than the size asked for
  bank_full,           ///< no free extent large enough for the block
  block_table_full,    ///< `max_blocks` blocks exist already
  // A bank that is not what we expect (nothing read from a bank is trusted unchecked).
  not_a_bank = 40,    ///< the bytes do not start with a bank header (wrong magic)
  version_mismatch,   ///< a bank of another format version
  layout_mismatch,    ///< a bank from a build with another layout or policies (fingerprint)
  truncated,          ///< fewer bytes than the bank's header says it has
  corrupt,            ///< an inconsistency found while validating (offsets, links, checksums)
  tunables_mismatch,  ///< open_or_create found a bank with other tunables (each difference named)
  creation_interrupted,  ///< the bank's creator died before the bank was ready
  // The system underneath a backend.
  io_error = 60,     ///< a system call failed (`sys_errno` says which error)
  already_exists,    ///< create found a bank there already
  not_regular_file,  ///< the path names something other than a regular file
  lock_failed,       ///< the bank's lock could not be taken
  untrusted_file,    ///< another user owns, or may write or replace, the bank (docs/security.md)
  // Hot Restart Controller.
  group_limit = 80,   ///< `max_groups` groups exist already
  process_limit,      ///< `max_processes` processes are registered already
  unknown_group,      ///< no group with that id
  bad_group_id,       ///< a group id outside 0 .. max_groups - 1
  duplicate_process,  ///< a process of that name exists in the group already
  unknown_process,    ///< no process of that name or id
  group_not_running,  ///< the group is terminating
  not_permitted,      ///< the caller may not do this (e.g. not a restartable process)
  // Typed blocks.
  type_mismatch = 100,  ///< a typed block holds another type, or no typed header
  schema_mismatch,      ///< another schema version or size; or a migration refused it
};

/// How the numbers behind an error read: each kind has one wording, so that every site says
/// what it means (docs/api.md, "Error details"). `a` and `b` are the detail's two numbers.
enum class detail_kind : std::uint8_t {
  none = 0,             ///< an empty slot
  value,                ///< one number: "group 7" (a)
  hex_value,            ///< one hex number: "flags 0x10" (a)
  expected_found,       ///< "format version: expected 3, found 4" (a expected, b found)
  expected_found_hex,   ///< magic, hashes, checksums: "magic: expected 0x4852, found 0x7878"
  requested_available,  ///< "5 pages requested, 1 free (largest free extent)" (a, b, note)
  out_of_range,         ///< "max_blocks 0 is outside 1..4194304" (a value, b low, then high)
  over_limit,           ///< "key length 40 is over the limit of 32" (a value, b limit)
  under_minimum,        ///< "file bytes 10 is under the minimum of 4096" (a value, b minimum)
  given_recorded,       ///< "max_blocks: 128 given, the bank has 64" (a given, b recorded)
  names,                ///< two short names: `bank medium "mmap", this build expects "shm"`
  continued,            ///< the second slot of the detail before it (its note, bound or name)
};

/// One slot of numbers behind an error; `error::kinds` says how it reads. A detail of kind
/// requested_available with a note, out_of_range or names takes two slots, the second of kind
/// `continued`. A name (names) is stored inline in `a` and `b`, up to 16 bytes.
struct error_detail {
  const char* field = nullptr;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
};

namespace detail {
// A name of up to 16 bytes packed into two words, byte i in bits 8 * (i % 8) of word i / 8.
constexpr void pack_name(const char* s, std::size_t n, std::uint64_t& a, std::uint64_t& b) {
  a = b = 0;
  for (std::size_t i = 0; i < n && i < 16; ++i)
    (i < 8 ? a : b) |= std::uint64_t{static_cast<unsigned char>(s[i])} << (8 * (i % 8));
}
}  // namespace detail

/// A name unpacked from a detail, NUL-terminated.
struct detail_name {
  char text[17] = {};
};
constexpr detail_name name_of(const error_detail& d) {
  detail_name n;
  for (std::size_t i = 0; i < 16; ++i)
    n.text[i] = static_cast<char>(((i < 8 ? d.a : d.b) >> (8 * (i % 8))) & 0xFF);
  return n;
}

/// An error value. `message` is static text; up to four detail slots carry the numbers (so
/// that an open-or-create with several differing tunables can name each one). Build one with
/// the `with_...` calls: `fail(error(errc::bank_full, "...").with_requested("pages", 5, 1))`.
struct error {
  static constexpr std::size_t max_details = 4;

  errc code = errc::ok;
  std::uint8_t detail_count = 0;  ///< slots used, continuation slots included
  bool details_dropped = false;   ///< a detail did not fit; describe() says so
  detail_kind kinds[max_details] = {};
  const char* message = "";
  int sys_errno = 0;
  /// The padding before `details`, named and zeroed: a copy reads no indeterminate byte.
  std::uint32_t reserved = 0;
  error_detail details[max_details] = {};

  constexpr error() = default;
  constexpr error(errc c, const char* msg) : code(c), message(msg) {}

  /// One number: "group 7".
  constexpr error& with_value(const char* field, std::uint64_t v) {
    return add(detail_kind::value, {field, v, 0});
  }
  /// One number in hex (flags, addresses): "flags 0x10".
  constexpr error& with_hex(const char* field, std::uint64_t v) {
    return add(detail_kind::hex_value, {field, v, 0});
  }
  /// A value that must equal another (versions, counters): "state: expected 3, found 1".
  constexpr error& with_expected(const char* field, std::uint64_t expected, std::uint64_t found) {
    return add(detail_kind::expected_found, {field, expected, found});
  }
  /// The same for magic numbers, hashes and checksums, printed in hex.
  constexpr error& with_expected_hex(const char* field, std::uint64_t expected,
                                     std::uint64_t found) {
    return add(detail_kind::expected_found_hex, {field, expected, found});
  }
  /// An amount asked against what there is: "5 pages requested, 1 free (largest free
  /// extent)"; `unit` is "pages", `available_as` what the second number is ("available" if
  /// null).
  constexpr error& with_requested(const char* unit, std::uint64_t requested,
                                  std::uint64_t available, const char* available_as = nullptr) {
    if (available_as == nullptr)
      return add(detail_kind::requested_available, {unit, requested, available});
    return add2(detail_kind::requested_available, {unit, requested, available},
                {available_as, 0, 0});
  }
  /// A value outside its allowed range: "max_blocks 0 is outside 1..4194304".
  constexpr error& with_range(const char* field, std::uint64_t v, std::uint64_t low,
                              std::uint64_t high) {
    return add2(detail_kind::out_of_range, {field, v, low}, {nullptr, high, 0});
  }
  /// A value over its upper limit: "key length 40 is over the limit of 32".
  constexpr error& with_limit(const char* field, std::uint64_t v, std::uint64_t limit) {
    return add(detail_kind::over_limit, {field, v, limit});
  }
  /// A value under its lower limit: "file bytes 10 is under the minimum of 4096".
  constexpr error& with_minimum(const char* field, std::uint64_t v, std::uint64_t minimum) {
    return add(detail_kind::under_minimum, {field, v, minimum});
  }
  /// A setting given by the caller against the one a bank records: "max_blocks: 128 given, the
  /// bank has 64".
  constexpr error& with_given(const char* field, std::uint64_t given, std::uint64_t recorded) {
    return add(detail_kind::given_recorded, {field, given, recorded});
  }
  /// Two names of up to 16 bytes each (media), each after its label: `bank medium "mmap",
  /// this build expects "shm"`.
  constexpr error& with_names(const char* label1, std::string_view name1, const char* label2,
                              std::string_view name2) {
    error_detail first{label1, 0, 0}, second{label2, 0, 0};
    detail::pack_name(name1.data(), name1.size(), first.a, first.b);
    detail::pack_name(name2.data(), name2.size(), second.a, second.b);
    return add2(detail_kind::names, first, second);
  }
  constexpr error& with_errno(int e) {
    sys_errno = e;
    return *this;
  }

  /// The first detail of `kind` whose field is `field`, or null.
  constexpr const error_detail* find(detail_kind kind, std::string_view field) const {
    for (std::uint8_t i = 0; i < detail_count && i < max_details; ++i)
      if (kinds[i] == kind && details[i].field != nullptr && field == details[i].field)
        return &details[i];
    return nullptr;
  }

 private:
  // Details that do not fit are dropped whole (never half of a two-slot one) and noted.
  constexpr error& add(detail_kind k, error_detail d) {
    if (detail_count >= max_details) {
      details_dropped = true;
      return *this;
    }
    kinds[detail_count] = k;
    details[detail_count++] = d;
    return *this;
  }
  constexpr error& add2(detail_kind k, error_detail d, error_detail rest) {
    if (std::size_t{detail_count} + 2 > max_details) {
      details_dropped = true;
      return *this;
    }
    add(k, d);
    return add(detail_kind::continued, rest);
  }
};

// An error travels whole, its details inline (no heap, nothing owned elsewhere): about 128
// bytes of result<T>, written only on failure (docs/api.md, "Why result<T> is about 128 bytes").
static_assert(sizeof(error) <= 128, "error grew: see docs/api.md before making it larger");

/// What every fallible call returns. Every function returning it is [[nodiscard]]
/// (tests/compile_fail/nodiscard.cpp): Debian's tl-expected 1.0.0 does not mark the type.
template <class T>
using result = tl::expected<T, error>;

/// Shorthand for returning an error from a function that returns `result<T>`.
constexpr tl::unexpected<error> fail(errc c, const char* msg) {
  return tl::unexpected(error(c, msg));
}
constexpr tl::unexpected<error> fail(const error& e) {
  return tl::unexpected(e);
}

/// The code's name, as tools print it ("bank_full"). Never null.
constexpr const char* to_string(errc c) {
  switch (c) {
    case errc::ok: return "ok";
    case errc::name_empty: return "name_empty";
    case errc::name_too_long: return "name_too_long";
    case errc::name_has_nul: return "name_has_nul";
    case errc::name_reserved: return "name_reserved";
    case errc::medium_empty: return "medium_empty";
    case errc::medium_too_long: return "medium_too_long";
    case errc::unknown_medium: return "unknown_medium";
    case errc::key_too_long: return "key_too_long";
    case errc::key_reserved: return "key_reserved";
    case errc::bad_size: return "bad_size";
    case errc::bad_tunables: return "bad_tunables";
    case errc::not_found: return "not_found";
    case errc::size_exceeds_block: return "size_exceeds_block";
    case errc::bank_full: return "bank_full";
    case errc::block_table_full: return "block_table_full";
    case errc::not_a_bank: return "not_a_bank";
    case errc::version_mismatch: return "version_mismatch";
    case errc::layout_mismatch: return "layout_mismatch";
    case errc::truncated: return "truncated";
    case errc::corrupt: return "corrupt";
    case errc::tunables_mismatch: return "tunables_mismatch";
    case errc::creation_interrupted: return "creation_interrupted";
    case errc::io_error: return "io_error";
    case errc::already_exists: return "already_exists";
    case errc::not_regular_file: return "not_regular_file";
    case errc::lock_failed: return "lock_failed";
    case errc::untrusted_file: return "untrusted_file";
    case errc::group_limit: return "group_limit";
    case errc::process_limit: return "process_limit";
    case errc::unknown_group: return "unknown_group";
    case errc::bad_group_id: return "bad_group_id";
    case errc::duplicate_process: return "duplicate_process";
    case errc::unknown_process: return "unknown_process";
    case errc::group_not_running: return "group_not_running";
    case errc::not_permitted: return "not_permitted";
    case errc::type_mismatch: return "type_mismatch";
    case errc::schema_mismatch: return "schema_mismatch";
  }
  return "unknown_error";
}

namespace detail {
// Appends text to a bounded buffer, always NUL-terminated; returns the new length.
constexpr std::size_t append(char* buf, std::size_t cap, std::size_t len, const char* s) {
  while (s != nullptr && *s != '\0' && len + 1 < cap) buf[len++] = *s++;
  if (cap != 0) buf[len < cap ? len : cap - 1] = '\0';
  return len;
}
constexpr std::size_t append_u64(char* buf, std::size_t cap, std::size_t len, std::uint64_t v) {
  char digits[21] = {};
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char text[21] = {};
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  return append(buf, cap, len, text);
}
constexpr std::size_t append_hex(char* buf, std::size_t cap, std::size_t len, std::uint64_t v) {
  char text[19] = {'0', 'x'};
  int n = 0;
  for (std::uint64_t w = v; w != 0 || n == 0; w >>= 4) ++n;
  for (int i = 0; i < n; ++i) text[2 + i] = "0123456789abcdef"[(v >> (4 * (n - 1 - i))) & 0xF];
  return append(buf, cap, len, text);
}
constexpr std::size_t append_name(char* buf, std::size_t cap, std::size_t len,
                                  const error_detail& d) {
  len = append(buf, cap, len, "\"");
  len = append(buf, cap, len, name_of(d).text);
  return append(buf, cap, len, "\"");
}
// One detail (and its continuation slot `rest`, when its kind has one) in its kind's wording.
constexpr std::size_t append_detail(char* buf, std::size_t cap, std::size_t n, detail_kind k,
                                    const error_detail& d, const error_detail* rest) {
  const char* field = d.field != nullptr ? d.field : "value";
  switch (k) {
    case detail_kind::none:
    case detail_kind::continued: return n;
    case detail_kind::value:
    case detail_kind::hex_value:
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, " ");
      return k == detail_kind::value ? append_u64(buf, cap, n, d.a) : append_hex(buf, cap, n, d.a);
    case detail_kind::expected_found:
    case detail_kind::expected_found_hex: {
      const bool hex = k == detail_kind::expected_found_hex;
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, ": expected ");
      n = hex ? append_hex(buf, cap, n, d.a) : append_u64(buf, cap, n, d.a);
      n = append(buf, cap, n, ", found ");
      return hex ? append_hex(buf, cap, n, d.b) : append_u64(buf, cap, n, d.b);
    }
    case detail_kind::requested_available:
      n = append_u64(buf, cap, n, d.a);
      n = append(buf, cap, n, " ");
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, " requested, ");
      n = append_u64(buf, cap, n, d.b);
      n = append(buf, cap, n, " ");
      return append(buf, cap, n,
                    rest != nullptr && rest->field != nullptr ? rest->field : "available");
    case detail_kind::out_of_range:
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, " ");
      n = append_u64(buf, cap, n, d.a);
      n = append(buf, cap, n, " is outside ");
      n = append_u64(buf, cap, n, d.b);
      n = append(buf, cap, n, "..");
      return append_u64(buf, cap, n, rest != nullptr ? rest->a : 0);
    case detail_kind::over_limit:
    case detail_kind::under_minimum:
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, " ");
      n = append_u64(buf, cap, n, d.a);
      n = append(
          buf, cap, n,
          k == detail_kind::over_limit ? " is over the limit of " : " is under the minimum of ");
      return append_u64(buf, cap, n, d.b);
    case detail_kind::given_recorded:
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, ": ");
      n = append_u64(buf, cap, n, d.a);
      n = append(buf, cap, n, " given, the bank has ");
      return append_u64(buf, cap, n, d.b);
    case detail_kind::names:
      n = append(buf, cap, n, field);
      n = append(buf, cap, n, " ");
      n = append_name(buf, cap, n, d);
      if (rest == nullptr) return n;
      n = append(buf, cap, n, ", ");
      if (rest->field != nullptr) n = append(buf, cap, n, rest->field);
      n = append(buf, cap, n, " ");
      return append_name(buf, cap, n, *rest);
  }
  return n;
}
}  // namespace detail

/// Writes a one-line description of `e` into `buf` (always NUL-terminated): the code's name,
/// the message, then the details in parentheses, each in its kind's wording, for example
/// "bank_full: no free extent holds the block (5 pages requested, 1 free (largest free
/// extent))". Returns the length written. Needs no heap and no stdio.
constexpr std::size_t format(const error& e, char* buf, std::size_t cap) {
  std::size_t n = detail::append(buf, cap, 0, to_string(e.code));
  n = detail::append(buf, cap, n, ": ");
  n = detail::append(buf, cap, n, e.message);
  bool first = true;
  const std::size_t count =
      e.detail_count < error::max_details ? e.detail_count : error::max_details;
  for (std::size_t i = 0; i < count; ++i) {
    if (e.kinds[i] == detail_kind::continued || e.kinds[i] == detail_kind::none) continue;
    const bool has_rest = i + 1 < count && e.kinds[i + 1] == detail_kind::continued;
    n = detail::append(buf, cap, n, first ? " (" : "; ");
    first = false;
    n = detail::append_detail(buf, cap, n, e.kinds[i], e.details[i],
                              has_rest ? &e.details[i + 1] : nullptr);
  }
  if (e.details_dropped)
    n = detail::append(buf, cap, n, first ? " (more not shown" : "; more not shown");
  if (!first || e.details_dropped) n = detail::append(buf, cap, n, ")");
  if (e.sys_errno != 0) {
    n = detail::append(buf, cap, n, " [errno ");
    n = detail::append_u64(buf, cap, n, static_cast<std::uint64_t>(e.sys_errno));
    n = detail::append(buf, cap, n, "]");
  }
  return n;
}

/// A formatted error in a fixed buffer, for printing: `std::puts(describe(e).text)`.
struct error_text {
  char text[384] = {};
};
constexpr error_text describe(const error& e) {
  error_text t;
  format(e, t.text, sizeof t.text);
  return t;
}

}  // namespace hotrestart

#endif  // HOTRESTART_ERROR_HPP
