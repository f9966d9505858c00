// SPDX-License-Identifier: MIT
// Hang detection's clock arithmetic, apart from the clock (tests inject one). A run is hung
// once it has given no sign of life (its start, or its last heartbeat) for longer than its
// group's deadline; the supervisor's loop never sleeps past the moment the first watched run
// would become hung, so a hang is acted on at deadline + 1 ms of the supervisor's own
// scheduling, plus however late the kernel wakes it (docs/hrctl.md, "Heartbeats").
#ifndef HRCTL_HEARTBEAT_HPP
#define HRCTL_HEARTBEAT_HPP

#include <algorithm>
#include <cstdint>
#include <span>

namespace hrctl {

/// A run watched for hangs.
struct hang_watch {
  std::uint64_t last_ms;      ///< its last sign of life (start or heartbeat), monotonic ms
  std::uint64_t deadline_ms;  ///< its group's heartbeat deadline (> 0)
};

/// Hung at `now`: no sign of life for more than the deadline.
constexpr bool hung(const hang_watch& w, std::uint64_t now) {
  return now > w.last_ms + w.deadline_ms;
}

/// How long the loop may wait from `now` before the first of `watches` becomes hung (0: one
/// is hung already), at most `cap`.
constexpr std::uint64_t wait_before_hang(std::span<const hang_watch> watches, std::uint64_t now,
                                         std::uint64_t cap) {
  std::uint64_t wait = cap;
  for (const hang_watch& w : watches) {
    const std::uint64_t hung_at = w.last_ms + w.deadline_ms + 1;
    wait = std::min(wait, hung_at > now ? hung_at - now : 0);
  }
  return wait;
}

}  // namespace hrctl

#endif  // HRCTL_HEARTBEAT_HPP
