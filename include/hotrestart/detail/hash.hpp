// SPDX-License-Identifier: MIT
// The bank's fixed hash function. Part of the on-disk format: changing it changes the layout
// fingerprint. Word-at-a-time over little-endian bytes, so host and MCU agree.
#ifndef HOTRESTART_DETAIL_HASH_HPP
#define HOTRESTART_DETAIL_HASH_HPP

#include <cstddef>
#include <cstdint>

namespace hotrestart::detail {

constexpr std::uint32_t rotl32(std::uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

constexpr std::uint32_t avalanche32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

/// Hashes `n` bytes. `seed` separates uses (names, keys, checksums).
constexpr std::uint32_t hash_bytes(const unsigned char* p, std::size_t n, std::uint32_t seed) {
  std::uint32_t h = seed ^ (static_cast<std::uint32_t>(n) * 0x9E3779B1u);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    std::uint32_t w =
        static_cast<std::uint32_t>(p[i]) | (static_cast<std::uint32_t>(p[i + 1]) << 8) |
        (static_cast<std::uint32_t>(p[i + 2]) << 16) | (static_cast<std::uint32_t>(p[i + 3]) << 24);
    h = rotl32(h ^ (w * 0x85EBCA77u), 13) * 0xC2B2AE3Du;
  }
  std::uint32_t tail = 0;
  for (std::size_t k = 0; i + k < n; ++k) tail |= static_cast<std::uint32_t>(p[i + k]) << (8 * k);
  h = rotl32(h ^ (tail * 0x27D4EB2Fu), 17) * 0x165667B1u;
  return avalanche32(h);
}

/// Hashes 32-bit words (header checksums).
constexpr std::uint32_t hash_words(const std::uint32_t* w, std::size_t n, std::uint32_t seed) {
  std::uint32_t h = seed ^ (static_cast<std::uint32_t>(n) * 0x9E3779B1u);
  for (std::size_t i = 0; i < n; ++i) h = rotl32(h ^ (w[i] * 0x85EBCA77u), 13) * 0xC2B2AE3Du;
  return avalanche32(h);
}

inline constexpr std::uint32_t name_seed = 0x4E414D45u;      // "NAME"
inline constexpr std::uint32_t key_seed = 0x4B455953u;       // "KEYS"
inline constexpr std::uint32_t checksum_seed = 0x43484B53u;  // "CHKS"

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_HASH_HPP
