// SPDX-License-Identifier: MIT
// The controller's only way to free persistent memory: a block store supplied by the runtime
// (the bank, later), called with group ids and image references, never with addresses.
#ifndef HOTRESTART_POLICIES_BLOCK_STORE_HPP
#define HOTRESTART_POLICIES_BLOCK_STORE_HPP

#include <concepts>
#include <cstdint>

#include "../error.hpp"

namespace hotrestart {

/// block_store
///
// clang-format off
/// | member                                   | meaning                                          |
/// |------------------------------------------|--------------------------------------------------|
/// | `s.free_group_blocks(gid)` -> `result<std::uint32_t>` | frees every block created with the group key of `gid`; the number freed |
/// | `s.free_process_image(gid, image)` -> `result<void>`  | frees the image block a member was run from |
// clang-format on
///
/// Both may be called again for the same argument after a crash of the controller between the
/// call and the record of its completion: they must be idempotent. `errc::not_found` means
/// "already freed" and counts as success. Any other error leaves the termination (or the
/// discard) pending; the controller retries it at the next `resume` or event.
template <class S>
concept block_store = requires(S& s, std::uint32_t gid, std::uint32_t image) {
  { s.free_group_blocks(gid) } -> std::same_as<result<std::uint32_t>>;
  { s.free_process_image(gid, image) } -> std::same_as<result<void>>;
};

/// A store that owns nothing (a runtime without persistent images, and examples).
struct null_block_store {
  [[nodiscard]] result<std::uint32_t> free_group_blocks(std::uint32_t) { return 0u; }
  [[nodiscard]] result<void> free_process_image(std::uint32_t, std::uint32_t) { return {}; }
};
static_assert(block_store<null_block_store>);

}  // namespace hotrestart

#endif  // HOTRESTART_POLICIES_BLOCK_STORE_HPP
