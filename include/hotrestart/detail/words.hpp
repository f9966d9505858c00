// SPDX-License-Identifier: MIT
// Word access to bank memory: every metadata field is an aligned little-endian 32-bit word,
// read and written atomically so that lock-free readers never race in the C++ sense. Stores go
// through std::atomic_ref; loads from const memory through the __atomic builtin that GCC and
// Clang share (std::atomic_ref cannot wrap a const object before C++26).
#ifndef HOTRESTART_DETAIL_WORDS_HPP
#define HOTRESTART_DETAIL_WORDS_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

namespace hotrestart::detail {

inline constexpr std::uint32_t nil = 0xFFFFFFFFu;

inline std::uint32_t* word_ptr(std::byte* base, std::uint64_t off) {
  return reinterpret_cast<std::uint32_t*>(base + off);
}

inline const std::uint32_t* word_ptr(const std::byte* base, std::uint64_t off) {
  return reinterpret_cast<const std::uint32_t*>(base + off);
}

inline std::uint32_t load32(const std::byte* base, std::uint64_t off) {
#ifdef HOTRESTART_LOAD_HOOK
  HOTRESTART_LOAD_HOOK(word_ptr(base, off));
#endif
  return __atomic_load_n(word_ptr(base, off), __ATOMIC_RELAXED);
}

// Every store the library makes to a bank is a crash point (config.hpp): the crash
// enumeration cuts or tears each one in turn.
inline void store32(std::byte* base, std::uint64_t off, std::uint32_t v) {
  HOTRESTART_CRASH_POINT();
#ifdef HOTRESTART_STORE_HOOK
  if (HOTRESTART_STORE_HOOK(word_ptr(base, off), v)) return;
#endif
  std::atomic_ref<std::uint32_t>(*word_ptr(base, off)).store(v, std::memory_order_relaxed);
}

inline std::uint32_t load32_acquire(const std::byte* base, std::uint64_t off) {
#ifdef HOTRESTART_LOAD_HOOK
  HOTRESTART_LOAD_HOOK(word_ptr(base, off));
#endif
  return __atomic_load_n(word_ptr(base, off), __ATOMIC_ACQUIRE);
}

inline void store32_release(std::byte* base, std::uint64_t off, std::uint32_t v) {
  HOTRESTART_CRASH_POINT();
#ifdef HOTRESTART_STORE_HOOK
  if (HOTRESTART_STORE_HOOK(word_ptr(base, off), v)) return;
#endif
  std::atomic_ref<std::uint32_t>(*word_ptr(base, off)).store(v, std::memory_order_release);
}

inline std::uint64_t load64(const std::byte* base, std::uint64_t off) {
  return static_cast<std::uint64_t>(load32(base, off)) |
         (static_cast<std::uint64_t>(load32(base, off + 4)) << 32);
}

/// Orders stores to bank memory as the program wrote them, for the compiler. A process that
/// dies has every executed store in the shared mapping; only the compiler could reorder them.
inline void compiler_order() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

/// A spin-wait hint to the CPU (no OS call: the core stays freestanding).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield");
#endif
}

constexpr std::uint32_t lo32(std::uint64_t v) {
  return static_cast<std::uint32_t>(v);
}
constexpr std::uint32_t hi32(std::uint64_t v) {
  return static_cast<std::uint32_t>(v >> 32);
}

}  // namespace hotrestart::detail

#endif  // HOTRESTART_DETAIL_WORDS_HPP
