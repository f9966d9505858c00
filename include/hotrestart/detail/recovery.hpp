// SPDX-License-Identifier: MIT
// What a writer that died mid-operation can leave in a bank's header, for basic_bank's repair
// (bank.hpp, docs/format.md "Why a crash at any instant leaves a consistent bank"): an intent
// record that is not idle, a free_all record or its hint, the readers' sequence word odd.
#ifndef HOTRESTART_DETAIL_RECOVERY_HPP
#define HOTRESTART_DETAIL_RECOVERY_HPP

#include <cstddef>
#include <cstdint>

#include "../bank_format.hpp"
#include "journal.hpp"
#include "words.hpp"

namespace hotrestart::detail {

// The free_all record's state word: idle, or a sweep of the recorded key in progress. A
// torn word (bytes of both) is a sweep being started or ended: rolling it forward is right
// for both.
inline constexpr std::uint32_t sweep_active = 0x50455753u;  // "SWEP"
inline bool sweep_pending(const std::byte* base) {
  return load32(base, bank_format::sweep_state) != 0;
}
inline constexpr bool sweep_state_valid(std::uint32_t w) {
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t sh = 8u * static_cast<std::uint32_t>(i);
    const std::uint32_t b = (w >> sh) & 0xFFu;
    if (b != 0 && b != ((sweep_active >> sh) & 0xFFu)) return false;
  }
  return true;
}

// What a dead writer can leave for repair(): an intent record not idle, a free_all record or
// its hint, readers' sequence word odd.
inline bool needs_repair(const std::byte* base) {
  return journal::pending(base) || sweep_pending(base) ||
         load32(base, bank_format::sweep_hint) != 0 || (load32(base, bank_format::seq) & 1u) != 0;
}

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_RECOVERY_HPP
