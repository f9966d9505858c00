// SPDX-License-Identifier: MIT
// Block names, media and deletion keys: their limits and validation.
#ifndef HOTRESTART_NAMES_HPP
#define HOTRESTART_NAMES_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "error.hpp"

namespace hotrestart {

/// Longest block name in bytes (any bytes but NUL, never empty). ChorusOS PmmName.name.
inline constexpr std::size_t max_name_length = 32;
/// Longest medium name in bytes; the medium names the bank ("RAM" by default, as ChorusOS).
inline constexpr std::size_t max_medium_length = 16;
/// Longest deletion key in bytes (any bytes, NUL included, as ChorusOS keysize).
inline constexpr std::size_t max_key_length = 32;
/// The medium a bank has unless its creator names another.
inline constexpr std::string_view default_medium = "RAM";
/// Names and keys that start with this are the library's own (process images, controller
/// state, group keys). Users cannot create such names, nor free every block of such a key.
inline constexpr std::string_view reserved_prefix = "__HR";

/// A block's full name: the medium selects the bank, the name the block in it.
struct block_name {
  std::string_view medium = default_medium;
  std::string_view name;
};

constexpr bool is_reserved(std::string_view s) {
  // Four bytes compared in place (a call to memcmp otherwise, on every create and free).
  static_assert(reserved_prefix.size() == 4);
  return s.size() >= 4 && s[0] == '_' && s[1] == '_' && s[2] == 'H' && s[3] == 'R';
}

/// Checks a block name's length and bytes. Returns the error naming what is wrong.
[[nodiscard]] constexpr result<void> validate_name(std::string_view name) {
  if (name.empty()) return fail(errc::name_empty, "a block name must not be empty");
  if (name.size() > max_name_length)
    return fail(error(errc::name_too_long, "block name too long")
                    .with_limit("name length", name.size(), max_name_length));
  // Eight bytes at a time (names are at most 32): a word has a zero byte when subtracting one
  // from each byte borrows into a byte whose high bit was clear. The byte is found only then.
  std::uint64_t any_zero = 0;
  std::size_t i = 0;
  if (!std::is_constant_evaluated()) {
    for (; i + 8 <= name.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, name.data() + i, 8);
      any_zero |= (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
    }
  }
  for (; i < name.size(); ++i) any_zero |= name[i] == '\0' ? 1u : 0u;
  if (any_zero != 0)
    return fail(error(errc::name_has_nul, "a block name must not contain NUL")
                    .with_value("NUL at byte", name.find('\0')));
  return {};
}

[[nodiscard]] constexpr result<void> validate_medium(std::string_view medium) {
  if (medium.empty()) return fail(errc::medium_empty, "a medium name must not be empty");
  if (medium.size() > max_medium_length)
    return fail(error(errc::medium_too_long, "medium name too long")
                    .with_limit("medium length", medium.size(), max_medium_length));
  for (std::size_t i = 0; i < medium.size(); ++i)
    if (medium[i] == '\0')
      return fail(error(errc::name_has_nul, "a medium name must not contain NUL")
                      .with_value("NUL at byte", i));
  return {};
}

[[nodiscard]] constexpr result<void> validate_key(std::string_view key) {
  if (key.size() > max_key_length)
    return fail(error(errc::key_too_long, "deletion key too long")
                    .with_limit("key length", key.size(), max_key_length));
  return {};
}

/// The deletion key of restart group `gid`: blocks created with it are freed when the group
/// terminates, and only then (free_all refuses it). Fixed size, no heap.
struct group_key {
  char bytes[24] = {};
  std::size_t size = 0;

  constexpr explicit group_key(std::uint32_t gid) {
    constexpr std::string_view prefix = "__HR_GROUP_";
    for (char c : prefix) bytes[size++] = c;
    char digits[10] = {};
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + gid % 10);
      gid /= 10;
    } while (gid != 0);
    while (n > 0) bytes[size++] = digits[--n];
  }
  constexpr std::string_view view() const { return {bytes, size}; }
  constexpr operator std::string_view() const { return view(); }
};

}  // namespace hotrestart

#endif  // HOTRESTART_NAMES_HPP
