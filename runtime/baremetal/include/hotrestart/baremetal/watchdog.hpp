// SPDX-License-Identifier: MIT
// Watchdogs for the bare-metal runtime, and how a starvation is attributed.
//
// The mechanism: tasks check in (`runtime::check_in`); the runtime feeds the watchdog only
// when every registered task has checked in since the last feed, and remembers whose check-in
// completed that set (`last_fed`). A task that stops making progress starves the feed. A
// watchdog that interrupts at its first timeout and resets at its second (the CMSDK APB
// watchdog) gives the runtime one interrupt in between: `watchdog_first_timeout` writes the
// task that was running, the tasks that had not checked in and `last_fed` into the reboot
// record's watchdog note, and returns without feeding; the second timeout resets the chip and
// the next boot reports the cause `watchdog` with that task.
#ifndef HOTRESTART_BAREMETAL_WATCHDOG_HPP
#define HOTRESTART_BAREMETAL_WATCHDOG_HPP

#include <cstdint>

namespace hotrestart::baremetal {

/// No watchdog (the default; QEMU's microbit has no watchdog model).
struct null_watchdog {
  void start(std::uint32_t, bool) {}
  void kick() {}
};

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/// Arm's CMSDK APB watchdog (the MPS2 boards; QEMU's mps2-an385 models it at 0x40008000 and
/// wires its interrupt to the NMI). It counts WDOGCLK ticks down from WDOGLOAD; at zero it
/// raises its interrupt (INTEN) and reloads; at zero again with the interrupt still raised it
/// resets the chip (RESEN). Writing WDOGINTCLR clears the interrupt and reloads the counter.
template <std::uint32_t Base = 0x40008000u>
struct cmsdk_apb_watchdog {
  static volatile std::uint32_t& reg(std::uint32_t off) {
    return *reinterpret_cast<volatile std::uint32_t*>(Base + off);
  }
  static constexpr std::uint32_t load = 0x00, control = 0x08, intclr = 0x0C, lock = 0xC00;
  static constexpr std::uint32_t unlock_key = 0x1ACCE551u;
  static constexpr std::uint32_t inten = 1u << 0, resen = 1u << 1;

  /// Starts it: `ticks` of WDOGCLK per timeout; `first_timeout_interrupt` false leaves only
  /// the reset (no attribution: the negative control of the attribution test).
  void start(std::uint32_t ticks, bool first_timeout_interrupt) {
    reg(lock) = unlock_key;
    reg(load) = ticks;
    reg(control) = resen | (first_timeout_interrupt ? inten : 0u);
    reg(lock) = 0;
  }
  void kick() {
    reg(lock) = unlock_key;
    reg(intclr) = 1;
    reg(lock) = 0;
  }
};
#endif

}  // namespace hotrestart::baremetal

#endif  // HOTRESTART_BAREMETAL_WATCHDOG_HPP
