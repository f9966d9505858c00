// SPDX-License-Identifier: MIT
// Tick sources for the bare-metal runtime: where "now" comes from, so that restart counters
// decay. A tick source has `start()` (once, at boot) and `uptime_ms()` (monotonic since start,
// safe to read in thread mode while its interrupt counts).
#ifndef HOTRESTART_BAREMETAL_TICK_HPP
#define HOTRESTART_BAREMETAL_TICK_HPP

#include <concepts>
#include <cstdint>

namespace hotrestart::baremetal {

template <class T>
concept tick_source = requires(T& t) {
  { t.start() } -> std::same_as<void>;
  { t.uptime_ms() } -> std::same_as<std::uint64_t>;
};

/// Milliseconds counted by an interrupt, as two 32-bit words (no 64-bit atomicity is assumed:
/// Cortex-M0 has none). Read high, low, high again until the high word holds still.
struct ms_counter {
  volatile std::uint32_t lo = 0, hi = 0;
  void isr() {
    const std::uint32_t l = lo + 1;
    if (l == 0) hi = hi + 1;
    lo = l;
  }
  std::uint64_t read() const {
    for (;;) {
      const std::uint32_t h = hi, l = lo;
      if (h == hi) return std::uint64_t{h} << 32 | l;
    }
  }
};
/// The count the SysTick handler (`hr_bm_systick`) keeps. In .bss: this boot only.
inline ms_counter system_ms;

/// A tick source the program advances itself: tests, and boards that count time another way
/// (an RTC) and call `advance` from their own interrupt or loop.
struct manual_tick {
  std::uint64_t now = 0;
  void start() {}
  std::uint64_t uptime_ms() const { return now; }
  void advance(std::uint64_t ms) { now += ms; }
};
static_assert(tick_source<manual_tick>);

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_TICK_HPP
