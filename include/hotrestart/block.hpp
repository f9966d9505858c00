// SPDX-License-Identifier: MIT
// What a bank hands out: a block in this process's mapping, a block's description for
// for_each, the bank's statistics; and the tag of the runtime's own calls.
#ifndef HOTRESTART_BLOCK_HPP
#define HOTRESTART_BLOCK_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace hotrestart {

/// A block as the caller sees it: its bytes in this process's mapping.
struct block {
  std::byte* data = nullptr;
  std::uint64_t size = 0;      ///< bytes asked for when the block was created
  std::uint64_t capacity = 0;  ///< whole pages: what the caller may use
  bool created = false;        ///< true on the call that created it (zero-filled)

  std::span<std::byte> bytes() const { return {data, static_cast<std::size_t>(capacity)}; }
};

/// A block as `for_each` describes it. The views point into the bank.
struct block_info {
  std::string_view name;
  std::string_view key;
  std::uint32_t index = 0;   ///< registry entry
  std::uint64_t offset = 0;  ///< from the start of the bank
  std::uint64_t size = 0;
  std::uint64_t capacity = 0;
};

struct bank_stats {
  std::uint64_t bank_size = 0;  ///< bytes available to blocks
  std::uint64_t overhead = 0;   ///< bytes of header and tables on top of bank_size
  std::uint64_t used = 0;       ///< bytes in blocks (whole pages)
  std::uint64_t free = 0;
  std::uint64_t largest_free = 0;  ///< largest block that can still be created, in bytes
  std::uint32_t blocks = 0;
  std::uint32_t max_blocks = 0;
  std::uint32_t page_size = 0;
};

namespace detail {
/// Lets the library's own runtime use reserved names and group keys (`__HR...`): the tag of
/// the overloads that the runtime (hrctl, the controller's store, typed blocks) calls. Not for
/// applications: it is in `detail` on purpose.
struct internal_access_t {
  explicit internal_access_t() = default;
};
inline constexpr internal_access_t internal_access{};
}  // namespace detail

}  // namespace hotrestart

#endif  // HOTRESTART_BLOCK_HPP
