// SPDX-License-Identifier: MIT
// Build-wide settings of hotrestart: the assertion hook and the checks on the target.
#ifndef HOTRESTART_CONFIG_HPP
#define HOTRESTART_CONFIG_HPP

#include <bit>
#include <cstdint>

// A user profile header may set any HOTRESTART_* option before the defaults below.
#if defined(__has_include)
#if __has_include(<hotrestart_user_config.hpp>)
#include <hotrestart_user_config.hpp>
#endif
#endif

/// Internal invariant check. Off by default: every condition the library checks on bank
/// contents is reported as an error value, never asserted. Define HOTRESTART_ASSERT(cond) to
/// your own handler (a test overrides it to count calls).
#ifndef HOTRESTART_ASSERT
#define HOTRESTART_ASSERT(cond) ((void)0)
#endif

/// Crash-point hook: called before every 32-bit store the library makes to a bank (metadata,
/// the intent record, recovery's own stores) and at a few points of typed updates. The crash
/// enumeration tests set HOTRESTART_CRASH_HOOK to the name of a `void()` function that stops
/// the process at the k-th point (or define HOTRESTART_CRASH_POINT() directly). Empty by
/// default.
#ifndef HOTRESTART_CRASH_POINT
#ifdef HOTRESTART_CRASH_HOOK
void HOTRESTART_CRASH_HOOK();
#define HOTRESTART_CRASH_POINT() HOTRESTART_CRASH_HOOK()
#else
#define HOTRESTART_CRASH_POINT() ((void)0)
#endif
#endif

/// Store hook (tests only): when HOTRESTART_STORE_HOOK names a
/// `bool(std::uint32_t* word, std::uint32_t value)`, every 32-bit store the library makes to
/// bank metadata calls it first; returning true means "handled, do not store". The torn-write
/// enumeration uses it to leave a half-written word behind, as a warm reset of a
/// microcontroller can.
#ifdef HOTRESTART_STORE_HOOK
bool HOTRESTART_STORE_HOOK(std::uint32_t* word, std::uint32_t value);
#endif

/// Load hook (measurement only): when HOTRESTART_LOAD_HOOK names a
/// `void(const std::uint32_t* word)`, every 32-bit load the library makes from bank metadata
/// calls it first. `hr_find_lines` (bench/find_lines.cpp) uses it to count the distinct index
/// cache lines a find reads, since these machines have no hardware counters.
#ifdef HOTRESTART_LOAD_HOOK
void HOTRESTART_LOAD_HOOK(const std::uint32_t* word);
#endif

/// Flush hook (measurement only): when HOTRESTART_FLUSH_HOOK names a `void()`, a backend calls
/// it at each flush it waits for (the mmap file's msync). bench_alloc counts flush round trips
/// per durable operation with it.
#ifdef HOTRESTART_FLUSH_HOOK
void HOTRESTART_FLUSH_HOOK();
#endif

/// Negative control (tests only): HOTRESTART_TESTONLY_NO_RECOVERY makes recovery of an
/// interrupted operation a no-op (the intent record is marked idle and ignored). The crash
/// enumeration and the torture run are built once with it to show that they catch the damage.
/// Never define it in a real build. HOTRESTART_TESTONLY_UNORDERED_FLUSH likewise drops the
/// durable commit's first flush (the record before the commit point), for the power-cut tests,
/// and HOTRESTART_TESTONLY_NO_CONVERT_MARKER the state word that brackets a format conversion,
/// for the conversion's crash test.

/// Marks the few small functions every mutation calls many times (a transaction's load and
/// store): inlined even where the compiler's size heuristics would not.
#if defined(__GNUC__) || defined(__clang__)
#define HOTRESTART_HOT_INLINE [[gnu::always_inline]] inline
#else
#define HOTRESTART_HOT_INLINE inline
#endif

namespace hotrestart {

// The bank format is little-endian with fixed-width fields; every target we build for (x86-64,
// AArch64, Cortex-M) is little-endian, so we read fields in place instead of swapping bytes.
static_assert(std::endian::native == std::endian::little,
              "hotrestart's bank format is little-endian; big-endian targets are not supported");

}  // namespace hotrestart

#endif  // HOTRESTART_CONFIG_HPP
