// SPDX-License-Identifier: MIT
// Error values of hotrestart: a code, a static message and the numbers behind it, no heap.
#ifndef HOTRESTART_ERROR_HPP
#define HOTRESTART_ERROR_HPP

#include <cstddef>
#include <cstdint>

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

/// One number behind an error: which field, what was expected and what was found.
struct error_detail {
  const char* field = nullptr;
  std::uint64_t expected = 0;
  std::uint64_t found = 0;
};

/// An error value. `message` is static text; `details` carry the numbers (up to four, so that
/// an open-or-create with several differing tunables can name each one).
struct error {
  static constexpr std::size_t max_details = 4;

  errc code = errc::ok;
  const char* message = "";
  int sys_errno = 0;
  std::uint8_t detail_count = 0;
  error_detail details[max_details] = {};

  constexpr error() = default;
  constexpr error(errc c, const char* msg) : code(c), message(msg) {}
  constexpr error(errc c, const char* msg, const char* field, std::uint64_t expected,
                  std::uint64_t found)
      : code(c), message(msg), detail_count(1), details{{field, expected, found}} {}

  /// Adds one more number behind the error; extra ones beyond `max_details` are dropped.
  constexpr error& with(const char* field, std::uint64_t expected, std::uint64_t found) {
    if (detail_count < max_details) details[detail_count++] = {field, expected, found};
    return *this;
  }
  constexpr error& with_errno(int e) {
    sys_errno = e;
    return *this;
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
constexpr tl::unexpected<error> fail(errc c, const char* msg, const char* field,
                                     std::uint64_t expected, std::uint64_t found) {
  return tl::unexpected(error(c, msg, field, expected, found));
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
}  // namespace detail

/// Writes a one-line description of `e` into `buf` (always NUL-terminated), for example
/// "tunables_mismatch: the bank was created with other tunables (bank_size: expected 1048576,
/// found 2097152)". Returns the length written. Needs no heap and no stdio.
constexpr std::size_t format(const error& e, char* buf, std::size_t cap) {
  std::size_t n = detail::append(buf, cap, 0, to_string(e.code));
  n = detail::append(buf, cap, n, ": ");
  n = detail::append(buf, cap, n, e.message);
  for (std::uint8_t i = 0; i < e.detail_count && i < error::max_details; ++i) {
    n = detail::append(buf, cap, n, i == 0 ? " (" : "; ");
    n = detail::append(buf, cap, n, e.details[i].field);
    n = detail::append(buf, cap, n, ": expected ");
    n = detail::append_u64(buf, cap, n, e.details[i].expected);
    n = detail::append(buf, cap, n, ", found ");
    n = detail::append_u64(buf, cap, n, e.details[i].found);
    if (i + 1 == e.detail_count) n = detail::append(buf, cap, n, ")");
  }
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
