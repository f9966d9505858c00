// SPDX-License-Identifier: MIT
// The backend concept (who supplies the bank's bytes and its lock) and the in-memory backend
// over a caller-given span, for tests and for memory the caller manages itself.
#ifndef HOTRESTART_BACKEND_HPP
#define HOTRESTART_BACKEND_HPP

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "error.hpp"
#include "format.hpp"

namespace hotrestart {

/// How a lock was acquired: normally, or from an owner that died holding it (the bank then
/// repairs its metadata from the intent record and calls `repaired()`).
enum class lock_outcome : std::uint8_t { acquired, owner_died };

/// A callback that formats a fresh, zero-filled region before anybody else can open it. A
/// function pointer and a context: no heap, no std::function.
struct region_init {
  result<void> (*fn)(void* ctx, std::byte* base, std::uint64_t size) = nullptr;
  void* ctx = nullptr;
  result<void> operator()(std::byte* base, std::uint64_t size) const { return fn(ctx, base, size); }
};

/// bank_backend: where a bank's bytes live.
///
/// | member                          | meaning                                                              |
/// |---------------------------------|----------------------------------------------------------------------|
/// | `B::location`                   | what names a bank for this backend (a path, a span, a shm name)      |
/// | `B::native_page_size()`         | the default block granule                                            |
/// | `B::reformats_foreign_memory`   | true when memory without a bank in it may be formatted by open_or_create (RAM sections) |
/// | `B::create(loc, bytes, init)`   | a new zero-filled region, formatted by `init` before it becomes visible; `already_exists` if one is there; its lock initialised |
/// | `B::open(loc)`                  | an existing region; `not_found` if none                              |
/// | `b.data()`, `b.size()`          | the mapped bytes                                                     |
/// | `b.lock()`                      | the bank's writer lock (in `fmt::lock_area`); `lock_outcome::owner_died` when its last owner died holding it; `lock_failed` otherwise |
/// | `b.repaired()`                  | after owner_died: the bank is consistent again                       |
/// | `b.unlock()`                    |                                                                      |
template <class B>
concept bank_backend = std::movable<B> &&
    requires(B& b, const B& cb, typename B::location loc, std::uint64_t n, region_init init) {
  { B::native_page_size() } -> std::same_as<std::uint32_t>;
  { B::reformats_foreign_memory } -> std::convertible_to<bool>;
  { B::create(loc, n, init) } -> std::same_as<result<B>>;
  { B::open(loc) } -> std::same_as<result<B>>;
  { cb.data() } -> std::same_as<std::byte*>;
  { cb.size() } -> std::same_as<std::uint64_t>;
  { b.lock() } -> std::same_as<result<lock_outcome>>;
  { b.repaired() } -> std::same_as<void>;
  { b.unlock() } -> std::same_as<void>;
};

/// A lock that does nothing: one thread uses the bank (null_mutex, as Boost.Interprocess has).
struct null_lock {
  static void init(std::byte*) {}
  static result<lock_outcome> lock(std::byte*) { return lock_outcome::acquired; }
  static void repaired(std::byte*) {}
  static void unlock(std::byte*) {}
};

/// A bank in memory the caller owns (`std::span<std::byte>`): unit tests, a buffer the caller
/// keeps alive across an in-process restart, and the base of the bare-metal section backend.
/// `Lock` supplies mutual exclusion (`null_lock`: single-threaded).
template <class Lock = null_lock>
class basic_span_backend {
 public:
  using location = std::span<std::byte>;
  static constexpr bool reformats_foreign_memory = true;

  static constexpr std::uint32_t native_page_size() { return 4096; }

  static result<basic_span_backend> create(location where, std::uint64_t bytes, region_init init) {
    if (reinterpret_cast<std::uintptr_t>(where.data()) % 64 != 0)
      return fail(errc::bad_size, "bank memory must be 64-byte aligned", "alignment", 64,
                  reinterpret_cast<std::uintptr_t>(where.data()) % 64);
    if (where.size() < bytes)
      return fail(errc::truncated, "memory too small for the bank", "bytes", bytes, where.size());
    std::memset(where.data(), 0, static_cast<std::size_t>(bytes));
    Lock::init(where.data() + fmt::lock_area);
    if (auto r = init(where.data(), bytes); !r) return fail(r.error());
    return basic_span_backend(where);
  }

  static result<basic_span_backend> open(location where) {
    if (reinterpret_cast<std::uintptr_t>(where.data()) % 64 != 0)
      return fail(errc::bad_size, "bank memory must be 64-byte aligned", "alignment", 64,
                  reinterpret_cast<std::uintptr_t>(where.data()) % 64);
    return basic_span_backend(where);
  }

  std::byte* data() const { return mem_.data(); }
  std::uint64_t size() const { return mem_.size(); }
  result<lock_outcome> lock() { return Lock::lock(mem_.data() + fmt::lock_area); }
  void repaired() { Lock::repaired(mem_.data() + fmt::lock_area); }
  void unlock() { Lock::unlock(mem_.data() + fmt::lock_area); }

 private:
  explicit basic_span_backend(location m) : mem_(m) {}
  location mem_;
};

using span_backend = basic_span_backend<>;
static_assert(bank_backend<span_backend>);

}  // namespace hotrestart

#endif  // HOTRESTART_BACKEND_HPP
