// SPDX-License-Identifier: MIT
// The typed block header: what a typed block says it holds, in a portable, validated form.
// See docs/typed.md for the picture.
#ifndef HOTRESTART_TYPED_FORMAT_HPP
#define HOTRESTART_TYPED_FORMAT_HPP

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../detail/hash.hpp"
#include "../detail/words.hpp"
#include "../error.hpp"
#include "../names.hpp"

namespace hotrestart {

/// What a typed block holds, as the user names it (there is no RTTI): a type name of 1 to 32
/// bytes and a schema version to bump whenever the type's bytes change meaning. Give them as
/// members of T:
///
///   struct config { static constexpr std::string_view hr_type_name = "app::config";
///                   static constexpr std::uint32_t hr_schema_version = 2; ... };
///
/// or, for a type you cannot edit, by specialising `type_schema<T>` with the same two
/// members `name` and `version`.
template <class T>
struct type_schema;

namespace detail {
template <class T>
concept has_member_schema = requires {
  { T::hr_type_name } -> std::convertible_to<std::string_view>;
  { T::hr_schema_version } -> std::convertible_to<std::uint32_t>;
};
}  // namespace detail

template <class T>
requires detail::has_member_schema<T>
struct type_schema<T> {
  static constexpr std::string_view name = T::hr_type_name;
  static constexpr std::uint32_t version = T::hr_schema_version;
};

/// A type that can live in a typed block: trivially copyable (its bytes are its value, in
/// every process), default constructible, and described by a type_schema.
template <class T>
concept described_type = std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T> &&
                         !std::is_pointer_v<T> &&
                         requires {
  { type_schema<T>::name } -> std::convertible_to<std::string_view>;
  { type_schema<T>::version } -> std::convertible_to<std::uint32_t>;
};

/// Longest type name in bytes.
inline constexpr std::size_t max_type_name_length = 32;

namespace typed_format {
// Header of a typed block (offsets from the block's first byte), little-endian u32 words:
//   0 magic   4 header version   8 header bytes   12 type name hash   16 schema version
//  20 value size   24 value alignment   28 offset of slot 0   32 slot stride
//  36 type name length   40 flags (0)   44 checksum (words 1..10 and the name; the magic
//  is checked by itself)
//  48 selector: the number of completed atomic updates; slot (selector & 1) is the value
//  52..63 reserved (0)   64..95 type name, zero padded   96..127 reserved (0)
// Then two slots, each `stride` bytes, cache-line aligned (at least): the value and its
// shadow for atomic updates.
inline constexpr std::uint64_t magic = 0, version = 4, header_bytes = 8, type_hash = 12,
                               schema = 16, value_size = 20, value_align = 24, slot0 = 28,
                               stride = 32, name_len = 36, flags = 40, checksum = 44, selector = 48,
                               name = 64;
inline constexpr std::uint32_t magic_value = 0x42545248u;  // "HRTB"
inline constexpr std::uint32_t version_value = 1;
inline constexpr std::uint32_t header_size = 128;
inline constexpr std::uint32_t slot_alignment = 64;
/// Largest value a typed block holds (its two slots must fit u32 offsets).
inline constexpr std::uint64_t max_value_size = 1u << 30;
inline constexpr std::uint32_t type_seed = 0x45505954u;      // "TYPE"
inline constexpr std::uint32_t checksum_seed = 0x4B435954u;  // "TYCK"
inline constexpr std::uint32_t shadow_seed_lo = 0x57444853u, shadow_seed_hi = 0x3257444Eu;
static_assert(name + max_type_name_length <= header_size);
static_assert(selector % 4 == 0 && selector < name);
}  // namespace typed_format

/// Where a type's value sits in its typed block: computed from size and alignment alone, so
/// a reader recomputes it from the header and checks that the two agree.
struct typed_shape {
  std::uint32_t size = 0;
  std::uint32_t align = 0;
  std::uint32_t slot0 = 0;
  std::uint32_t stride = 0;
  std::uint64_t block_bytes = 0;
};

constexpr typed_shape shape_of(std::uint32_t size, std::uint32_t align) {
  typed_shape s;
  s.size = size;
  s.align = align;
  const std::uint64_t a =
      align < typed_format::slot_alignment ? typed_format::slot_alignment : align;
  s.slot0 = static_cast<std::uint32_t>((std::uint64_t{typed_format::header_size} + a - 1) / a * a);
  s.stride = static_cast<std::uint32_t>((std::uint64_t{size} + a - 1) / a * a);
  s.block_bytes = std::uint64_t{s.slot0} + 2ull * s.stride;
  return s;
}

/// A type's identity as recorded in typed headers.
struct type_desc {
  std::string_view name;
  std::uint32_t hash = 0;
  std::uint32_t version = 0;
  typed_shape shape;
};

namespace detail {
constexpr std::uint32_t hash_text(std::string_view s, std::uint32_t seed) {
  unsigned char
      buf[max_name_length > max_type_name_length ? max_name_length : max_type_name_length] = {};
  const std::size_t n = s.size() < sizeof buf ? s.size() : sizeof buf;
  for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<unsigned char>(s[i]);
  return hash_bytes(buf, n, seed);
}
}  // namespace detail

/// The identity of T (checked at compile time: a schema, a name of 1 to 32 bytes, a size the
/// format can hold).
template <class T>
consteval type_desc type_desc_of() {
  static_assert(std::is_trivially_copyable_v<T>,
                "a typed block holds a trivially copyable type: its bytes are its value");
  static_assert(std::is_default_constructible_v<T>, "a typed block's type needs a default value");
  static_assert(!std::is_pointer_v<T>,
                "a raw pointer means nothing in another process: use hotrestart::offset_ptr");
  static_assert(described_type<T>,
                "describe the type: give it static constexpr members hr_type_name "
                "(std::string_view) and hr_schema_version (std::uint32_t), or specialise "
                "hotrestart::type_schema<T> with `name` and `version`");
  constexpr std::string_view name = type_schema<T>::name;
  static_assert(!name.empty() && name.size() <= max_type_name_length,
                "a type name has 1 to 32 bytes");
  static_assert(sizeof(T) <= typed_format::max_value_size, "typed values are limited to 1 GiB");
  type_desc d;
  d.name = name;
  d.hash = detail::hash_text(name, typed_format::type_seed);
  d.version = type_schema<T>::version;
  d.shape = shape_of(static_cast<std::uint32_t>(sizeof(T)), static_cast<std::uint32_t>(alignof(T)));
  return d;
}

/// What a typed block's header says, after validation.
struct typed_info {
  std::string_view type_name;  ///< points into the block
  std::uint32_t type_hash = 0;
  std::uint32_t schema_version = 0;
  typed_shape shape;
  std::uint32_t generation = 0;  ///< completed atomic updates (wraps)
};

namespace detail {

inline std::uint32_t typed_checksum(const std::byte* blk) {
  std::uint32_t w[10 + max_type_name_length / 4] = {};
  for (std::uint32_t i = 0; i < 10; ++i) w[i] = load32(blk, 4ull * (i + 1));
  for (std::uint32_t i = 0; i < max_type_name_length / 4; ++i)
    w[10 + i] = load32(blk, typed_format::name + 4ull * i);
  return hash_words(w, sizeof w / sizeof w[0], typed_format::checksum_seed);
}

/// Writes a complete header for `d` into a block whose slots are already written. The magic
/// goes last, with release order: a header without its magic is no typed block.
inline void write_typed_header(std::byte* blk, const type_desc& d) {
  store32(blk, typed_format::magic, 0);
  compiler_order();
  store32(blk, typed_format::version, typed_format::version_value);
  store32(blk, typed_format::header_bytes, typed_format::header_size);
  store32(blk, typed_format::type_hash, d.hash);
  store32(blk, typed_format::schema, d.version);
  store32(blk, typed_format::value_size, d.shape.size);
  store32(blk, typed_format::value_align, d.shape.align);
  store32(blk, typed_format::slot0, d.shape.slot0);
  store32(blk, typed_format::stride, d.shape.stride);
  store32(blk, typed_format::name_len, static_cast<std::uint32_t>(d.name.size()));
  store32(blk, typed_format::flags, 0);
  store32(blk, typed_format::selector, 0);
  for (std::uint32_t i = 52; i < typed_format::name; i += 4) store32(blk, i, 0);
  for (std::uint32_t i = 0; i < max_type_name_length / 4; ++i) {
    std::uint32_t w = 0;
    for (std::uint32_t k = 0; k < 4; ++k) {
      const std::size_t at = 4ull * i + k;
      if (at < d.name.size())
        w |= static_cast<std::uint32_t>(static_cast<unsigned char>(d.name[at])) << (8 * k);
    }
    store32(blk, typed_format::name + 4ull * i, w);
  }
  store32(blk, typed_format::checksum, typed_checksum(blk));
  compiler_order();
  store32_release(blk, typed_format::magic, typed_format::magic_value);
}

/// The exact immutable header words a block holding `d` carries (words 0..11, the name):
/// a header equal to it word for word is valid for `d` without parsing or hashing it.
struct typed_image {
  std::uint32_t head[12] = {};
  std::uint32_t name[max_type_name_length / 4] = {};
};

constexpr typed_image image_of(const type_desc& d) {
  typed_image im;
  im.head[0] = typed_format::magic_value;
  im.head[1] = typed_format::version_value;
  im.head[2] = typed_format::header_size;
  im.head[3] = d.hash;
  im.head[4] = d.version;
  im.head[5] = d.shape.size;
  im.head[6] = d.shape.align;
  im.head[7] = d.shape.slot0;
  im.head[8] = d.shape.stride;
  im.head[9] = static_cast<std::uint32_t>(d.name.size());
  im.head[10] = 0;
  for (std::size_t i = 0; i < d.name.size() && i < max_type_name_length; ++i)
    im.name[i / 4] |= static_cast<std::uint32_t>(static_cast<unsigned char>(d.name[i]))
                      << (8 * (i % 4));
  std::uint32_t w[10 + max_type_name_length / 4] = {};
  for (std::uint32_t i = 0; i < 10; ++i) w[i] = im.head[i + 1];
  for (std::uint32_t i = 0; i < max_type_name_length / 4; ++i) w[10 + i] = im.name[i];
  im.head[11] = hash_words(w, sizeof w / sizeof w[0], typed_format::checksum_seed);
  return im;
}

/// The fast check of a block found by name: its header is exactly `im` and the block holds
/// both slots. Anything else goes through read_typed_header for a precise error.
inline bool matches_image(const std::byte* blk, std::uint64_t capacity, const typed_image& im,
                          std::uint64_t block_bytes) {
  if (blk == nullptr || capacity < block_bytes) return false;
  if (load32_acquire(blk, typed_format::magic) != im.head[0]) return false;
  std::uint32_t diff = 0;
  for (std::uint32_t i = 1; i < 12; ++i) diff |= load32(blk, 4ull * i) ^ im.head[i];
  for (std::uint32_t i = 0; i < max_type_name_length / 4; ++i)
    diff |= load32(blk, typed_format::name + 4ull * i) ^ im.name[i];
  return diff == 0;
}

/// Validates the header of an untrusted block of `capacity` bytes, whatever type it holds.
/// Errors: type_mismatch (no typed header at all: a raw block), corrupt (a header that is
/// damaged or inconsistent with itself or with the block).
[[nodiscard]] inline result<typed_info> read_typed_header(const std::byte* blk,
                                                          std::uint64_t capacity) {
  if (blk == nullptr || capacity < typed_format::header_size)
    return fail(error(errc::type_mismatch, "block is too small to be a typed block")
                    .with_minimum("bytes", capacity, typed_format::header_size));
  const std::uint32_t magic = load32_acquire(blk, typed_format::magic);
  if (magic != typed_format::magic_value)
    return fail(error(errc::type_mismatch, "block holds no typed header (a raw block?)")
                    .with_expected_hex("magic", typed_format::magic_value, magic));
  if (load32(blk, typed_format::version) != typed_format::version_value)
    return fail(error(errc::version_mismatch, "typed header written by another format version")
                    .with_expected("typed header version", typed_format::version_value,
                                   load32(blk, typed_format::version)));
  const std::uint32_t sum = typed_checksum(blk);
  if (sum != load32(blk, typed_format::checksum))
    return fail(error(errc::corrupt, "typed header checksum mismatch")
                    .with_expected_hex("checksum", load32(blk, typed_format::checksum), sum));
  if (load32(blk, typed_format::header_bytes) != typed_format::header_size)
    return fail(error(errc::corrupt, "typed header size is wrong")
                    .with_expected("header bytes", typed_format::header_size,
                                   load32(blk, typed_format::header_bytes)));
  typed_info info;
  const std::uint32_t size = load32(blk, typed_format::value_size);
  const std::uint32_t align = load32(blk, typed_format::value_align);
  const std::uint32_t nlen = load32(blk, typed_format::name_len);
  if (size == 0 || size > typed_format::max_value_size)
    return fail(error(errc::corrupt, "typed header's value size out of range")
                    .with_range("value size", size, 1, typed_format::max_value_size));
  if (align == 0 || (align & (align - 1)) != 0 || align > (1u << 20))
    return fail(error(errc::corrupt, "typed header's alignment is not a power of two up to 1 MiB")
                    .with_value("alignment", align));
  if (nlen == 0 || nlen > max_type_name_length)
    return fail(error(errc::corrupt, "typed header's type name length out of range")
                    .with_range("type name length", nlen, 1, max_type_name_length));
  if (load32(blk, typed_format::flags) != 0)
    return fail(error(errc::corrupt, "typed header has unknown flags")
                    .with_hex("unknown flags", load32(blk, typed_format::flags)));
  info.shape = shape_of(size, align);
  if (load32(blk, typed_format::slot0) != info.shape.slot0 ||
      load32(blk, typed_format::stride) != info.shape.stride)
    return fail(
        error(errc::corrupt, "typed header's slots disagree with its size and alignment")
            .with_expected("slot 0 offset", info.shape.slot0, load32(blk, typed_format::slot0)));
  if (info.shape.block_bytes > capacity)
    return fail(error(errc::corrupt, "typed header's slots exceed the block")
                    .with_limit("slot bytes", info.shape.block_bytes, capacity));
  if (reinterpret_cast<std::uintptr_t>(blk + info.shape.slot0) % align != 0)
    return fail(error(errc::corrupt, "block is not aligned for its value")
                    .with_value("alignment", align)
                    .with_hex("address", reinterpret_cast<std::uintptr_t>(blk + info.shape.slot0)));
  info.type_name = {reinterpret_cast<const char*>(blk + typed_format::name), nlen};
  info.type_hash = load32(blk, typed_format::type_hash);
  info.schema_version = load32(blk, typed_format::schema);
  info.generation = load32_acquire(blk, typed_format::selector);
  return info;
}

/// Does a validated header hold exactly `d`? Errors: type_mismatch (another type name),
/// schema_mismatch (another version, or the same version with another size or alignment).
[[nodiscard]] inline result<void> match_type(const typed_info& info, const type_desc& d) {
  if (info.type_hash != d.hash || info.type_name != d.name)
    return fail(error(errc::type_mismatch, "block holds another type (type name differs)")
                    .with_expected_hex("type name hash", d.hash, info.type_hash));
  if (info.schema_version != d.version)
    return fail(error(errc::schema_mismatch,
                      "block holds another schema version of this type and no migration "
                      "from it was given")
                    .with_expected("schema version", d.version, info.schema_version)
                    .with_expected("value size", d.shape.size, info.shape.size));
  if (info.shape.size != d.shape.size || info.shape.align != d.shape.align)
    return fail(error(errc::schema_mismatch,
                      "same type name and schema version but another size or alignment: "
                      "bump the schema version when the type changes")
                    .with_expected("value size", d.shape.size, info.shape.size)
                    .with_expected("alignment", d.shape.align, info.shape.align));
  return {};
}

/// The reserved name under which a new value of block `name` is built before it replaces the
/// old one: "__HR~" + 16 hex digits of a 64-bit hash of the full name + "~" + the name's
/// first 10 bytes (for people reading a block list). Always 32 bytes or fewer.
struct shadow_name {
  char bytes[max_name_length] = {};
  std::size_t size = 0;
  constexpr std::string_view view() const { return {bytes, size}; }
};

constexpr shadow_name make_shadow_name(std::string_view name) {
  constexpr std::string_view prefix = "__HR~";
  constexpr char hex[] = "0123456789abcdef";
  shadow_name s;
  for (char c : prefix) s.bytes[s.size++] = c;
  const std::uint64_t h = (std::uint64_t{hash_text(name, typed_format::shadow_seed_hi)} << 32) |
                          hash_text(name, typed_format::shadow_seed_lo);
  for (int i = 15; i >= 0; --i) s.bytes[s.size++] = hex[(h >> (4 * i)) & 0xFu];
  s.bytes[s.size++] = '~';
  for (std::size_t i = 0; i < name.size() && s.size < max_name_length; ++i)
    s.bytes[s.size++] = name[i];
  return s;
}
static_assert(make_shadow_name("0123456789012345678901234567890x").size == max_name_length);

}  // namespace detail
}  // namespace hotrestart

#endif  // HOTRESTART_TYPED_FORMAT_HPP
