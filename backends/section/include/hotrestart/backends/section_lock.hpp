// SPDX-License-Identifier: MIT
// Writer locks for banks in RAM that survives a warm reset (the section backend). The lock
// word lives in the bank's lock area, so a reset while it was held is seen at the next boot
// and reported as `owner_died`: the bank then repairs an interrupted operation.
#ifndef HOTRESTART_BACKENDS_SECTION_LOCK_HPP
#define HOTRESTART_BACKENDS_SECTION_LOCK_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <hotrestart/backend.hpp>
#include <hotrestart/bank_format.hpp>
#include <hotrestart/detail/words.hpp>
#include <hotrestart/error.hpp>

namespace hotrestart {

namespace detail::section {
// Layout of the lock area for the section locks (opaque to the bank format).
inline constexpr std::uint64_t lock_word = 0;   // free / held / stale
inline constexpr std::uint64_t saved_mask = 4;  // PRIMASK before the irq lock took it
inline constexpr std::uint64_t stamp_word = 8;  // which lock formatted the area
inline constexpr std::uint32_t lock_free = 0;
inline constexpr std::uint32_t lock_held = 0x444C4548u;   // "HELD"
inline constexpr std::uint32_t lock_stale = 0x44414544u;  // "DEAD": held when the chip reset
static_assert(stamp_word + 4 <= bank_format::lock_area_bytes);
}  // namespace detail::section

/// section_lock: what `basic_section_backend` asks of its lock (static members, state only in
/// the 128-byte lock area `a`, so that it needs no heap and survives a reset).
///
/// | member          | meaning                                                                |
/// |-----------------|------------------------------------------------------------------------|
/// | `L::stamp`      | u32 written in the area by `init`; an area with another stamp is reinitialised on open |
/// | `L::init(a)`    | a free lock                                                            |
/// | `L::adopt(a)`   | at open, once per boot: a lock still held belongs to the code that ran before the reset; mark it stale |
/// | `L::lock(a)`    | `acquired`, `owner_died` (it was stale), or `lock_failed` (held by code this one preempted) |
/// | `L::repaired(a)`| after owner_died                                                       |
/// | `L::unlock(a)`  |                                                                        |
template <class L>
concept section_lock = requires(std::byte* a) {
  { L::stamp } -> std::convertible_to<std::uint32_t>;
  { L::init(a) } -> std::same_as<void>;
  { L::adopt(a) } -> std::same_as<void>;
  { L::lock(a) } -> std::same_as<result<lock_outcome>>;
  { L::repaired(a) } -> std::same_as<void>;
  { L::unlock(a) } -> std::same_as<void>;
};

namespace detail::section {
inline void init_area(std::byte* a, std::uint32_t stamp) {
  for (std::uint64_t off = 0; off < bank_format::lock_area_bytes; off += 4) store32(a, off, 0);
  store32(a, stamp_word, stamp);
}
inline void adopt_area(std::byte* a, std::uint32_t stamp) {
  if (load32(a, stamp_word) != stamp) {
    init_area(a, stamp);  // made by another backend (a host-built image) or never made
    return;
  }
  const std::uint32_t w = load32(a, lock_word);
  if (w == lock_held || w == lock_stale)
    store32(a, lock_word, lock_stale);
  else if (w != lock_free)
    store32(a, lock_word, lock_free);  // garbage: nobody can hold it
}
}  // namespace detail::section

/// A lock word taken with a 32-bit compare-and-swap (LDREX/STREX on Cortex-M3/M4/M7/M33; any
/// host). It never waits: on a single core, a handler that finds the lock taken has preempted
/// its holder, which cannot run again until the handler returns, so waiting would deadlock.
/// It gets `lock_failed` instead and should retry later (from thread mode).
struct atomic_section_lock {
  /// Marks a lock area made by this lock ("SECA").
  static constexpr std::uint32_t stamp = 0x41434553u;
  /// A free lock in area `a`.
  static void init(std::byte* a) { detail::section::init_area(a, stamp); }
  /// At open, once per boot: a held lock is marked stale; another lock's area is remade.
  static void adopt(std::byte* a) { detail::section::adopt_area(a, stamp); }
  /// `acquired`, `owner_died` (stale), or `lock_failed` (held by code this code preempted).
  [[nodiscard]] static result<lock_outcome> lock(std::byte* a) {
    std::atomic_ref<std::uint32_t> w(*detail::word_ptr(a, detail::section::lock_word));
    std::uint32_t expected = detail::section::lock_free;
    if (w.compare_exchange_strong(expected, detail::section::lock_held, std::memory_order_acquire))
      return lock_outcome::acquired;
    if (expected == detail::section::lock_stale &&
        w.compare_exchange_strong(expected, detail::section::lock_held, std::memory_order_acquire))
      return lock_outcome::owner_died;
    return fail(errc::lock_failed,
                "the bank is busy: its lock is held by code that this code preempted");
  }
  /// Nothing to do: the word was taken over by `lock`.
  static void repaired(std::byte*) {}
  /// Frees the lock (a release store).
  static void unlock(std::byte* a) {
    detail::store32_release(a, detail::section::lock_word, detail::section::lock_free);
  }
};

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/// For cores without 32-bit atomics (Cortex-M0/M0+, ARMv6-M): the lock masks interrupts
/// (PRIMASK) while it is held, so nothing can preempt the holder. The lock word is still kept,
/// to see at the next boot that a reset came while it was held, and to refuse a second taker.
///
/// Not from NMI or HardFault: PRIMASK masks neither, so they can preempt a holder. Such a
/// handler gets `lock_failed` (a word held in this boot is a live holder, never a dead owner,
/// so the bank never "repairs" an operation that is still running) and must not wait for the
/// lock, which its holder cannot release until the handler returns. Record what a fault
/// handler needs in a block found before the fault, as the firmware example does.
struct irq_section_lock {
  /// Marks a lock area made by this lock ("SECI").
  static constexpr std::uint32_t stamp = 0x49434553u;
  /// A free lock in area `a`.
  static void init(std::byte* a) { detail::section::init_area(a, stamp); }
  /// At open, once per boot: a held lock is marked stale; another lock's area is remade.
  static void adopt(std::byte* a) { detail::section::adopt_area(a, stamp); }
  /// Masks interrupts, then: `acquired`, `owner_died` (stale), or `lock_failed` (held: the
  /// caller is NMI or HardFault, or holds it already), in which case the mask is as before.
  [[nodiscard]] static result<lock_outcome> lock(std::byte* a) {
    std::uint32_t mask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(mask) : : "memory");
    const std::uint32_t w = detail::load32(a, detail::section::lock_word);
    if (w == detail::section::lock_held) {
      // With interrupts masked on one core, a holder still running was preempted by NMI or
      // HardFault (or is the caller itself): refuse, and leave its saved mask alone.
      __asm__ volatile("msr primask, %0" : : "r"(mask) : "memory");
      return fail(errc::lock_failed,
                  "the bank is busy: its lock is held by code that this code preempted");
    }
    detail::store32(a, detail::section::saved_mask, mask);
    detail::store32(a, detail::section::lock_word, detail::section::lock_held);
    // Stale (marked by adopt: held when the chip reset), or garbage: an interrupted operation
    // may need its repair.
    return w == detail::section::lock_free ? lock_outcome::acquired : lock_outcome::owner_died;
  }
  /// Nothing to do: the word was taken over by `lock`.
  static void repaired(std::byte*) {}
  /// Frees the lock and restores the interrupt mask `lock` found.
  static void unlock(std::byte* a) {
    const std::uint32_t mask = detail::load32(a, detail::section::saved_mask);
    detail::store32(a, detail::section::lock_word, detail::section::lock_free);
    __asm__ volatile("msr primask, %0" : : "r"(mask) : "memory");
  }
};
static_assert(section_lock<irq_section_lock>);
#endif

static_assert(section_lock<atomic_section_lock>);

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M' && \
    !(defined(__ARM_FEATURE_LDREX) && (__ARM_FEATURE_LDREX & 4))
/// The default lock: the interrupt mask on cores without 32-bit exclusives (ARMv6-M).
using default_section_lock = irq_section_lock;
#elif defined(__arm__) && !(defined(__ARM_FEATURE_LDREX) && (__ARM_FEATURE_LDREX & 4))
#error \
    "hotrestart: this ARM core has no 32-bit exclusives and is not M-profile; supply a section_lock"
#else
/// The default lock: compare-and-swap where the core has 32-bit exclusives (and on hosts).
using default_section_lock = atomic_section_lock;
#endif

}  // namespace hotrestart

#endif  // HOTRESTART_BACKENDS_SECTION_LOCK_HPP
